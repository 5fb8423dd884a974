"""The one state-file writer: whole files only, a last good copy, loud on damage."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from monitor.core.atomicfile import (
    StateFileError,
    create_exclusive,
    last_good_path,
    restore_last_good,
    write_bytes_atomic,
)
from monitor.core.jsonutil import read_json_state, write_atomic


def test_replaces_whole_file_and_keeps_the_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "state" / "rules.json"
    write_atomic(path, {"n": 1})
    write_atomic(path, {"n": 2})
    assert json.loads(path.read_bytes()) == {"n": 2}
    assert json.loads(last_good_path(path).read_bytes()) == {"n": 1}
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_missing_file_is_the_default(tmp_path: Path) -> None:
    assert read_json_state(tmp_path / "none.json", dict) == {}


@pytest.mark.parametrize("content", [b"", b"  \n", b'{"n": 1', b"\x00\x00"])
def test_empty_or_corrupt_file_is_an_error_naming_it(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "rules.json"
    write_atomic(path, {"n": 1})
    write_atomic(path, {"n": 2})
    path.write_bytes(content)
    with pytest.raises(StateFileError) as caught:
        read_json_state(path, dict)
    assert str(path) in str(caught.value)
    assert "zrmon state restore" in str(caught.value)
    restore_last_good(path)
    assert read_json_state(path, dict) == {"n": 1}
    assert path.with_name("rules.json.damaged").read_bytes() == content


def test_restore_without_a_copy_says_so(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(b"")
    with pytest.raises(StateFileError, match="no last good copy"):
        restore_last_good(path)


def _hammer(path: str, marker: int) -> None:
    for i in range(200):
        write_bytes_atomic(Path(path), json.dumps({"w": marker, "i": i, "pad": "x" * 4096})
                           .encode(), keep_last_good=True)


def test_concurrent_writers_never_leave_a_torn_file(tmp_path: Path) -> None:
    """Two processes with the same PID namespace position (containers) must not collide."""
    path = tmp_path / "shared.json"
    workers = [multiprocessing.Process(target=_hammer, args=(str(path), n)) for n in (1, 2)]
    for worker in workers:
        worker.start()
    seen = 0
    while any(worker.is_alive() for worker in workers):
        if path.exists():
            json.loads(path.read_bytes())  # always whole
            seen += 1
    for worker in workers:
        worker.join()
        assert worker.exitcode == 0
    assert json.loads(path.read_bytes())["i"] == 199
    assert seen > 0


def test_create_exclusive_first_writer_wins(tmp_path: Path) -> None:
    path = tmp_path / "salt"
    assert create_exclusive(path, b"first")
    assert not create_exclusive(path, b"second")
    assert path.read_bytes() == b"first"
