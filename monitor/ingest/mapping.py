"""Validated Zoom events → InfluxDB points. Pure: no I/O, no clock.

The writer calls :func:`map_event` once per spooled event, in spool order,
with the state it keeps (room registry, open incidents). Everything here is
deterministic: mapping the same event again yields the same points with the
same timestamps, which is what makes a crash-and-replay or a duplicate
delivery change nothing in InfluxDB.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.datamodel.measurements import (
    ALERT_EVENT,
    ALERT_EVENTS,
    ROOM_ALERT,
    ROOM_INCIDENT,
    SENSOR,
    SENSOR_EVENT,
    ZOOM_EVENT,
    ZOOM_ROOM,
)
from monitor.datamodel.points import Batch, Delete, Point, clean_tags
from monitor.datamodel.vocabulary import ALERT_KINDS, ALERT_TYPES, COMPONENTS, KIND_CLEARED, word
from monitor.ingest.annotations import event_tags, event_title
from monitor.ingest.incidents import Incident, IncidentBook, IncidentChange
from monitor.ingest.registry import Registry
from monitor.ingest.snapshot import ROOM_OFFLINE, SNAPSHOT_EVENT, apply_snapshot

PEOPLE_COUNT = "REAL_TIME_PEOPLE_COUNT"
PEOPLE_MAX_GAP_NS = 300 * 1_000_000_000
_ROOM_REGISTRY_EVENTS = frozenset({"zoomroom.created", "zoomroom.updated", "zoomroom.deleted"})
_LOCATION_REGISTRY_EVENTS = frozenset(
    {"zoomroom.location_created", "zoomroom.location_updated", "zoomroom.location_deleted"}
)
_DETAIL_LIMIT = 16 * 1024
_NS_PER_MS = 1_000_000


@dataclass
class IngestState:
    """What the writer remembers between events; persisted with the spool offsets."""

    registry: Registry = field(default_factory=Registry)
    incidents: IncidentBook = field(default_factory=IncidentBook)
    # Tags an open incident was written with, so its close lands on the same series
    # even if the room moved building in between.
    incident_tags: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Fresh containers all the way down, never this state's own."""
        return {"registry": self.registry.to_json(), "incidents": self.incidents.to_json(),
                "incident_tags": {key: dict(tags) for key, tags in self.incident_tags.items()}}

    def copy(self) -> IngestState:
        """An independent copy: a batch is mapped against one, kept only once it is stored.

        ``to_json`` builds new containers and ``from_json`` new objects from them, so no
        serialising is needed in between.
        """
        return IngestState.from_json(self.to_json())

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> IngestState:
        if not data:
            return cls()
        return cls(Registry.from_json(data["registry"]),
                   IncidentBook.from_json(data["incidents"]),
                   dict(data.get("incident_tags", {})))


@dataclass(frozen=True)
class Envelope:
    """The parts of every event the mapping needs, with times already resolved."""

    name: str
    account_id: str
    obj: Mapping[str, Any]
    time_ns: int
    digest: int          # stable per event content; spreads same-millisecond events apart

    @classmethod
    def of(cls, event: Mapping[str, Any], received_ns: int, digest: int) -> Envelope:
        payload = event.get("payload") or {}
        obj = payload.get("object") if isinstance(payload, Mapping) else None
        event_ns = event.get("event_ts_ns")
        return cls(
            name=str(event.get("event") or ""),
            account_id=str(payload.get("account_id") or "") if isinstance(payload, Mapping)
            else "",
            obj=obj if isinstance(obj, Mapping) else {},
            time_ns=event_ns if isinstance(event_ns, int) and event_ns > 0 else received_ns,
            digest=digest,
        )


def map_event(event: Mapping[str, Any], received_ns: int, digest: int,
              state: IngestState) -> Batch:
    envelope = Envelope.of(event, received_ns, digest)
    if envelope.name == SENSOR_EVENT:
        return Batch(points=sensor_points(envelope, state.registry))
    if envelope.name in ALERT_EVENTS:
        return alert_batch(envelope, state)
    if envelope.name == SNAPSHOT_EVENT:
        return snapshot_batch(envelope, state)
    if envelope.name in _ROOM_REGISTRY_EVENTS:
        apply_room_event(envelope, state.registry)
    elif envelope.name in _LOCATION_REGISTRY_EVENTS:
        apply_location_event(envelope, state.registry)
    return Batch(points=[annotation_point(envelope, state.registry)])


