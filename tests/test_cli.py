"""``zrmon`` subcommands, run in-process against real files and a real influxd."""

from __future__ import annotations

import json

import pytest
from support.events import alert_event, sensor_event
from support.store import count, drain

from monitor.cli import main
from monitor.core.config import Config
from monitor.store.influx import InfluxClient
from monitor.store.quarantine import Quarantine
from monitor.store.writer import Writer


@pytest.fixture
def env(config: Config, monkeypatch: pytest.MonkeyPatch) -> Config:
    for name, value in config.to_env().items():
        monkeypatch.setenv(name, value)
    return config


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_spool_status_counts_what_is_waiting(env: Config, post, capsys) -> None:
    post(sensor_event())
    post(sensor_event(when="2026-11-01T10:05:00Z"))
    code, out, _ = run(capsys, "spool", "status", "--json")
    assert code == 0
    status = json.loads(out)
    assert status["depth"] == 2
    assert status["bytes"] > 0
    assert status["oldest_age_s"] >= 0
    code, out, _ = run(capsys, "spool", "status")
    assert out.startswith("depth 2 events")


def test_config_error_is_exit_2_with_the_variable(env: Config, monkeypatch, capsys) -> None:
    monkeypatch.setenv("ZRMON_INFLUX_URL", "influx:8086")
    code, _, err = run(capsys, "spool", "status")
    assert code == 2
    assert "ZRMON_INFLUX_URL" in err


def test_quarantine_list_and_replay(env: Config, post, capsys, influx: InfluxClient) -> None:
    bad = alert_event(1, 1_793_527_200)
    del bad["payload"]["object"]["id"]
    assert post(bad).status_code == 422
    # An event InfluxDB refuses: "value" already exists as a string in that shard.
    influx.write(b'sensor,room_id=x value="text" 1793527100000000000')
    assert post(sensor_event(room="room-7")).status_code == 200
    writer = Writer(env, influx)
    drain(writer)
    code, out, _ = run(capsys, "quarantine", "list", "--json")
    items = json.loads(out)
    assert code == 0
    assert sorted(i["reason"] for i in items) == ["influx_rejected", "invalid"]
    code, out, _ = run(capsys, "quarantine", "list")
    assert "payload.object.id" in out

    # The fix: the shard holding the stray string is dropped (a field's type is fixed
    # per shard in InfluxDB 1.x); replay then re-ingests what now passes.
    shards = [row for series in influx.query("SHOW SHARDS") if series.name == env.influx_db
              for row in series.rows()]
    for shard in shards:
        influx.query(f"DROP SHARD {shard['id']}", write=True, epoch=None)
    code, out, _ = run(capsys, "quarantine", "replay")
    result = json.loads(out)
    assert code == 1                      # the invalid alert still fails …
    assert len(result["replayed"]) == 1   # … the refused readings went back in
    assert len(result["still_invalid"]) == 1
    assert drain(writer) == 1
    writer.state.close()
    assert count(influx, 'SELECT count("value") FROM "sensor" WHERE room_id = \'room-7\'') == 9
    assert [i.reason for i in Quarantine(env.quarantine_dir).items()] == ["invalid"]


def test_replay_of_unknown_id_is_reported(env: Config, capsys) -> None:
    code, out, _ = run(capsys, "quarantine", "replay", "nope")
    assert code == 1
    assert json.loads(out)["missing"] == ["nope"]
