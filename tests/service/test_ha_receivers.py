"""Three ``zrmon serve`` replicas, separate data directories, one shared PostgreSQL state:
what reaches any replica lands once, paired and tagged as if one had seen it all."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.events import alert_event, sensor_event
from support.postgres import LocalPostgres
from support.processes import (
    CO2_RULES,
    Scheduler,
    Service,
    co2,
    delivered_kinds,
    metric,
    wait_for,
)
from support.replicas import location, room_in
from support.rulesdir import FAST_GROUPING, webhook_channel, write_rules_dir
from support.sinks import HttpSink
from support.store import count

from monitor.core.config import Config
from monitor.store.influx import InfluxClient
from monitor.store.influxd import free_port

pytestmark = pytest.mark.slow
TRIGGERED, CLEARED = 1, 2
T0_MS = 1_793_527_200_000


def start_replicas(config: Config, state_url: str, root: Path, names: str = "abc",
                   ) -> list[Service]:
    replicas = []
    for name in names:
        local = config.with_(data_dir=root / name, state_url=state_url, replica=name,
                             hash_salt="")
        replicas.append(Service(local, free_port(), free_port(), log=root / f"{name}.log",
                                args=("--no-rules",)).start())
    return replicas


@pytest.fixture
def cluster(config: Config, influx: InfluxClient, state_url: str,
            tmp_path: Path) -> Iterator[list[Service]]:
    replicas = start_replicas(config, state_url, tmp_path)
    yield replicas
    for replica in replicas:
        replica.stop()


def landed(influx: InfluxClient, query: str, expected: int, what: str) -> None:
    wait_for(lambda: count(influx, query) >= expected, 30, what)
    time.sleep(0.5)                       # a second copy would land right after the first
    assert count(influx, query) == expected


def test_a_trigger_and_its_clear_on_different_replicas_close_one_incident(
        cluster: list[Service], influx: InfluxClient) -> None:
    a, b, c = cluster
    assert a.post(alert_event(TRIGGERED, T0_MS)) == 200
    assert b.post(alert_event(CLEARED, T0_MS + 47 * 60_000)) == 200
    assert c.post(alert_event(CLEARED, T0_MS + 3_600_000, room="room-2")) == 200   # clear first
    assert a.post(alert_event(TRIGGERED, T0_MS + 600_000, room="room-2")) == 200
    landed(influx, 'SELECT count("duration_s") FROM "room_incident"', 2, "both incidents closed")
    durations = sorted(row[1] for s in influx.query(
        'SELECT "duration_s" FROM "room_incident" WHERE "duration_s" > 0 GROUP BY "room_id"')
        for row in s.values)
    assert durations == [47 * 60.0, 50 * 60.0]


def test_the_same_trigger_to_two_replicas_at_once_is_one_incident(
        cluster: list[Service], influx: InfluxClient) -> None:
    a, b, _ = cluster
    for _ in range(10):
        assert a.post(alert_event(TRIGGERED, T0_MS)) == 200
        assert b.post(alert_event(TRIGGERED, T0_MS)) == 200
    landed(influx, 'SELECT count("kind_code") FROM "room_alert"', 1, "the alert")
    assert count(influx, 'SELECT count("start_ms") FROM "room_incident"') == 1


def test_readings_on_other_replicas_carry_the_locations_one_replica_saw(
        cluster: list[Service], influx: InfluxClient) -> None:
    a, b, c = cluster
    for event in (location("building", "b1", "HQ"), location("floor", "f3", "3", "b1", 2),
                  room_in("room-1", "f3")):
        assert a.post(event) == 200
    landed(influx, 'SELECT count("title") FROM "zoom_event"', 3, "the location events")
    assert b.post(sensor_event(when="2026-11-01T10:00:00Z")) == 200
    assert c.post(sensor_event(when="2026-11-01T10:05:00Z", event_ts=1793527500000)) == 200
    landed(influx, 'SELECT count("value") FROM "sensor"', 18, "both readings")
    series = influx.query('SELECT count("value") FROM "sensor" GROUP BY *')
    assert len(series) == 9                                     # one per (room, sensor)
    assert {(s.tags.get("building"), s.tags.get("floor")) for s in series} == {("HQ", "3")}


def test_one_delivery_posted_a_hundred_times_to_random_replicas_counts_once(
        cluster: list[Service], influx: InfluxClient) -> None:
    pick = random.Random(12)
    for _ in range(100):
        assert pick.choice(cluster).post(sensor_event()) == 200
        assert pick.choice(cluster).post(alert_event(TRIGGERED, T0_MS)) == 200
    landed(influx, 'SELECT count("value") FROM "sensor"', 9, "the readings")
    assert count(influx, 'SELECT count("kind_code") FROM "room_alert"') == 1
    assert count(influx, 'SELECT count("start_ms") FROM "room_incident"') == 1


def test_postgresql_down_for_a_minute_delays_writing_and_loses_nothing(
        config: Config, influx: InfluxClient, http_sink: HttpSink, tmp_path: Path) -> None:
    """Receivers answer 200 from their spools throughout; the backlog lands once it is back,
    and the evaluator (which lost its lead with the database) alerts again."""
    own = LocalPostgres().start()
    replicas: list[Service] = []
    rules = write_rules_dir(tmp_path / "rules", rules={"air.yaml": CO2_RULES},
                            channels=webhook_channel(http_sink.url()), notify=FAST_GROUPING)
    scheduler = Scheduler(config.with_(data_dir=tmp_path / "s", state_url=own.url, replica="s",
                                       rules_dir=rules), tmp_path / "s.log").start()
    try:
        replicas = start_replicas(config, own.url, tmp_path, names="ab")
        wait_for(lambda: metric(scheduler.metrics(), "zrmon_evaluator_leader") == 1.0, 30,
                 "the scheduler to lead")
        sent = 0
        own.stop()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for replica in replicas:
                at = f"2026-11-01T{10 + sent // 60:02d}:{sent % 60:02d}:00Z"
                assert replica.post(sensor_event(f"room-{sent % 7}", when=at,
                                                 event_ts=1793527200000 + sent)) == 200
                sent += 1
            time.sleep(0.5)
        assert count(influx, 'SELECT count("value") FROM "sensor"') == 0   # held back
        own.resume()
        landed(influx, 'SELECT count("value") FROM "sensor"', sent * 9, "the backlog")
        co2(influx, 1400.0)
        wait_for(lambda: "firing" in delivered_kinds(http_sink), 45, "alerting to resume")
    finally:
        for replica in replicas:
            replica.stop()
        scheduler.kill()
        own.close()
