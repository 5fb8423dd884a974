"""A simulated backfill through the real receiver and writer into a real influxd."""

from __future__ import annotations

import threading
import time
from collections import Counter

from support.events import SECRET
from support.simulation import WEDNESDAY_NOON
from support.store import count, drain

from monitor.simulate.fleet import make_room
from monitor.simulate.runner import RunPlan, build_simulation, run
from monitor.simulate.schedule import OFFLINE_SINCE_S
from monitor.store.influx import InfluxClient
from monitor.store.writer import Writer

NS = 1_000_000_000


def _expected(plan: RunPlan) -> tuple[int, Counter[str]]:
    """Readings and events the same (deterministic) plan produces."""
    sim = build_simulation(plan, WEDNESDAY_NOON)
    events = sim.setup() + sim.advance(WEDNESDAY_NOON)
    readings = sum(len(e["payload"]["object"]["sensor_data"]) for e in events
                   if e["event"] == "zoomroom.sensor_data")
    return readings, Counter(e["event"] for e in events)


def test_a_backfill_lands_in_influxdb(receiver_url: str, writer: Writer,
                                      influx: InfluxClient) -> None:
    plan = RunPlan(url=receiver_url, secret=SECRET, rooms=4, backfill_s=4 * 3600,
                   backfill_only=True, anchor_s=WEDNESDAY_NOON)
    stats = run(plan, threading.Event())
    readings, events = _expected(plan)
    assert events["zoomroom.checked_in"] > 0 and events["zoomroom.alert"] > 0
    assert (stats.posted, stats.rejected) == (sum(events.values()), 0)
    drain(writer)

    assert count(influx, 'SELECT count("value") FROM "sensor"') == readings
    assert count(influx, "SELECT count(\"title\") FROM \"zoom_event\" "
                 "WHERE \"event\" = 'zoomroom.checked_in'") == events["zoomroom.checked_in"]
    assert count(influx, "SELECT count(\"title\") FROM \"zoom_event\" "
                 "WHERE \"event\" = 'workspace.reservation_created'") \
        == events["workspace.reservation_created"]
    buildings = influx.query('SHOW TAG VALUES FROM "sensor" WITH KEY = "building"')
    assert {row[1] for row in buildings[0].values} == {"HQ", "Annex"}

    offline = make_room(1, 1)
    open_incidents = influx.query(
        'SELECT "start_ms", "room_name", "alert_name" FROM "room_incident" WHERE "open" = true')
    assert open_incidents[0].rows() == [{
        "time": (WEDNESDAY_NOON - OFFLINE_SINCE_S) * 1000,
        "start_ms": (WEDNESDAY_NOON - OFFLINE_SINCE_S) * 1000,
        "room_name": offline.name, "alert_name": "room_offline"}]


def test_live_mode_stamps_events_with_the_present(receiver_url: str, writer: Writer,
                                                  influx: InfluxClient) -> None:
    # 300 simulated seconds per real second: one 5-minute step per second.
    plan = RunPlan(url=receiver_url, secret=SECRET, rooms=2, speed=300, duration_s=2.5,
                   faults=False)
    before = time.time_ns()
    stats = run(plan, threading.Event())
    after = time.time_ns()
    drain(writer)
    assert stats.posted > 0
    times = influx.query('SELECT "value" FROM "sensor" WHERE "sensor_type" = \'CO2\'',
                         epoch="ns")
    stamps = [row[0] for row in times[0].values]
    assert len(stamps) >= 2
    assert all(before - NS <= stamp <= after + NS for stamp in stamps)
