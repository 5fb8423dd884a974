"""Several receivers, one shared PostgreSQL state: pairing, dedup and the registry come out
as if one writer had seen every replica's deliveries (real PostgreSQL, real influxd)."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.events import alert_event, sensor_event
from support.replicas import Replica, location, replicas, room_in
from support.store import count

from monitor.cli import main
from monitor.core.config import Config
from monitor.store.influx import InfluxClient

TRIGGERED, CLEARED = 1, 2
T0_MS = 1_793_527_200_000


@pytest.fixture
def hosts(config: Config, influx: InfluxClient, state_url: str,
          tmp_path: Path) -> Iterator[list[Replica]]:
    made = replicas(config, state_url, tmp_path)
    yield made
    for replica in made:
        replica.close()


def incidents(influx: InfluxClient) -> list[list[object]]:
    [series] = influx.query('SELECT "start_ms", "duration_s" FROM "room_incident"') or [None]
    return [] if series is None else [row[1:] for row in series.values]


@pytest.mark.parametrize("order", ["trigger first", "clear first"])
def test_a_trigger_on_one_replica_and_its_clear_on_another_make_one_incident(
        hosts: list[Replica], influx: InfluxClient, order: str) -> None:
    a, b, _ = hosts
    assert a.post(alert_event(TRIGGERED, T0_MS)) == 200
    assert b.post(alert_event(CLEARED, T0_MS + 47 * 60_000)) == 200
    for replica in ([a, b] if order == "trigger first" else [b, a]):
        replica.drain()
    closed = [row for row in incidents(influx) if row[1] is not None]
    assert closed == [[T0_MS, 47 * 60.0]]


def test_the_same_trigger_on_two_replicas_at_once_is_one_incident(
        hosts: list[Replica], influx: InfluxClient) -> None:
    a, b, _ = hosts
    for replica in (a, b):
        for _ in range(20):
            assert replica.post(alert_event(TRIGGERED, T0_MS)) == 200
    threads = [threading.Thread(target=replica.drain) for replica in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert count(influx, 'SELECT count("start_ms") FROM "room_incident"') == 1
    assert count(influx, 'SELECT count("kind_code") FROM "room_alert"') == 1


def test_locations_seen_by_one_replica_tag_the_readings_of_the_others(
        hosts: list[Replica], influx: InfluxClient) -> None:
    a, b, c = hosts
    for event in (location("building", "b1", "HQ"), location("floor", "f3", "3", "b1", 2),
                  room_in("room-1", "f3")):
        assert a.post(event) == 200
    a.drain()
    assert b.post(sensor_event(when="2026-11-01T10:00:00Z")) == 200
    assert c.post(sensor_event(when="2026-11-01T10:05:00Z", event_ts=1793527500000)) == 200
    b.drain()
    c.drain()
    series = influx.query('SELECT count("value") FROM "sensor" WHERE "sensor_type" = \'CO2\' '
                          'GROUP BY *')
    assert [(s.tags.get("building"), s.tags.get("floor"), s.values[0][1]) for s in series] == [
        ("HQ", "3", 2)]


def test_one_delivery_posted_a_hundred_times_anywhere_counts_once(
        hosts: list[Replica], influx: InfluxClient) -> None:
    pick = random.Random(7)
    events = [alert_event(TRIGGERED, T0_MS), sensor_event()]
    for _ in range(100):
        for event in events:
            assert pick.choice(hosts).post(event) == 200
    for replica in hosts:
        replica.drain()
    assert count(influx, 'SELECT count("value") FROM "sensor"') == 9
    assert count(influx, 'SELECT count("start_ms") FROM "room_incident"') == 1
    assert count(influx, 'SELECT count("kind_code") FROM "room_alert"') == 1


def test_another_host_drains_a_dead_replicas_spool(hosts: list[Replica], influx: InfluxClient,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Replica a took the trigger and died before writing it; its disk, mounted elsewhere,
    is drained there with a's offsets, and the clear b wrote meanwhile pairs with it."""
    a, b, _ = hosts
    assert a.post(alert_event(TRIGGERED, T0_MS)) == 200
    assert b.post(alert_event(CLEARED, T0_MS + 5 * 60_000)) == 200
    b.drain()
    a.close()
    monkeypatch.setenv("ZRMON_DATA_DIR", str(a.config.data_dir))
    monkeypatch.setenv("ZRMON_STATE_URL", a.config.state_url)
    monkeypatch.setenv("ZRMON_INFLUX_URL", a.config.influx_url)
    monkeypatch.setenv("ZRMON_INFLUX_DB", a.config.influx_db)
    assert main(["spool", "drain"]) == 0
    assert main(["spool", "drain"]) == 0                   # nothing twice
    assert [row for row in incidents(influx) if row[1] is not None] == [[T0_MS, 300.0]]


def test_every_replicas_quarantine_is_listed_from_any_host(
        hosts: list[Replica], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    a, b, _ = hosts
    broken = alert_event(TRIGGERED, T0_MS)
    broken["payload"]["object"]["alert_kind"] = "sometimes"           # signed, invalid
    assert a.post(broken) == 422 and b.post(broken) == 422
    for replica in (a, b):
        replica.writer._last_index = float("-inf")
        replica.drain()
    monkeypatch.setenv("ZRMON_STATE_URL", a.config.state_url)
    monkeypatch.setenv("ZRMON_DATA_DIR", str(hosts[2].config.data_dir))    # a third host
    assert main(["quarantine", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(item["replica"] for item in listed) == ["a", "b"]
    assert {item["event"] for item in listed} == {"zoomroom.alert"}
    a.writer.quarantine.remove(listed[0]["id"] if listed[0]["replica"] == "a" else listed[1]["id"])
    a.writer._last_index = float("-inf")
    a.drain()                                             # replayed or removed: unlisted
    assert main(["quarantine", "list", "--json"]) == 0
    assert [item["replica"] for item in json.loads(capsys.readouterr().out)] == ["b"]
