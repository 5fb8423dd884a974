"""``zrmon simulate``: flags, exit codes and messages."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support.events import SECRET
from support.store import count, drain

from monitor.cli import main
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
    status = main(["simulate", "--url", receiver_url, "--rooms", "3", "--backfill", "30m",
                   "--backfill-only", "--wait-ready", "10s"])
    assert status == 0, capsys.readouterr().err
    assert "events posted" in capsys.readouterr().err
    drain(writer)
    # 6 steps of 5 minutes; Matterhorn (room 2) went offline 25 minutes ago, at the end of
    # the first step, so only the other two rooms report.
    assert count(influx, 'SELECT count("value") FROM "sensor" WHERE "sensor_type" = \'TEMPERATURE\''
                 ) == 2 * 6


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
