"""Damaged state files: the CLI names them (exit 2), a last good copy brings them back."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.core.atomicfile import StateFileError, backup_sqlite, check_sqlite, last_good_path
from monitor.core.config import Config
from monitor.notify.silences import SilenceStore
from monitor.store.statefiles import problems, state_files


@pytest.fixture
def env(config: Config, monkeypatch: pytest.MonkeyPatch) -> Config:
    for name, value in config.to_env().items():
        monkeypatch.setenv(name, value)
    return config


def _silences(config: Config) -> Path:
    store = SilenceStore(config.data_dir)
    store.add({"room_id": "r1"}, ends_ns=2**62)
    store.add({"room_id": "r2"}, ends_ns=2**62)   # each change leaves a last good copy
    return store.path


@pytest.mark.parametrize("damage", [b"", b"{\"silences\": [", b"\x00" * 64])
def test_cli_exits_2_naming_the_file_and_restore_brings_it_back(
        env: Config, capsys: pytest.CaptureFixture[str], damage: bytes) -> None:
    path = _silences(env)
    path.write_bytes(damage)
    assert main(["silence", "list"]) == 2
    err = capsys.readouterr().err
    [line] = err.strip().splitlines()
    assert str(path) in line and "zrmon state restore" in line
    assert main(["state", "check"]) == 2
    assert str(path) in capsys.readouterr().err
    assert main(["state", "restore", str(path)]) == 0
    capsys.readouterr()
    assert main(["state", "check"]) == 0
    assert main(["silence", "list"]) == 0
    assert '"r1"' in capsys.readouterr().out


def test_sqlite_state_is_checked_and_backed_up(env: Config) -> None:
    config = env
    path = config.state_dir / "writer.sqlite"
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE offsets (segment TEXT PRIMARY KEY, offset INTEGER)")
    db.execute("INSERT INTO offsets VALUES ('s', 42)")
    db.commit()
    db.close()
    backup_sqlite(path)
    assert path in state_files(config)
    assert problems(config) == []
    path.write_bytes(b"")
    with pytest.raises(StateFileError, match="is empty"):
        check_sqlite(path)
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    [problem] = problems(config)
    assert problem.path == path and "not a usable SQLite database" in str(problem)
    with pytest.raises(StateFileError, match=r"is empty|not a usable"):
        backup_sqlite(path)                        # a damaged file never replaces the copy
    assert main(["state", "restore", str(path)]) == 0
    restored = sqlite3.connect(path)
    assert restored.execute("SELECT offset FROM offsets").fetchall() == [(42,)]
    restored.close()
    assert last_good_path(path).exists()


def test_restore_without_a_copy_exits_2(env: Config, capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path) -> None:
    path = tmp_path / "none.json"
    path.write_bytes(b"")
    assert main(["state", "restore", str(path)]) == 2
    assert "no last good copy" in capsys.readouterr().err


def test_only_changed_files_are_read_again(env: Config) -> None:
    from monitor.store.statefiles import Seen

    path = _silences(env)
    seen: Seen = {}
    assert problems(env, seen) == []
    stat = path.stat()
    path.write_bytes(b"x" * stat.st_size)                  # same size, same time: not read
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert problems(env, seen) == []
    path.write_bytes(b"")                                  # changed: read, and damaged
    [problem] = problems(env, seen)
    assert problem.path == path
    assert [str(p) for p in problems(env)] == [str(problem)]   # and without a memo


def test_silences_are_checked_in_their_database_and_an_imported_json_is_not(
        env: Config) -> None:
    legacy = env.state_dir / "silences.json"
    legacy.parent.mkdir(parents=True)
    legacy.write_text('{"version": 1, "silences": []}')
    path = _silences(env)
    assert state_files(env) == [path] and problems(env) == []
    assert legacy.with_name("silences.json.migrated").exists()
