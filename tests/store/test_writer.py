"""The writer against a real influxd: what lands, what is merged, what survives failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.events import alert_event, sensor_event
from support.store import count, drain

from monitor.core.config import Config
from monitor.store.influx import InfluxClient, InfluxError
from monitor.store.influxd import LocalInfluxd
from monitor.store.quarantine import Quarantine
from monitor.store.spool import spool_status
from monitor.store.state import read_offsets
from monitor.store.writer import Writer


def readings(influx: InfluxClient) -> int:
    return count(influx, 'SELECT count("value") FROM "sensor"')


def test_posted_readings_land_in_influxdb(post, writer: Writer, influx: InfluxClient) -> None:
    for minute in range(3):
        assert post(sensor_event(when=f"2026-11-01T10:0{minute}:00Z")).status_code == 200
    assert drain(writer) == 3
    assert readings(influx) == 27
    [series] = influx.query(
        "SELECT last(\"value\") FROM \"sensor\" WHERE sensor_type = 'CO2' GROUP BY room_id")
    assert series.tags == {"room_id": "room-1"}
    assert series.values[0][1] == 812.0
    assert spool_status(writer.config.spool_dir, read_offsets(writer.config.state_dir)).depth == 0


def test_duplicate_delivery_changes_nothing(post, writer: Writer, influx: InfluxClient) -> None:
    post(sensor_event())
    post(alert_event(1, 1_793_527_200))
    drain(writer)
    before = (readings(influx), count(influx, 'SELECT count("issue") FROM "room_alert"'),
              count(influx, 'SELECT count("start_ms") FROM "room_incident"'))
    post(sensor_event(), retry=1)
    post(alert_event(1, 1_793_527_200))
    post(alert_event(1, 1_793_527_200, name="zoomroom.delayed_alert"))
    drain(writer)
    after = (readings(influx), count(influx, 'SELECT count("issue") FROM "room_alert"'),
             count(influx, 'SELECT count("start_ms") FROM "room_incident"'))
    assert before == after == (9, 1, 1)


def test_two_distinct_events_in_one_millisecond_both_land(post, writer: Writer,
                                                          influx: InfluxClient) -> None:
    for event_id in ("e1", "e2"):
        post({"event": "zoomroom.checked_in", "event_ts": 1793527200000,
              "payload": {"account_id": "a", "object": {"id": "room-1", "room_name": "Everest",
                                                        "event_id": event_id}}})
    drain(writer)
    assert count(influx, 'SELECT count("title") FROM "zoom_event"') == 2


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


def test_state_survives_a_writer_restart(post, config: Config, influx: InfluxClient) -> None:
    first = Writer(config, influx)
    post({"event": "zoomroom.location_created", "event_ts": 1, "payload": {
        "account_id": "a", "operator": "o", "operator_id": "o",
        "object": {"id": "b1", "name": "HQ", "type": "building", "parent_location_id": ""}}})
    post({"event": "zoomroom.updated", "event_ts": 2, "payload": {
        "account_id": "a", "object": {"id": "room-1", "room_name": "Everest",
                                      "location_id": "b1"}}})
    post(alert_event(1, 1_793_527_200))
    drain(first)
    first.state.close()
    second = Writer(config, influx)
    post(sensor_event())
    post(alert_event(2, 1_793_527_260))
    drain(second)
    second.state.close()
    [series] = influx.query('SELECT count("value") FROM "sensor" GROUP BY "building"')
    assert series.tags == {"building": "HQ"}
    [incident] = influx.query('SELECT "duration_s" FROM "room_incident"')
    assert incident.values[0][1] == 60.0


def test_crash_before_commit_replays_without_duplicates(post, config: Config,
                                                         influx: InfluxClient) -> None:
    post(sensor_event())
    post(alert_event(1, 1_793_527_200))
    crashing = Writer(config, influx)

    def crash(**_: object) -> None:
        raise SystemExit("killed between the InfluxDB write and the commit")

    crashing.state.commit = crash  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        crashing.drain_once()
    crashing.state.close()
    assert readings(influx) == 9  # written, not committed
    again = Writer(config, influx)
    assert drain(again) == 2
    again.state.close()
    assert readings(influx) == 9
    assert count(influx, 'SELECT count("start_ms") FROM "room_incident"') == 1


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
        assert spool_status(local.spool_dir, read_offsets(local.state_dir)).depth == 4
        server.start()
        assert drain(writer) == 4
        assert readings(client) == 36
        writer.state.close()
    finally:
        server.stop()


def test_points_influxdb_refuses_go_to_quarantine(post, writer: Writer,
                                                  influx: InfluxClient) -> None:
    # A field type conflict: someone wrote "value" as a string first.
    influx.write(b'sensor,room_id=room-x value="broken" 1793527100000000000')
    post(sensor_event(room="room-2"))
    post(alert_event(1, 1_793_527_200))
    drain(writer)
    assert count(influx, 'SELECT count("issue") FROM "room_alert"') == 1
    [item] = Quarantine(writer.config.quarantine_dir).items()
    assert item.reason == "influx_rejected"
    assert "field type conflict" in item.errors["_writer"][0]
    assert json.loads(item.body)["payload"]["object"]["id"] == "room-2"


def test_missing_database_is_created(post, config: Config, influx: InfluxClient) -> None:
    influx.query(f'DROP DATABASE "{config.influx_db}"', write=True, epoch=None)
    writer = Writer(config, influx)
    post(sensor_event())
    with pytest.raises(InfluxError):
        writer.drain_once()
    assert drain(writer) == 1
    assert readings(influx) == 9
    writer.state.close()


def _spool_three(post) -> None:
    for minute in range(3):
        assert post(sensor_event(when=f"2026-11-01T10:0{minute}:00Z")).status_code == 200


def _sealed_segment(config: Config) -> Path:
    from monitor.store.spool import list_segments

    [segment] = list_segments(config.spool_dir)
    sealed = segment.path.with_suffix(".sealed")
    segment.path.rename(sealed)  # as the worker does when it exits
    return sealed


def test_a_corrupt_record_is_set_aside_and_the_rest_still_lands(post, writer: Writer,
                                                                 influx: InfluxClient) -> None:
    _spool_three(post)
    path = _sealed_segment(writer.config)
    data = bytearray(path.read_bytes())
    second = len(data) // 3 + len(data) // 6  # inside the second record's payload
    data[second] ^= 0xFF
    path.write_bytes(bytes(data))
    drain(writer)
    assert readings(influx) == 18  # the first and the third event: only the damage is lost
    [item] = Quarantine(writer.config.quarantine_dir).items()
    assert item.reason == "corrupt_spool"
    assert spool_status(writer.config.spool_dir, read_offsets(writer.config.state_dir)).depth == 0
    assert not path.exists()


def test_a_torn_tail_from_a_power_loss_is_set_aside(post, writer: Writer,
                                                    influx: InfluxClient) -> None:
    from monitor.store.spool import HEADER

    _spool_three(post)
    path = _sealed_segment(writer.config)
    with path.open("ab") as handle:
        handle.write(HEADER.pack(500, 0, 1) + b'{"event": "zoomroom.sen')
    drain(writer)
    assert readings(influx) == 27
    [item] = Quarantine(writer.config.quarantine_dir).items()
    assert item.reason == "corrupt_spool"
    assert not path.exists()


def test_a_refused_event_leaves_the_state_as_it_was(post, writer: Writer,
                                                    influx: InfluxClient) -> None:
    """A 400 for some points: the refused event's registry change is not applied."""
    def located(room: str, location: str, ts: int, name: str = "zoomroom.created") -> dict:
        return {"event": name, "event_ts": ts,
                "payload": {"account_id": "a", "object": {"id": room, "room_name": "Everest",
                                                          "location_id": location}}}

    for ts, (location, name, parent) in enumerate(
            (("b1", "HQ", ""), ("f1", "1st", "b1"), ("f2", "2nd", "b1")), start=1):
        post({"event": "zoomroom.location_created", "event_ts": ts,
              "payload": {"account_id": "a", "operator": "o", "operator_id": "o",
                          "object": {"id": location, "name": name,
                                     "type": "floor" if parent else "building",
                                     "parent_location_id": parent}}})
    post(located("room-1", "f1", 10))
    drain(writer)
    # In one batch: a change that is stored, one InfluxDB refuses (a time past 2262 gets
    # a 400), and a reading after both.
    post(located("room-2", "f2", 20))
    response = post(located("room-1", "f2", 9_300_000_000_000, name="zoomroom.updated"))
    assert response.status_code == 200
    post(sensor_event(when="2026-11-01T10:05:00Z"))
    drain(writer)
    assert writer.ingest.registry.room_tags("room-2")["floor"] == "2nd"   # kept
    [item] = Quarantine(writer.config.quarantine_dir).items()
    assert item.event == "zoomroom.updated" and item.reason == "influx_rejected"
    [series] = influx.query("SELECT \"value\", \"floor\" FROM \"sensor\" "
                            "WHERE sensor_type = 'CO2'")
    assert series.values[0][2] == "1st"
    assert writer.ingest.registry.room_tags("room-1")["floor"] == "1st"


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


def test_a_torn_record_inside_a_live_segment_is_skipped(post, writer: Writer,
                                                        influx: InfluxClient) -> None:
    """A short write left half a record with whole ones after it: no stall."""
    from monitor.store.spool import list_segments

    post(sensor_event(room="room-torn"))
    [spooled] = list_segments(writer.config.spool_dir)
    whole = spooled.path.read_bytes()               # one record as the receiver framed it
    live = writer.config.spool_dir / f"{1:020d}-1.seg"   # pid 1 is alive: a live segment
    live.write_bytes(whole[: len(whole) // 2] + whole)
    post(sensor_event(when="2026-11-01T10:05:00Z"))  # another segment keeps flowing
    drain(writer)
    assert count(influx, "SELECT count(\"value\") FROM \"sensor\" "
                         "WHERE room_id = 'room-torn'") == 9
    assert readings(influx) == 18
    [item] = Quarantine(writer.config.quarantine_dir).items()
    assert item.reason == "corrupt_spool"
    # Read to its end past the damage, although pid 1 may still append to it.
    assert read_offsets(writer.config.state_dir)[live.stem] == live.stat().st_size
