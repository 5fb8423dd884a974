"""The status page's InfluxQL against a real influxd: right rows, and three queries at any size."""

from __future__ import annotations

import time
from typing import Any

from support.estate import MIN_NS, incident_point, seed_estate
from support.estate import Room as SeedRoom
from support.events import Post, alert_event, sensor_event
from support.store import drain

from monitor.core.config import Config
from monitor.datamodel.points import Point, encode_lines
from monitor.status.query import READINGS_LOOKBACK_S, Snapshot, fetch
from monitor.store.influx import InfluxClient, Series
from monitor.store.writer import Writer


def latest(snapshot: Snapshot) -> dict[tuple[str, str], float]:
    return {(r.room.room_id, r.sensor_type): r.value for r in snapshot.readings}


def test_fetch_reads_latest_readings_open_incidents_and_current_rule_states(
        influx: InfluxClient) -> None:
    now = time.time_ns()
    seed_estate(influx, now)
    snapshot = fetch(influx, now)

    values = latest(snapshot)
    assert values[("rm-kilimanjaro", "CO2")] == 1150.0       # the last of six readings
    assert values[("rm-denali", "CO2")] == 580.0
    assert values[("rm-everest", "REAL_TIME_PEOPLE_COUNT")] == 5.0
    assert len(values) == 8 * 9
    denali = next(r for r in snapshot.readings if r.room.room_id == "rm-denali")
    assert denali.room.room_name == "Denali" and denali.room.building == "Headquarters"
    assert denali.at_ms == (now - 47 * MIN_NS) // 1_000_000

    open_incidents = {(i.room.room_id, i.alert_name, i.component_name, i.room.room_name)
                      for i in snapshot.incidents}
    assert open_incidents == {("rm-denali", "room_offline", "zoom_rooms_computer", "Denali"),
                              ("rm-eiger", "low_battery", "scheduling_display", "Eiger")}

    states = {(s.room.room_id, s.rule): (s.status, s.level, s.value) for s in snapshot.states}
    assert states[("rm-kilimanjaro", "air-quality/co2-high")] == ("firing", "warning", 1142.0)
    assert states[("rm-everest", "air-quality/co2-high")] == ("inactive", "warning", 820.0)
    assert states[("rm-denali", "room-health/room-offline")] == ("firing", "critical", 660.0)
    assert states[("rm-matterhorn", "air-quality/humidity-out-of-range")][0] == "pending"
    assert len(states) == 6


def test_readings_outside_the_window_and_closed_incidents_are_left_out(
        influx: InfluxClient) -> None:
    now = time.time_ns()
    room = SeedRoom("r-old", "Old", "HQ", "1", {})
    old = now - (READINGS_LOOKBACK_S + 60) * 10**9
    influx.write(encode_lines([
        Point("sensor", {**room.tags, "sensor_type": "CO2"}, {"value": 700.0}, old),
        incident_point(room, 3, 1, now - 30 * MIN_NS, now - 10 * MIN_NS),
    ]))
    snapshot = fetch(influx, now)
    assert snapshot.readings == [] and snapshot.incidents == []


class CountingClient(InfluxClient):
    """A real client that counts the queries it sends."""

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self.sent: list[str] = []

    def query(self, q: str, **kwargs: Any) -> list[Series]:
        self.sent.append(q)
        return super().query(q, **kwargs)


def seed_rooms(influx: InfluxClient, count: int, now: int) -> None:
    points = []
    for i in range(count):
        room = SeedRoom(f"room-{i}", f"Room {i}", f"B{i % 3}", f"F{i % 4}", {})
        points += [Point("sensor", {**room.tags, "sensor_type": kind}, {"value": 400.0 + i},
                         now - 60 * 10**9) for kind in ("CO2", "HUMIDITY", "TEMPERATURE")]
        if i % 5 == 0:
            points.append(incident_point(room, 3, 1, now - 5 * MIN_NS))
    influx.write(encode_lines(points))


def test_the_number_of_queries_does_not_depend_on_the_number_of_rooms(
        config: Config, influx: InfluxClient) -> None:
    now = time.time_ns()
    counting = CountingClient(config)
    seed_rooms(influx, 3, now)
    small = fetch(counting, now)
    seed_rooms(influx, 300, now)
    large = fetch(counting, now)
    assert len(small.readings) == 9 and len(large.readings) == 900
    assert len(large.incidents) == 60
    assert small.queries == large.queries == 3
    assert len(counting.sent) == 6
    # One flat table per query: a row per room, not a series per room.
    assert len(counting.query(counting.sent[-3])) == 1


def test_what_the_receiver_stores_is_what_the_page_reads(
        influx: InfluxClient, post: Post, writer: Writer) -> None:
    """Through the real webhook path: signed post, spool, writer, InfluxDB."""
    assert post(sensor_event("room-9", room_name="Everest")).status_code == 200
    assert post(alert_event(1, 1793527000, room="room-9")).status_code == 200
    drain(writer)
    at_ns = 1_793_527_500 * 10**9                       # 5 min after the reading
    snapshot = fetch(influx, at_ns)
    assert latest(snapshot)[("room-9", "CO2")] == 812.0
    assert {r.room.room_name for r in snapshot.readings} == {"Everest"}
    [incident] = snapshot.incidents
    assert (incident.room.room_id, incident.alert_name, incident.start_ms) == \
        ("room-9", "room_offline", 1793527000000)
