"""Registry sync against the fake Zoom API, applied by a real writer into a real influxd."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from support.events import Post, sensor_event
from support.store import drain
from support.zoom import make_api, zoom_env

from monitor.cli import main
from monitor.core import jsonutil
from monitor.core.config import Config
from monitor.ingest.mapping import IngestState, map_event
from monitor.ingest.snapshot import SNAPSHOT_EVENT
from monitor.store.influx import InfluxClient
from monitor.store.spool import list_segments, read_records
from monitor.store.writer import Writer
from monitor.zoom.fake import FakeZoom
from monitor.zoom.fake_faults import Scripted
from monitor.zoom.inventory import inventory_path, read_inventory
from monitor.zoom.sync import Syncer, SyncLoop

S = 1_000_000_000


@pytest.fixture
def zconfig(config: Config, fake: FakeZoom) -> Config:
    """The test database and data directory, with credentials of the fake."""
    return config.with_(zoom_account_id=fake.fleet.account_id,
                        zoom_client_id=fake.options.client_id,
                        zoom_client_secret=fake.options.client_secret,
                        zoom_api_url=fake.api_url, zoom_oauth_url=fake.oauth_url,
                        reconcile_grace="2m")


def sync(zconfig: Config, fake: FakeZoom, **settings: Any) -> Any:
    syncer = Syncer(zconfig, make_api(fake, **settings))
    try:
        return syncer.sync()
    finally:
        syncer.close()


def spooled(config: Config) -> list[dict[str, Any]]:
    return [jsonutil.loads(record.payload) for segment in list_segments(config.spool_dir)
            for record in read_records(segment, 0, 10_000)]


def rows(influx: InfluxClient, query: str) -> list[dict[str, Any]]:
    return [row for series in influx.query(query) for row in series.rows()]


def test_one_sync_spools_one_complete_snapshot_read_from_every_page(
        zconfig: Config, fake: FakeZoom) -> None:
    result = sync(zconfig, fake, page_size=5)
    [event] = spooled(zconfig)
    assert event["event"] == SNAPSHOT_EVENT and event["event_ts_ns"] == result.started_ns
    snapshot = event["payload"]["object"]
    assert snapshot["complete"] is True and snapshot["reconcile_grace_s"] == 120
    assert event["payload"]["account_id"] == fake.fleet.account_id
    assert {r["id"] for r in snapshot["rooms"]} == {r.id for r in fake.fleet.rooms}
    assert {(r["id"], r["room_id"], r["location_id"], r["status"]) for r in snapshot["rooms"]} \
        == {(r.id, r.room_id, r.location_id, r.status) for r in fake.fleet.rooms}
    assert len(snapshot["locations"]) == len(fake.fleet.locations) == 18
    zones = {loc["name"]: loc["timezone"] for loc in snapshot["locations"] if loc["timezone"]}
    assert zones == {"San Jose": "America/Los_Angeles", "Berlin": "Europe/Berlin"}
    assert {(loc["type"], loc["parent_location_id"]) for loc in snapshot["locations"]} == {
        (loc.type, loc.parent_location_id) for loc in fake.fleet.locations}
    paged = [r for r in fake.api_requests() if r.query.get("next_page_token")]
    assert {r.path for r in paged} == {"/v2/rooms", "/v2/rooms/locations"}
    assert (result.rooms, result.locations, result.timezones, result.devices) == (12, 18, 2, 24)


def test_secrets_zoom_sends_are_never_spooled_nor_kept(zconfig: Config, fake: FakeZoom) -> None:
    sync(zconfig, fake)
    stored = b"".join(record.payload for segment in list_segments(zconfig.spool_dir)
                      for record in read_records(segment, 0, 100))
    stored += inventory_path(zconfig.state_dir).read_bytes()
    for secret in (b"975193018", b"1315-2376-2198-7926", b"room_passcode", b"activation_code",
                   fake.options.client_secret.encode()):
        assert secret not in stored


def test_the_writer_tags_readings_of_rooms_no_webhook_described(
        zconfig: Config, fake: FakeZoom, writer: Writer, influx: InfluxClient,
        post: Post) -> None:
    sync(zconfig, fake)
    drain(writer)
    first, second = fake.fleet.rooms[0], fake.fleet.rooms[5]
    assert post(sensor_event(first.id, room_name="")).status_code == 200
    assert post(sensor_event(second.room_id)).status_code == 200   # the other id
    drain(writer)
    found = {(row["room_id"], row["building"], row["floor"])
             for row in rows(influx, 'SELECT "value", "building", "floor", "room_id" FROM '
                                     '"sensor" WHERE "sensor_type" = \'CO2\'')}
    assert found == {(first.id, "HQ", "Floor 1"), (second.id, "Spree", "Floor 1")}
    room_name = rows(influx, f'SELECT "value", "room_name" FROM "sensor" WHERE '
                             f'"room_id" = \'{first.id}\' AND "sensor_type" = \'CO2\'')
    assert room_name[0]["room_name"] == first.name   # from the registry, not the webhook


def test_every_room_lands_as_a_zoom_room_point_with_its_place_and_time_zone(
        zconfig: Config, fake: FakeZoom, writer: Writer, influx: InfluxClient) -> None:
    sync(zconfig, fake)
    drain(writer)
    points = rows(influx, 'SELECT * FROM "zoom_room"')
    assert len(points) == 12
    berlin = [p for p in points if p["building"] == "Spree"]
    assert berlin and all(p["timezone"] == "Europe/Berlin" for p in berlin)
    assert {p["floor"] for p in points} == {"Floor 1", "Floor 2", "Floor 3"}


def test_a_sync_interrupted_mid_listing_spools_nothing(zconfig: Config, fake: FakeZoom) -> None:
    first_page = {"page_size": 5, "next_page_token": "more",
                  "rooms": [fake.fleet.rooms[0].list_item()]}
    fake.script(Scripted(200, first_page), *[Scripted(500)] * 4)
    from monitor.zoom.errors import ZoomUnavailableError

    with pytest.raises(ZoomUnavailableError):
        sync(zconfig, fake)
    assert spooled(zconfig) == []
    assert not inventory_path(zconfig.state_dir).exists()


def test_a_second_sync_changes_nothing_but_the_time(zconfig: Config, fake: FakeZoom,
                                                   writer: Writer, influx: InfluxClient) -> None:
    sync(zconfig, fake)
    drain(writer)
    before = writer.ingest.to_json()["registry"]
    opened = rows(influx, 'SELECT * FROM "room_incident"')
    sync(zconfig, fake)
    drain(writer)
    after = writer.ingest.to_json()["registry"]
    def untimed(entries: dict[str, Any]) -> dict[str, Any]:
        return {key: {f: v for f, v in entry.items() if f != "updated_ns"}
                for key, entry in entries.items()}

    for kind in ("rooms", "locations"):
        assert untimed(before[kind]) == untimed(after[kind])
    # The three rooms Zoom lists as offline got one incident each, the first time only.
    assert len(opened) == 3 and all(row["opened_by"] == "reconciliation" for row in opened)
    assert rows(influx, 'SELECT * FROM "room_incident"') == opened
    assert len(rows(influx, 'SELECT * FROM "zoom_room"')) == 24   # one per room and sync


def test_the_inventory_file_keeps_devices_for_the_page_and_zoom_rooms_cached(
        zconfig: Config, fake: FakeZoom, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    result = sync(zconfig, fake)
    synced_ns, found = read_inventory(zconfig.state_dir)
    assert synced_ns == result.started_ns and len(found) == 12
    room = next(r for r in found if r.room.id == fake.fleet.rooms[3].id)
    assert room.room.status == "Offline" and room.level("building") == "Annex"
    assert [(d.device_type, d.status, d.app_version, d.device_system) for d in room.devices] == [
        ("Zoom Rooms Computer", "Offline", "6.0.0 (5230)", "Win10 Build 19045"),
        ("Controller", "Online", "6.1.0 (5230)", "iPadOS 17.2")]
    before = len(fake.requests)
    for name in ("ZOOM_ACCOUNT_ID", "ZOOM_CLIENT_ID", "ZOOM_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ZRMON_DATA_DIR", str(zconfig.data_dir))
    assert main(["zoom", "rooms", "--cached", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {r["id"] for r in listed} == {r.id for r in fake.fleet.rooms}
    assert next(r for r in listed if r["id"] == room.room.id)["location_path"] == [
        "US", "California", "San Jose", "San Jose Campus", "Annex", "Floor 1"]
    assert len(fake.requests) == before       # not one request to Zoom


def test_zoom_rooms_cached_before_any_sync_exits_1(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ZRMON_DATA_DIR", str(tmp_path))
    assert main(["zoom", "rooms", "--cached"]) == 1
    assert "no inventory yet" in capsys.readouterr().err


def test_zrmon_zoom_sync_command(fake: FakeZoom, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in zoom_env(fake, tmp_path).items():
        monkeypatch.setenv(name, value)
    assert main(["zoom", "sync", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["rooms"] == 12
    assert "no writer has run" in err            # nobody drains this spool yet: say so
    config = Config.from_env(zoom_env(fake, tmp_path))
    assert [e["event"] for e in spooled(config)] == [SNAPSHOT_EVENT]
    monkeypatch.setenv("ZOOM_CLIENT_SECRET", "wrong-secret-456")
    assert main(["zoom", "sync"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "invalid_client" in err
    assert "wrong-secret-456" not in err
    monkeypatch.delenv("ZOOM_CLIENT_SECRET")
    assert main(["zoom", "sync"]) == 2
    assert "ZOOM_CLIENT_SECRET" in capsys.readouterr().err
    assert len(spooled(config)) == 1


def test_a_failed_sync_is_one_log_line_and_the_next_one_works(
        zconfig: Config, fake: FakeZoom, caplog: pytest.LogCaptureFixture) -> None:
    import threading

    loop = SyncLoop(zconfig.with_(zoom_rate=20.0), threading.Event())
    fake.script(*[Scripted(500)] * 5)
    caplog.set_level(logging.WARNING, logger="monitor.zoom.sync")
    failed_before = REGISTRY.get_sample_value("zrmon_zoom_syncs_total",
                                              {"outcome": "failed"}) or 0.0
    assert loop.once() is None
    [line] = [r for r in caplog.records if r.name == "monitor.zoom.sync"]
    assert "Zoom registry sync failed (next try in 1h)" in line.getMessage()
    assert "\n" not in line.getMessage() and line.exc_info is None
    assert REGISTRY.get_sample_value("zrmon_zoom_syncs_total",
                                     {"outcome": "failed"}) == failed_before + 1
    result = loop.once()
    assert result is not None and result.rooms == 12
    assert (loop.syncs, loop.failures) == (1, 1)
    assert REGISTRY.get_sample_value("zrmon_zoom_sync_seen", {"kind": "rooms"}) == 12
    assert REGISTRY.get_sample_value("zrmon_zoom_sync_last_success_timestamp_seconds") == \
        pytest.approx(result.started_ns / 1e9)
    assert (REGISTRY.get_sample_value("zrmon_zoom_api_requests_total",
                                      {"outcome": "retried"}) or 0) >= 4
    assert [e["event"] for e in spooled(zconfig)] == [SNAPSHOT_EVENT]
    loop.close()


def test_a_lost_clear_of_an_outage_no_listing_saw_is_closed() -> None:
    """Zoom listed the room Available before, during (too short to see) and after an outage
    whose clear was lost: reconciliation must still close it once the grace has passed."""
    state = IngestState()
    room = {"id": "room-1", "room_id": "zr-1", "name": "E", "location_id": "", "status":
            "Available"}

    def snapshot(at_ns: int) -> dict[str, Any]:
        return {"event": SNAPSHOT_EVENT, "event_ts_ns": at_ns, "payload": {
            "account_id": "a", "object": {"rooms": [room], "locations": [], "complete": True,
                                          "reconcile_grace_s": 2}}}

    t0 = 1_793_527_200 * S
    map_event(snapshot(t0), t0, 1, state)
    trigger = {"event": "zoomroom.alert", "event_ts_ns": t0 + 10 * S, "payload": {
        "account_id": "a", "object": {"id": "room-1", "alert_type": 3, "component": 1,
                                      "alert_kind": 1, "alert_time_ns": t0 + 10 * S}}}
    map_event(trigger, t0 + 10 * S, 2, state)
    map_event(snapshot(t0 + 60 * S), t0 + 60 * S, 3, state)
    assert list(state.incidents.open_incidents()) == []


def test_devices_are_read_in_turn_within_a_quarter_of_the_budget(zconfig: Config,
                                                                  fake: FakeZoom) -> None:
    """12 rooms, hourly syncs, 480 requests a day: 5 rooms' devices per sync, in turn."""
    small = zconfig.with_(zoom_daily_budget=480, zoom_sync_interval="1h")
    rooms = sorted(room.id for room in fake.fleet.rooms)

    def devices_asked() -> list[str]:
        return [r.path.split("/")[-2] for r in fake.api_requests()
                if r.path.endswith("/devices")]

    seen: list[list[str]] = []
    for _ in range(3):
        before = len(devices_asked())
        sync(small, fake)
        seen.append(sorted(devices_asked()[before:]))
    assert seen == [rooms[:5], rooms[5:10], sorted(rooms[10:] + rooms[:3])]
    _, inventory = read_inventory(small.state_dir)
    with_devices = {row.room.id for row in inventory if row.devices}
    assert with_devices == set(rooms)                 # the third sync wrapped round
