"""Registry sync and reconciliation end to end: a real ``zrmon serve`` (receive only) against
a real influxd, its Zoom credentials pointing at the fake Zoom API, signed webhooks over HTTP.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from support.events import alert_event, encode, sensor_event, signed_headers
from support.processes import Scheduler, Service, metric, wait_for

from monitor.core.config import Config
from monitor.store.influx import InfluxClient, InfluxError
from monitor.store.influxd import free_port
from monitor.zoom.fake import FakeZoom
from monitor.zoom.fake_fleet import demo_fleet

pytestmark = pytest.mark.slow

# demo_fleet(4): Room 1 Available (HQ / Floor 1), Room 2 InMeeting (HQ / Floor 2),
# Room 3 Available (HQ / Floor 3), Room 4 Offline (Annex / Floor 1).


@pytest.fixture
def fake() -> Iterator[FakeZoom]:
    server = FakeZoom(demo_fleet(4)).start()
    yield server
    server.stop()


def zoom_config(config: Config, fake: FakeZoom) -> Config:
    return config.with_(zoom_account_id=fake.fleet.account_id,
                        zoom_client_id=fake.options.client_id,
                        zoom_client_secret=fake.options.client_secret,
                        zoom_api_url=fake.api_url, zoom_oauth_url=fake.oauth_url,
                        zoom_rate=20.0, zoom_sync_interval="1s", reconcile_grace="2s")


@pytest.fixture
def start(config: Config, fake: FakeZoom, tmp_path: Path) -> Iterator[Any]:
    services: list[Service] = []

    def _start(**changes: Any) -> Service:
        service = Service(zoom_config(config, fake).with_(**changes), free_port(), free_port(),
                          log=tmp_path / "serve.log", args=("--no-rules",)).start()
        services.append(service)
        return service

    yield _start
    for service in services:
        service.stop()


def rows(influx: InfluxClient, query: str) -> list[dict[str, Any]]:
    try:
        return [row for series in influx.query(query) for row in series.rows()]
    except InfluxError:
        return []          # the writer has not created the database yet


def post(service: Service, event: dict[str, Any]) -> None:
    body = encode(event)
    response = requests.post(f"{service.url}/webhooks/zoom", data=body,
                             headers=signed_headers(body), timeout=5)
    assert response.status_code == 200, response.text


def status_rooms(service: Service) -> dict[str, dict[str, Any]]:
    data = requests.get(f"http://127.0.0.1:{service.admin_port}/status.json", timeout=10).json()
    return {room["room_id"]: room for building in data["buildings"]
            for floor in building["floors"] for room in floor["rooms"]}


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def test_the_registry_comes_from_the_api_alone_and_tags_rooms_no_webhook_described(
        start: Any, fake: FakeZoom, influx: InfluxClient) -> None:
    service = start()
    rooms = fake.fleet.rooms
    wait_for(lambda: len({r["room_id"] for r in rows(influx, 'SELECT * FROM "zoom_room"')})
             == 4, 30, "the first sync's zoom_room points")
    places = {r["room_id"]: (r["building"], r["floor"], r["timezone"])
              for r in rows(influx, 'SELECT * FROM "zoom_room"')}
    assert places[rooms[0].id] == ("HQ", "Floor 1", "America/Los_Angeles")
    assert places[rooms[3].id] == ("Annex", "Floor 1", "America/Los_Angeles")
    post(service, sensor_event(rooms[0].id, when=now_iso()))
    post(service, sensor_event(rooms[1].room_id, when=now_iso()))   # the other id
    query = 'SELECT "value", "room_id", "building", "floor" FROM "sensor" WHERE ' \
            '"sensor_type" = \'CO2\''
    wait_for(lambda: len(rows(influx, query)) == 2, 30, "both readings")
    assert {(r["room_id"], r["building"], r["floor"]) for r in rows(influx, query)} == {
        (rooms[0].id, "HQ", "Floor 1"), (rooms[1].id, "HQ", "Floor 2")}
    metrics = requests.get(f"http://127.0.0.1:{service.admin_port}/metrics", timeout=5).text
    assert (metric(metrics, 'zrmon_zoom_syncs_total{outcome="ok"}') or 0) >= 1
    assert metric(metrics, 'zrmon_zoom_sync_seen{kind="rooms"}') == 4
    assert metric(metrics, 'zrmon_zoom_sync_seen{kind="locations"}') == 18
    assert (metric(metrics, "zrmon_zoom_sync_last_success_timestamp_seconds") or 0) \
        > time.time() - 60
    # Syncs a second apart read the devices of a room or so each (a quarter of the daily
    # budget spread over the day's syncs), in turn: listings, cities and devices add up.
    wait_for(lambda: (metric(requests.get(f"http://127.0.0.1:{service.admin_port}/metrics",
                                          timeout=5).text,
                             'zrmon_zoom_api_requests_total{outcome="answered"}') or 0)
             >= 4 + 3, 30, "the syncs' requests counted")
    # Devices of the inventory on the status page, beside the room's readings.
    wait_for(lambda: status_rooms(service)[rooms[0].id]["devices"], 30, "the room's devices")
    shown = status_rooms(service)[rooms[0].id]
    assert shown["building"] == "HQ"
    assert [d["type"] for d in shown["devices"]] == ["Zoom Rooms Computer", "Controller"]


def test_a_missed_outage_opens_an_incident_found_by_reconciliation(
        start: Any, fake: FakeZoom, influx: InfluxClient) -> None:
    service = start()
    offline = fake.fleet.rooms[3]
    query = f'SELECT * FROM "room_incident" WHERE "room_id" = \'{offline.id}\''
    wait_for(lambda: rows(influx, query), 30, "the reconciliation's incident")
    [incident] = rows(influx, query)
    assert incident["open"] is True and incident["opened_by"] == "reconciliation"
    assert (incident["building"], incident["alert_name"]) == ("Annex", "room_offline")
    alerts = rows(influx, f'SELECT * FROM "room_alert" WHERE "room_id" = \'{offline.id}\'')
    assert [a["source"] for a in alerts] == ["reconciliation"]
    wait_for(lambda: offline.id in status_rooms(service), 10, "the room on the status page")
    assert status_rooms(service)[offline.id]["offline"] is True
    # Later syncs find it open and open nothing more.
    before = fake.api_requests()[-1].at
    wait_for(lambda: sum(r.path == "/v2/rooms" and r.at > before
                         for r in fake.api_requests()) >= 2, 20, "two more syncs")
    assert len(rows(influx, query)) == 1


def test_a_lost_clear_is_closed_by_reconciliation_after_the_grace(
        start: Any, fake: FakeZoom, influx: InfluxClient) -> None:
    # Zoom's API refuses the credentials for now: the webhook's trigger comes first.
    right_secret = fake.options.client_secret
    with fake.lock:
        fake.options.client_secret = "not-yet"
    service = start(zoom_client_secret=right_secret)
    room = fake.fleet.rooms[0]                       # Zoom lists it Available throughout
    post(service, alert_event(1, int(time.time() * 1000), room=room.id))
    query = f'SELECT * FROM "room_incident" WHERE "room_id" = \'{room.id}\''
    wait_for(lambda: [r for r in rows(influx, query) if r["open"]], 30, "the open incident")
    wait_for(lambda: room.id in status_rooms(service)
             and status_rooms(service)[room.id]["offline"], 10, "the room shown offline")
    wait_for(lambda: "Zoom registry sync failed" in service.log_text(), 20, "a failed sync")
    with fake.lock:
        fake.options.client_secret = right_secret     # the writer never stopped: it syncs now
    synced = time.monotonic()
    wait_for(lambda: [r for r in rows(influx, query) if not r["open"]], 30,
             "the reconciliation's clear")
    assert time.monotonic() - synced >= 2.0          # not before the grace
    [incident] = rows(influx, query)
    assert incident["closed_by"] == "reconciliation" and incident.get("opened_by") is None
    assert not status_rooms(service).get(room.id, {}).get("offline")
    failures = [line for line in service.log_text().splitlines()
                if "Zoom registry sync failed" in line]
    assert failures and all("invalid_client" in line for line in failures)
    assert "Traceback" not in service.log_text()


def test_a_scheduler_on_its_own_data_dir_leaves_the_sync_to_the_receiver(
        config: Config, fake: FakeZoom, tmp_path: Path) -> None:
    scheduler = Scheduler(zoom_config(config, fake).with_(data_dir=tmp_path / "scheduler"),
                          tmp_path / "scheduler.log").start()
    try:
        wait_for(lambda: "Zoom registry sync left to `zrmon serve`" in scheduler.log_text(),
                 30, "the scheduler's word on the sync")
        wait_for(lambda: "evaluating" in scheduler.log_text(), 30, "the scheduler running")
    finally:
        scheduler.stop()
    assert fake.requests == []        # its spool would never be drained: it asked nothing


def test_a_scheduler_beside_the_writer_never_syncs_twice(
        start: Any, config: Config, fake: FakeZoom, tmp_path: Path) -> None:
    service = start()
    wait_for(lambda: "Zoom registry sync:" in service.log_text(), 30, "the writer's sync")
    scheduler = Scheduler(service.config.with_(evaluate=True), tmp_path / "scheduler.log").start()
    try:
        wait_for(lambda: "left to the other process" in scheduler.log_text(), 30,
                 "the scheduler deferring to the writer")
    finally:
        scheduler.stop()
    assert "Zoom registry sync:" not in scheduler.log_text()
