"""The writer against a real influxd: what lands, and how it rides out InfluxDB failures."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.events import alert_event, sensor_event
from support.store import count, drain, readings

from monitor.core.config import Config
from monitor.store.influx import InfluxClient, InfluxError
from monitor.store.influxd import LocalInfluxd
from monitor.store.spool import spool_status
from monitor.store.state import read_offsets
from monitor.store.writer import Writer


def test_posted_readings_land_in_influxdb(post, writer: Writer, influx: InfluxClient) -> None:
    for minute in range(3):
        assert post(sensor_event(when=f"2026-11-01T10:0{minute}:00Z")).status_code == 200
    assert drain(writer) == 3
    assert readings(influx) == 27
    [series] = influx.query(
        "SELECT last(\"value\") FROM \"sensor\" WHERE sensor_type = 'CO2' GROUP BY room_id")
    assert series.tags == {"room_id": "room-1"}
    assert series.values[0][1] == 812.0
    assert spool_status(writer.config.spool_dir, read_offsets(writer.config)).depth == 0


def test_incident_pairs_out_of_order_and_reports_duration(post, writer: Writer,
                                                          influx: InfluxClient) -> None:
    start, end = 1_793_527_200, 1_793_527_200 + 47 * 60
    post(alert_event(2, end))          # the clear arrives first
    drain(writer)
    assert count(influx, 'SELECT count("start_ms") FROM "room_incident"') == 0
    post(alert_event(1, start * 1000))  # trigger, in milliseconds
    drain(writer)
    [series] = influx.query('SELECT "duration_s", "open", "end_ms" FROM "room_incident"')
    assert series.values == [[start * 1000, 47 * 60.0, False, end * 1000]]


def test_open_incidents_are_queryable_and_an_earlier_trigger_moves_the_start(
        post, writer: Writer, influx: InfluxClient) -> None:
    post(alert_event(1, 1_793_527_800))
    drain(writer)
    post(alert_event(1, 1_793_527_200))  # late delivery of the real start
    drain(writer)
    [series] = influx.query('SELECT "start_ms" FROM "room_incident" WHERE "open" = true')
    assert series.values == [[1_793_527_200_000, 1_793_527_200_000]]


@pytest.mark.slow
def test_influxdb_outage_keeps_everything_until_it_returns(tmp_path: Path, post,
                                                           config: Config) -> None:
    server = LocalInfluxd(tmp_path / "outage").start()
    try:
        local = config.with_(influx_url=server.url)
        client = InfluxClient(local)
        client.create_database()
        writer = Writer(local, client)
        server.kill()
        for minute in range(4):
            post(sensor_event(when=f"2026-11-01T10:0{minute}:00Z"))
        with pytest.raises(InfluxError):
            writer.drain_once()
        assert spool_status(local.spool_dir, read_offsets(local)).depth == 4
        server.start()
        assert drain(writer) == 4
        assert readings(client) == 36
        writer.state.close()
    finally:
        server.stop()


def test_missing_database_is_created(post, config: Config, influx: InfluxClient) -> None:
    influx.query(f'DROP DATABASE "{config.influx_db}"', write=True, epoch=None)
    writer = Writer(config, influx)
    post(sensor_event())
    with pytest.raises(InfluxError):
        writer.drain_once()
    assert drain(writer) == 1
    assert readings(influx) == 9
    writer.state.close()


@pytest.mark.slow
def test_a_failed_write_is_retried_against_the_same_state(tmp_path: Path, post,
                                                          config: Config) -> None:
    """InfluxDB gone mid-run (no restart): the retried clear still closes the incident."""
    server = LocalInfluxd(tmp_path / "outage").start()
    try:
        local = config.with_(influx_url=server.url)
        client = InfluxClient(local)
        client.create_database()
        writer = Writer(local, client)
        post(alert_event(1, 1_793_527_200))
        drain(writer)
        server.kill()
        post(alert_event(2, 1_793_527_200 + 600))
        for _ in range(3):
            with pytest.raises(InfluxError):
                writer.drain_once()
        server.start()
        drain(writer)
        [series] = client.query('SELECT "open", "duration_s" FROM "room_incident"')
        assert [row[1:] for row in series.values] == [[False, 600.0]]
        writer.state.close()
    finally:
        server.stop()
