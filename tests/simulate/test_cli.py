"""``zrmon simulate``: flags, exit codes and messages."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.events import SECRET
from support.store import count, drain

from monitor.cli import main
from monitor.simulate.runner import RunPlan, build_simulation
from monitor.store.influx import InfluxClient
from monitor.store.writer import Writer

ZRMON = str(Path(sys.executable).parent / "zrmon")


def test_a_wrong_secret_exits_2_and_says_which_secret(receiver_url: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["simulate", "--url", receiver_url, "--secret", "not-the-secret",
                   "--rooms", "2", "--backfill", "1h", "--backfill-only"])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert "refused the signature" in err and "ZOOM_WEBHOOK_SECRET_TOKEN" in err
    assert len(err.splitlines()) == 1


def test_a_backfill_from_the_command_line(receiver_url: str, writer: Writer, influx: InfluxClient,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ZOOM_WEBHOOK_SECRET_TOKEN", SECRET)   # the secret from the environment
    anchor = int(time.time())
    status = main(["simulate", "--url", receiver_url, "--rooms", "3", "--backfill", "30m",
                   "--backfill-only", "--wait-ready", "10s"])
    assert status == 0, capsys.readouterr().err
    assert "events posted" in capsys.readouterr().err
    drain(writer)
    temperature = 'SELECT count("value") FROM "sensor" WHERE "sensor_type" = \'TEMPERATURE\''
    # Matterhorn (room 2) went offline 25 minutes ago, at the end of the first of 6 steps of
    # 5 minutes, so it reports nothing; the others report at every step they are online (a
    # room's own random outage of the day may fall in these 30 minutes).
    assert count(influx, temperature + " AND \"room_name\" = 'Matterhorn'") == 0
    landed = count(influx, temperature)
    assert landed in {online_reports(at, rooms=3, backfill_s=1800) for at in (anchor, anchor + 1)}
    assert landed > 6


def online_reports(anchor_s: int, *, rooms: int, backfill_s: int) -> int:
    """How many sensor reports the simulator's model posts in a backfill ending at ``anchor_s``."""
    sim = build_simulation(RunPlan(url="", secret="", rooms=rooms, backfill_s=backfill_s),
                           anchor_s)
    reports = 0
    while sim.steps_until(anchor_s):
        sim.step()
        reports += sum(not sim.offline(room, sim.now_s) for room in sim.fleet.rooms)
    return reports


def test_no_secret_is_a_usage_error(monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("ZOOM_WEBHOOK_SECRET_TOKEN", raising=False)
    assert main(["simulate", "--url", "http://127.0.0.1:9/webhooks/zoom"]) == 2
    assert "--secret" in capsys.readouterr().err


@pytest.mark.parametrize(("flags", "named"), [
    (["--speed", "0"], "--speed"),
    (["--speed", "1000"], "--speed"),          # 5-minute steps less than a second apart
    (["--backfill", "7x"], "--backfill"),
    (["--duration", "soon"], "--duration"),
    (["--rooms", "0"], "--rooms"),
    (["--step", "0s"], "--step"),
    (["--threads", "500"], "--threads"),
    (["--url", "ftp://example.com/x"], "--url"),
])
def test_bad_flags_exit_2_naming_the_flag(flags: list[str], named: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["simulate", "--secret", "s", *flags])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert err.startswith(f"zrmon simulate: {named}")
    assert len(err.splitlines()) == 1


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_with_a_summary(receiver_url: str) -> None:
    process = subprocess.Popen(
        [ZRMON, "simulate", "--url", receiver_url, "--secret", SECRET, "--rooms", "2",
         "--speed", "60"], stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    for line in process.stderr:                     # wait until it is live
        if "live:" in line:
            break
    process.send_signal(signal.SIGINT)
    try:
        rest = process.stderr.read()
        status = process.wait(timeout=30)
    finally:
        process.kill()
    assert status == 0, rest
    assert "events posted" in rest and "stopped" in rest
    assert "Traceback" not in rest
