"""``zrmon zoom backfill --dry-run`` against the fake Zoom API: the requests, the time at
the rate and the days of daily budget it prints, and the requests it makes (the room
listing, or none when the rooms are named).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from support.backfill import DAY, T0
from support.zoom import zoom_env

from monitor.cli import main
from monitor.zoom.fake import FakeZoom
from monitor.zoom.fake_fleet import iso


def _dry_run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
             env: dict[str, str], *args: str) -> tuple[int, dict[str, str], str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = main(["zoom", "backfill", "--from", iso(T0), "--to", iso(T0 + 2 * DAY),
                 "--dry-run", *args])
    out, err = capsys.readouterr()
    fields = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    return code, fields, err


def test_dry_run_prints_requests_and_the_time_the_budget_needs(
        sensor_fake: FakeZoom, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    env = zoom_env(sensor_fake, tmp_path, ZRMON_ZOOM_RATE="5")
    code, fields, _ = _dry_run(monkeypatch, capsys, env)
    assert code == 0
    per_day = math.ceil(2592 / 300)
    assert fields["rooms"] == "2" and fields["room-days"] == "4"
    assert fields["requests"] == str(1 + 4 * per_day)        # the listing + 9 per room-day
    assert fields["time at ZRMON_ZOOM_RATE=5/s"].endswith(f"({(1 + 4 * per_day) / 5:.0f} s)")
    assert "fits in today's remaining 29999" in fields["daily budget ZRMON_ZOOM_DAILY_BUDGET"
                                                       "=30000"]
    assert len(sensor_fake.api_requests()) == 1                     # only GET /rooms

    code, fields, _ = _dry_run(monkeypatch, capsys, {**env, "ZRMON_ZOOM_DAILY_BUDGET": "10"},
                               "--room", sensor_fake.fleet.rooms[0].id)
    assert code == 0 and fields["rooms"] == "1" and fields["requests"] == str(2 * per_day)
    assert fields["daily budget ZRMON_ZOOM_DAILY_BUDGET=10"].startswith(
        f"needs {1 + math.ceil((2 * per_day - 9) / 10)} UTC days (9 left today)")
    assert len(sensor_fake.api_requests()) == 1                     # named rooms: no request