def snapshot_batch(envelope: Envelope, state: IngestState) -> Batch:
    """Apply a REST snapshot (:mod:`monitor.ingest.snapshot`); map its reconciliation alerts."""
    open_offline: dict[str, int] = {}
    for incident in state.incidents.open_incidents():
        if incident.key[1] == ROOM_OFFLINE:
            open_offline.setdefault(incident.key[0], incident.start_ns)
    alerts = apply_snapshot(envelope.obj, envelope.time_ns, state.registry, open_offline)
    batch = Batch(points=registry_points(envelope, state.registry))
    for alert in alerts:
        synthetic = Envelope(ALERT_EVENT, envelope.account_id, alert, envelope.time_ns,
                             envelope.digest)
        batch.extend(alert_batch(synthetic, state))
    return batch


def registry_points(envelope: Envelope, registry: Registry) -> list[Point]:
    """The registry in InfluxDB, for the processes that do not hold it (the scheduler's
    reports want a building's time zone, the status page a room's status and place)."""
    points = []
    for room_id, room in sorted(registry.rooms.items()):
        if room.updated_ns != envelope.time_ns:     # not (or no longer) from this snapshot
            continue
        fields: dict[str, float | int | bool | str] = {
            "room_name": room.name, "status": room.status, "deleted": room.deleted,
            "location_id": room.location_id, "zoom_room_id": room.zoom_room_id,
            "timezone": registry.timezone_of(room.location_id),
            "status_since_ms": room.status_ns // _NS_PER_MS}
        tags = clean_tags({"account_id": envelope.account_id, "room_id": room_id,
                           **registry.location_tags(room.location_id)})
        points.append(Point(ZOOM_ROOM, tags, fields, envelope.time_ns))
    return points


def sensor_points(envelope: Envelope, registry: Registry) -> list[Point]:
    """One point per reading; the receiver has already dropped unparseable ones."""
    obj = envelope.obj
    room_id = registry.canonical(str(obj.get("id") or ""))
    base = clean_tags({
        "account_id": envelope.account_id,
        "room_id": room_id,
        "room_name": obj.get("room_name") or registry.room_name(room_id),
        "device_id": obj.get("device_id"),
        **registry.room_tags(room_id),
    })
    readings = list(_readings(obj.get("sensor_data") or ()))
    people = [(t, v) for kind, v, t in readings if kind == PEOPLE_COUNT]
    points = []
    for kind, value, time_ns in readings:
        fields: dict[str, float] = {"value": value}
        count = _people_at(people, time_ns)
        if count is not None:
            fields["people"] = count
        points.append(Point(SENSOR, {**base, "sensor_type": kind}, fields, time_ns))
    return points


def _readings(items: Iterable[object]) -> Iterator[tuple[str, float, int]]:
    for reading in items:
        if not isinstance(reading, Mapping):
            continue
        value, time_ns = reading.get("value"), reading.get("time_ns")
        if isinstance(value, float | int) and isinstance(time_ns, int):
            yield str(reading.get("sensor_type") or "UNKNOWN"), float(value), time_ns


def _people_at(people: list[tuple[int, float]], time_ns: int) -> float | None:
    """The people count the same event reported nearest in time (within 5 minutes).

    Every reading carries it as field ``people`` so that "air quality while the
    room was occupied" is one InfluxQL filter (``"people" > 0``): InfluxQL
    cannot join the people-count series to the CO2 series.
    """
    best: tuple[int, float] | None = None
    for at, count in people:
        gap = abs(at - time_ns)
        if gap <= PEOPLE_MAX_GAP_NS and (best is None or gap < best[0]):
            best = (gap, count)
    return None if best is None else best[1]


def _alert_code(obj: Mapping[str, Any], key: str) -> int:
    value = obj.get(key)
    return int(value) if isinstance(value, int | float | str) and str(value).strip() else 0


def alert_batch(envelope: Envelope, state: IngestState) -> Batch:
    obj = envelope.obj
    room_id = state.registry.canonical(str(obj.get("id") or ""))
    alert_type, component = _alert_code(obj, "alert_type"), _alert_code(obj, "component")
    kind = _alert_code(obj, "alert_kind")
    alert_ns = obj.get("alert_time_ns")
    time_ns = alert_ns if isinstance(alert_ns, int) and alert_ns > 0 else envelope.time_ns
    room_name = str(obj.get("room_name") or state.registry.room_name(room_id))
    tags = clean_tags({
        "account_id": envelope.account_id,
        "room_id": room_id,
        "alert_type": alert_type,
        "alert_name": word(ALERT_TYPES, alert_type, "type"),
        "component": component,
        "component_name": word(COMPONENTS, component, "component"),
        **state.registry.room_tags(room_id),
    })
    fields: dict[str, float | int | bool | str] = {
        "issue": str(obj.get("issue") or ""), "room_name": room_name, "kind_code": kind}
    source = str(obj.get("source") or "")
    if source:
        fields["source"] = source
    alert = Point(ROOM_ALERT, {**tags, "alert_kind": word(ALERT_KINDS, kind, "kind")},
                  fields, time_ns)
    batch = Batch(points=[alert])
    changes = state.incidents.apply((room_id, alert_type, component), kind, time_ns)
    # An incident opened or closed by reconciliation says so (InfluxDB merges the field
    # into the row, so it stays when Zoom's own clear later rewrites it).
    marked = {("closed_by" if kind == KIND_CLEARED else "opened_by"): source} if source else {}
    for change in changes:
        batch.extend(incident_batch(change, tags, room_name, state, marked))
    return batch


def _incident_id(incident: Incident) -> str:
    room_id, alert_type, component = incident.key
    return f"{room_id}|{alert_type}|{component}|{incident.start_ns}"


def incident_batch(change: IncidentChange, tags: dict[str, str], room_name: str,
                   state: IngestState, marked: Mapping[str, str] | None = None) -> Batch:
    batch = Batch()
    if change.delete is not None:
        old_tags = state.incident_tags.pop(_incident_id(change.delete), tags)
        batch.deletes.append(Delete(ROOM_INCIDENT, old_tags, change.delete.start_ns))
    incident = change.upsert
    if incident is None:
        return batch
    key = _incident_id(incident)
    if incident.end_ns is None:
        state.incident_tags[key] = tags
        series_tags = tags
    else:
        series_tags = state.incident_tags.pop(key, tags)
    fields = incident_fields(incident, room_name)
    if marked and ("opened_by" in marked or incident.end_ns is not None):
        fields.update(marked)
    batch.points.append(Point(ROOM_INCIDENT, series_tags, fields, incident.start_ns))
    return batch


def incident_fields(incident: Incident, room_name: str) -> dict[str, float | int | bool | str]:
    fields: dict[str, float | int | bool | str] = {
        "room_name": room_name,
        "start_ms": incident.start_ns // _NS_PER_MS,
        "open": incident.end_ns is None,
    }
    if incident.end_ns is not None:
        fields["end_ms"] = incident.end_ns // _NS_PER_MS
        fields["duration_s"] = float(incident.duration_s or 0.0)
    return fields


def apply_room_event(envelope: Envelope, registry: Registry) -> None:
    obj = envelope.obj
    room_id = str(obj.get("id") or "")
    if not room_id:
        return
    registry.update_room(room_id, envelope.time_ns, name=str(obj.get("room_name") or ""),
                         location_id=str(obj.get("location_id") or ""),
                         deleted=envelope.name == "zoomroom.deleted")


def apply_location_event(envelope: Envelope, registry: Registry) -> None:
    obj = envelope.obj
    location_id = str(obj.get("id") or "")
    if not location_id:
        return
    parent = obj.get("parent_location_id")
    registry.update_location(location_id, envelope.time_ns, name=str(obj.get("name") or ""),
                             type_=str(obj.get("type") or ""),
                             parent_id=None if parent is None else str(parent),
                             deleted=envelope.name == "zoomroom.location_deleted")


def annotation_point(envelope: Envelope, registry: Registry) -> Point:
    obj = envelope.obj
    tags = event_tags(envelope.name, obj)
    room_id = tags.get("room_id", "")
    if room_id:
        room_id = tags["room_id"] = registry.canonical(room_id)
        tags.setdefault("room_name", registry.room_name(room_id))
        tags.update(registry.room_tags(room_id))
    elif "location_id" in tags:
        tags.update(registry.location_tags(tags["location_id"]))
    tags = clean_tags({"event": envelope.name or "unknown", "account_id": envelope.account_id,
                       **tags})
    fields: dict[str, float | int | bool | str] = {
        "title": event_title(envelope.name, obj),
        "detail": _detail(obj),
    }
    for key in ("start_time", "end_time", "join_time"):
        value = obj.get(f"{key}_ns")
        if isinstance(value, int) and value > 0:
            fields[f"{key}_ms"] = value // _NS_PER_MS
    # Two distinct events in the same millisecond for the same ids must not overwrite
    # each other, and the same event twice must: spread by a hash of its content.
    time_ns = envelope.time_ns - envelope.time_ns % _NS_PER_MS + envelope.digest % _NS_PER_MS
    return Point(ZOOM_EVENT, tags, fields, time_ns)


def _detail(obj: Mapping[str, Any]) -> str:
    shown = {k: v for k, v in obj.items() if not k.endswith("_ns")}
    text = json.dumps(shown, sort_keys=True, ensure_ascii=False, default=str)
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 1] + "…"
