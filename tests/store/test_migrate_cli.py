"""``zrmon state migrate``: the schema brought up to date once, on either backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli import main
from monitor.store.migrations import latest


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrate_applies_once_then_has_nothing_to_do(backend: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str],
                                                     request: pytest.FixtureRequest) -> None:
    monkeypatch.setenv("ZRMON_DATA_DIR", str(tmp_path / "var"))
    if backend == "postgresql":
        monkeypatch.setenv("ZRMON_STATE_URL", request.getfixturevalue("state_url"))
    assert main(["state", "migrate", "--dry-run"]) == 0
    assert "writer: to apply: 1 (" in capsys.readouterr().out
    assert main(["state", "migrate"]) == 0
    assert "writer: applied: 1 (" in capsys.readouterr().out
    assert main(["state", "migrate"]) == 0
    assert (f"writer: applied: none; schema version {latest('writer')}"
            in capsys.readouterr().out)


def test_a_state_url_that_is_not_postgresql_is_a_usage_error(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ZRMON_STATE_URL", "mysql://db/state")
    assert main(["state", "migrate"]) == 2
    assert "ZRMON_STATE_URL: not a postgresql:// URL" in capsys.readouterr().err
