"""A REST snapshot applied to the registry, and reconciliation of room status. Pure."""

from __future__ import annotations

from typing import Any

from support.events import alert_event, sensor_event
from support.mapping import RECEIVED, run

from monitor.datamodel.points import Point
from monitor.ingest.mapping import IngestState, map_event
from monitor.ingest.snapshot import SNAPSHOT_EVENT

S = 1_000_000_000
T = 1_793_527_200 * S   # 2026-11-01T10:00:00Z

LOCATIONS = [
    {"id": "us", "name": "US", "type": "country", "parent_location_id": "acct"},
    {"id": "ca", "name": "California", "type": "states", "parent_location_id": "us"},
    {"id": "sf", "name": "San Francisco", "type": "city", "parent_location_id": "ca",
     "timezone": "America/Los_Angeles"},
    {"id": "hq", "name": "HQ", "type": "building", "parent_location_id": "sf"},
    {"id": "f3", "name": "3rd floor", "type": "floor", "parent_location_id": "hq"},
]


def snapshot(at_ns: int, rooms: list[dict[str, Any]], *, complete: bool = True,
             grace_s: float = 600, locations: list[dict[str, Any]] | None = None
             ) -> dict[str, Any]:
    return {"event": SNAPSHOT_EVENT, "event_ts": at_ns // 1_000_000, "event_ts_ns": at_ns,
            "payload": {"account_id": "acct-1", "object": {
                "rooms": rooms, "locations": LOCATIONS if locations is None else locations,
                "complete": complete, "reconcile_grace_s": grace_s}}}


def room(status: str = "Available", **extra: Any) -> dict[str, Any]:
    return {"id": "room-1", "room_id": "zr-1", "name": "Everest", "location_id": "f3",
            "status": status, **extra}


def apply(event: dict[str, Any], state: IngestState) -> list[Point]:
    """The points besides the registry's own (``zoom_room``, one per room and sync)."""
    return [p for p in map_event(event, RECEIVED, 7, state).points
            if p.measurement != "zoom_room"]


def test_the_registry_lands_as_one_point_per_room_and_sync() -> None:
    state = IngestState()
    points = map_event(snapshot(T, [room("Offline")]), RECEIVED, 7, state).points
    [point] = [p for p in points if p.measurement == "zoom_room"]
    assert point.tags == {"account_id": "acct-1", "room_id": "room-1", "building": "HQ",
                          "floor": "3rd floor"}
    assert point.fields["timezone"] == "America/Los_Angeles"
    assert (point.fields["status"], point.fields["zoom_room_id"]) == ("Offline", "zr-1")
    assert point.time_ns == T


def test_readings_of_a_room_no_webhook_described_carry_building_and_floor() -> None:
    state = IngestState()
    assert apply(snapshot(T, [room()]), state) == []
    co2 = run(sensor_event(), state)[0]
    assert (co2.tags["building"], co2.tags["floor"]) == ("HQ", "3rd floor")
    assert state.registry.locations["ca"].type == "state"
    assert state.registry.timezone_of("f3") == "America/Los_Angeles"


def test_a_webhook_naming_the_other_id_finds_the_room() -> None:
    state = IngestState()
    apply(snapshot(T, [room()]), state)
    co2 = run(sensor_event("zr-1"), state)[0]
    assert co2.tags["room_id"] == "room-1"
    assert co2.tags["building"] == "HQ"


def test_an_older_snapshot_never_overrides_a_newer_webhook_and_vice_versa() -> None:
    state = IngestState()
    apply(snapshot(T, [room()]), state)
    renamed = {"event": "zoomroom.updated", "event_ts": (T + 60 * S) // 1_000_000,
               "payload": {"account_id": "a", "object": {"id": "room-1",
                                                         "room_name": "Everest II"}}}
    run(renamed, state)
    apply(snapshot(T + 30 * S, [room()]), state)            # started before the rename
    assert state.registry.room_name("room-1") == "Everest II"
    apply(snapshot(T + 120 * S, [room(name="Everest III")]), state)
    assert state.registry.room_name("room-1") == "Everest III"


def test_rooms_and_locations_that_disappeared_are_marked_deleted() -> None:
    state = IngestState()
    apply(snapshot(T, [room(), room(id="room-2", room_id="zr-2")]), state)
    apply(snapshot(T + S, [room()], locations=LOCATIONS[:4]), state)
    assert state.registry.rooms["room-2"].deleted
    assert state.registry.locations["f3"].deleted
    assert not state.registry.rooms["room-1"].deleted
    partial = IngestState()
    apply(snapshot(T, [room(), room(id="room-2")]), partial)
    apply(snapshot(T + S, [room()], complete=False), partial)
    assert not partial.registry.rooms["room-2"].deleted


def incident_rows(points: list[Point]) -> list[dict[str, Any]]:
    return [dict(p.fields) for p in points if p.measurement == "room_incident"]


def test_offline_without_an_open_incident_opens_one_marked_as_reconciled() -> None:
    state = IngestState()
    points = apply(snapshot(T, [room("Offline")]), state)
    [row] = incident_rows(points)
    assert row["open"] is True and row["opened_by"] == "reconciliation"
    [alert] = [p for p in points if p.measurement == "room_alert"]
    assert alert.fields["source"] == "reconciliation"
    assert apply(snapshot(T + 60 * S, [room("Offline")]), state) == []   # already open


def test_a_lost_clear_is_closed_once_zoom_reports_the_room_available_past_the_grace() -> None:
    state = IngestState()
    run(alert_event(1, T // 1_000_000), state)              # Zoom's trigger; its clear is lost
    assert apply(snapshot(T + 600 * S, [room("Available")]), state) == []  # within grace
    points = apply(snapshot(T + 1300 * S, [room("Available")]), state)
    [row] = incident_rows(points)
    assert row["open"] is False and row["closed_by"] == "reconciliation"
    assert row["duration_s"] == 600.0       # closed when Zoom first reported it available
    assert state.incidents.open_incidents() == []


def test_a_lost_clear_of_an_outage_between_two_listings_is_closed() -> None:
    """Listed available, offline and back between two syncs, its clear lost."""
    state = IngestState()
    apply(snapshot(T, [room("Available")]), state)
    run(alert_event(1, (T + 60 * S) // 1_000_000), state)   # after the listing
    assert apply(snapshot(T + 300 * S, [room("Available")]), state) == []  # within grace
    points = apply(snapshot(T + 700 * S, [room("Available")]), state)
    [row] = incident_rows(points)
    assert row["open"] is False and row["closed_by"] == "reconciliation"
    assert row["duration_s"] == 640.0            # closed at the first listing past the grace


def test_a_copy_of_the_state_shares_nothing_with_it() -> None:
    """The writer maps a batch against a copy and keeps the original if the write fails."""
    state = IngestState()
    apply(snapshot(T, [room("Available")]), state)
    run(alert_event(1, T // 1_000_000), state)
    before = state.to_json()
    copy = state.copy()
    assert copy.to_json() == before
    apply(snapshot(T + 3600 * S, [room("Offline", name="Renamed", location_id="hq")],
                   locations=LOCATIONS[:4]), copy)
    run(alert_event(2, (T + 60 * S) // 1_000_000), copy)
    for tags in copy.incident_tags.values():
        tags["building"] = "elsewhere"
    assert copy.to_json() != before
    assert state.to_json() == before
