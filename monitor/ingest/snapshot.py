"""A registry snapshot from Zoom's REST API, applied like any event. Pure: no I/O, no clock.

``zrmon zoom sync`` reads rooms and locations from the REST API and spools them
as one ``zrmon.registry_snapshot`` record (a name no webhook can carry: the
receiver accepts only Zoom's catalogue). The writer applies it in spool order
beside the webhooks, inside the same atomic batch, so the registry has one
owner and one history:

- every room and location in the snapshot is updated as of the time the sync
  started; an entry a webhook changed after that keeps the webhook's version,
  and a later webhook replaces the snapshot's (:class:`Registry` keeps times);
- with ``complete`` set, rooms and locations Zoom no longer lists are marked
  deleted;
- reconciliation of room status: a room Zoom reports ``Offline`` with no open
  offline incident gets one opened, and an open offline incident of a room Zoom
  has reported available for at least ``reconcile_grace_s`` is closed; both are
  alerts with ``source: reconciliation``, so they pair, show and notify like
  Zoom's own and say where they came from. A lost clear can then never keep a
  room offline forever.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from monitor.core.timeutil import NS_PER_S
from monitor.datamodel.vocabulary import KIND_CLEARED, KIND_TRIGGERED
from monitor.ingest.registry import Registry

SNAPSHOT_EVENT = "zrmon.registry_snapshot"
RECONCILIATION = "reconciliation"
ROOM_OFFLINE = 3          # alert_type of Zoom's "room offline" alert
ZOOM_ROOMS_COMPUTER = 1   # the component Zoom names in it
OFFLINE = "offline"
AVAILABLE = frozenset({"available", "inmeeting"})


def apply_snapshot(obj: Mapping[str, Any], time_ns: int, registry: Registry,
                   open_offline: Mapping[str, int]) -> list[dict[str, Any]]:
    """Update ``registry``; the reconciliation alerts (webhook-shaped objects) to map."""
    seen_locations = {location_id for location_id in _apply_locations(
        _items(obj.get("locations")), time_ns, registry)}
    seen_rooms = set(_apply_rooms(_items(obj.get("rooms")), time_ns, registry))
    if obj.get("complete") is True:
        _mark_missing_deleted(registry, seen_rooms, seen_locations, time_ns)
    grace_ns = int(float(obj.get("reconcile_grace_s") or 0) * NS_PER_S)
    return [alert for room_id in sorted(seen_rooms)
            if (alert := _reconcile(registry, room_id, time_ns, grace_ns,
                                    open_offline.get(room_id))) is not None]


def _items(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) \
        else []


def _apply_locations(items: Iterable[Mapping[str, Any]], time_ns: int,
                     registry: Registry) -> Iterable[str]:
    for item in items:
        location_id = str(item.get("id") or "")
        if not location_id:
            continue
        parent = item.get("parent_location_id")
        registry.update_location(location_id, time_ns, name=str(item.get("name") or ""),
                                 type_=str(item.get("type") or ""),
                                 parent_id=None if parent is None else str(parent),
                                 timezone=str(item.get("timezone") or ""))
        yield location_id


def _apply_rooms(items: Iterable[Mapping[str, Any]], time_ns: int,
                 registry: Registry) -> Iterable[str]:
    for item in items:
        room_id = str(item.get("id") or "")
        if not room_id:
            continue
        registry.update_room(room_id, time_ns, name=str(item.get("name") or ""),
                             location_id=str(item.get("location_id") or ""),
                             zoom_room_id=str(item.get("room_id") or ""),
                             status=str(item.get("status") or ""))
        yield registry.canonical(room_id)


def _mark_missing_deleted(registry: Registry, rooms: set[str], locations: set[str],
                          time_ns: int) -> None:
    for room_id, room in list(registry.rooms.items()):
        if room_id not in rooms and not room.deleted:
            registry.update_room(room_id, time_ns, deleted=True)
    for location_id, location in list(registry.locations.items()):
        if location_id not in locations and not location.deleted:
            registry.update_location(location_id, time_ns, deleted=True)


def _reconcile(registry: Registry, room_id: str, time_ns: int, grace_ns: int,
               open_since: int | None) -> dict[str, Any] | None:
    """The alert that brings the incident book in line with Zoom's status, if any.

    ``open_since`` is the start of the room's open offline incident. A room Zoom has
    listed as available since *before* that start went offline and came back between
    two listings: its availability counts from the incident's start, and the clear
    is placed at this snapshot (the first listing known to follow the outage).
    """
    room = registry.rooms[room_id]
    status = room.status.strip().lower()
    if room.deleted:
        return None
    if status == OFFLINE and open_since is None:
        return _alert(room_id, room.name, KIND_TRIGGERED, room.status_ns,
                      "Zoom reports the room offline (found by reconciliation)")
    if status in AVAILABLE and open_since is not None:
        available_since = max(room.status_ns, open_since)
        if time_ns - available_since >= grace_ns:
            clear_at = room.status_ns if room.status_ns > open_since else time_ns
            return _alert(room_id, room.name, KIND_CLEARED, clear_at,
                          "Zoom reports the room available (found by reconciliation)")
    return None


def _alert(room_id: str, name: str, kind: int, at_ns: int, issue: str) -> dict[str, Any]:
    return {"id": room_id, "room_name": name, "alert_type": ROOM_OFFLINE,
            "component": ZOOM_ROOMS_COMPUTER, "alert_kind": kind, "alert_time_ns": at_ns,
            "issue": issue, "source": RECONCILIATION}
