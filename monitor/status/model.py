"""Rows for the status page, from a :class:`~monitor.status.query.Snapshot`: pure, no I/O.

Everything a person reads on the page is decided here — which rooms appear,
what counts as a problem, colours, "last seen 12 min ago", the order — so it is
tested without a server, and the HTML and JSON views only lay it out.

Which rooms appear: every room with a reading in the look-back window, an open
incident, or a rule that is not inactive. Problems sort first, at every level:
buildings, floors within them and rooms within floors, worst first, then by name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from monitor.core.timeutil import NS_PER_S, human_duration, ns_to_iso
from monitor.datamodel.vocabulary import PEOPLE, sensor_kind
from monitor.rules.model import LEVELS
from monitor.status.levels import OK, RuleSet
from monitor.status.query import (
    READINGS_LOOKBACK_S,
    OpenIncident,
    Reading,
    RoomRef,
    RuleStatus,
    Snapshot,
)

SEVERITIES = (OK, *LEVELS)            # ascending: ok < info < warning < critical
STALE_AFTER_S = 20 * 60               # as the default co2-sensor-silent rule
OFFLINE_ALERT = "room_offline"        # Zoom alert type 3
NO_BUILDING = "No building"
NO_FLOOR = "No floor"
_NS_PER_MS = 1_000_000


@dataclass(frozen=True)
class SensorColumn:
    sensor_type: str
    label: str
    unit: str = ""
    decimals: int | None = 0          # None: as many as the value needs


def _column(sensor_type: str) -> SensorColumn:
    kind = sensor_kind(sensor_type)
    return SensorColumn(kind.type, kind.short, kind.unit, kind.decimals)


# Column order of Zoom's sensor types (the vocabulary says how each is written);
# unknown types follow, by name.
KNOWN_SENSORS: tuple[SensorColumn, ...] = tuple(_column(kind) for kind in (
    PEOPLE, "CO2", "TEMPERATURE", "HUMIDITY", "VOC", "PM25", "PM10", "AQI", "AIR_PRESSURE"))


@dataclass(frozen=True)
class Cell:
    text: str                 # "1,150"
    level: str | None         # ok / info / warning / critical by the rule files; None: no rule
    stale: bool
    age: str                  # "12 min"


@dataclass(frozen=True)
class RuleBadge:
    rule: str                 # group/name
    name: str
    status: str               # pending / firing / no_data
    level: str
    value: str
    since: str


@dataclass(frozen=True)
class IncidentBadge:
    alert: str                # "room offline"
    component: str
    since: str


@dataclass(frozen=True)
class DeviceInfo:
    """A device of the room as the last registry sync saw it (``GET /rooms/{id}/devices``)."""

    type: str                 # "Zoom Rooms Computer", "Controller", …
    status: str               # Online / Offline
    app_version: str


@dataclass(frozen=True)
class RoomRow:
    room_id: str
    name: str
    building: str             # "" when unknown
    floor: str
    severity: str
    offline: bool
    silent: bool              # no fresh reading at all
    last_seen: str            # "12 min ago", or why there is none
    cells: dict[str, Cell] = field(default_factory=dict)
    rules: list[RuleBadge] = field(default_factory=list)
    incidents: list[IncidentBadge] = field(default_factory=list)
    devices: list[DeviceInfo] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.offline:
            return "offline"
        if self.silent:
            return "silent"
        return self.severity


@dataclass(frozen=True)
class FloorGroup:
    name: str
    severity: str
    rooms: list[RoomRow]


@dataclass(frozen=True)
class BuildingGroup:
    name: str
    severity: str
    floors: list[FloorGroup]


@dataclass(frozen=True)
class Summary:
    rooms: int = 0
    offline: int = 0
    firing: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))
    pending: int = 0
    no_data: int = 0
    open_incidents: int = 0
    stale_sensors: int = 0


@dataclass(frozen=True)
class Page:
    generated_at: str         # ISO 8601, UTC
    generated_text: str       # "30 Nov 2026, 14:05:09 UTC"
    summary: Summary
    columns: list[SensorColumn]
    buildings: list[BuildingGroup]
    notices: list[str] = field(default_factory=list)
    readings_window: str = human_duration(READINGS_LOOKBACK_S)
    stale_after: str = human_duration(STALE_AFTER_S)

    @property
    def empty(self) -> bool:
        return not self.buildings

    @property
    def has_devices(self) -> bool:
        return any(room.devices for building in self.buildings for floor in building.floors
                   for room in floor.rooms)


@dataclass
class _Room:
    """What the snapshot says about one room, before it becomes a row."""

    refs: list[tuple[int, RoomRef]] = field(default_factory=list)   # (ms, as named then)
    readings: dict[str, Reading] = field(default_factory=dict)
    incidents: list[OpenIncident] = field(default_factory=list)
    states: list[RuleStatus] = field(default_factory=list)


def build_page(snapshot: Snapshot, rules: RuleSet,
               devices: Mapping[str, Sequence[DeviceInfo]] | None = None) -> Page:
    """``devices``: by either Zoom id of a room, from the inventory file (may be empty)."""
    rooms = _collect(snapshot)
    columns = _columns(reading for room in rooms.values() for reading in room.readings.values())
    rows = [_row(room_id, room, snapshot.at_ns, rules, list((devices or {}).get(room_id, ())))
            for room_id, room in rooms.items()]
    return Page(generated_at=ns_to_iso(snapshot.at_ns),
                generated_text=_moment(snapshot.at_ns), summary=_summary(rows),
                columns=columns, buildings=_group(rows),
                notices=[rules.problem] if rules.problem else [])


def _collect(snapshot: Snapshot) -> dict[str, _Room]:
    rooms: dict[str, _Room] = {}
    for reading in snapshot.readings:
        room = rooms.setdefault(reading.room.room_id, _Room())
        room.refs.append((reading.at_ms, reading.room))
        known = room.readings.get(reading.sensor_type)
        if known is None or reading.at_ms > known.at_ms:   # a renamed room: two series
            room.readings[reading.sensor_type] = reading
    for incident in snapshot.incidents:
        room = rooms.setdefault(incident.room.room_id, _Room())
        room.refs.append((incident.start_ms, incident.room))
        room.incidents.append(incident)
    for state in snapshot.states:
        if state.status == "inactive":
            continue
        room = rooms.setdefault(state.room.room_id, _Room())
        room.refs.append((state.at_ms, state.room))
        room.states.append(state)
    return rooms


def _columns(readings: Iterable[Reading]) -> list[SensorColumn]:
    present = {reading.sensor_type for reading in readings}
    known = [column for column in KNOWN_SENSORS if column.sensor_type in present]
    names = {column.sensor_type for column in KNOWN_SENSORS}
    extra = [_column(kind) for kind in sorted(present - names)]
    return known + extra


def _ref(room_id: str, room: _Room) -> RoomRef:
    """The newest point's name and location (a room renamed or moved shows as it is now)."""
    named = [item for item in room.refs if item[1].room_name]
    _, newest = max(named or room.refs, key=lambda item: item[0])
    located = [item for item in room.refs if item[1].building or item[1].floor]
    _, where = max(located, key=lambda item: item[0]) if located else (0, newest)
    return RoomRef(room_id, newest.room_name or room_id, where.building, where.floor)


def _row(room_id: str, room: _Room, at_ns: int, rules: RuleSet,
         devices: list[DeviceInfo]) -> RoomRow:
    ref = _ref(room_id, room)
    tags = {"room_id": room_id, "room_name": ref.room_name, "building": ref.building,
            "floor": ref.floor}
    at_ms = at_ns // _NS_PER_MS
    cells = {kind: _cell(reading, at_ms, rules, tags) for kind, reading in room.readings.items()}
    newest = max((reading.at_ms for reading in room.readings.values()), default=None)
    silent = newest is None or _age_s(at_ms, newest) > STALE_AFTER_S
    offline = any(incident.alert_name == OFFLINE_ALERT for incident in room.incidents)
    badges = sorted((_badge(state, at_ms, rules) for state in room.states), key=_badge_order)
    incidents = [IncidentBadge(_words(i.alert_name) or f"alert type {i.alert_type}",
                               _words(i.component_name), human_duration(_age_s(at_ms, i.start_ms)))
                 for i in sorted(room.incidents, key=lambda i: i.start_ms)]
    severity = _severity(list(cells.values()), room.states, room.incidents, silent=silent)
    return RoomRow(room_id, ref.room_name, ref.building, ref.floor, severity, offline, silent,
                   _last_seen(at_ms, newest), cells, badges, incidents, devices)


def _cell(reading: Reading, at_ms: int, rules: RuleSet, tags: dict[str, str]) -> Cell:
    age = _age_s(at_ms, reading.at_ms)
    return Cell(_format(reading.sensor_type, reading.value),
                rules.level(reading.sensor_type, reading.value, tags),
                stale=age > STALE_AFTER_S, age=human_duration(age))


def _badge(state: RuleStatus, at_ms: int, rules: RuleSet) -> RuleBadge:
    value = ""
    if state.value is not None:
        durations = rules.kind_of(state.rule) in ("incident", "no_data")
        value = human_duration(state.value) if durations else _number(state.value)
    return RuleBadge(state.rule, state.rule.rsplit("/", 1)[-1], state.status, state.level,
                     value, human_duration(_age_s(at_ms, state.at_ms)))


def _badge_order(badge: RuleBadge) -> tuple[int, int, str]:
    status = ("firing", "no_data", "pending").index(badge.status) \
        if badge.status in ("firing", "no_data", "pending") else 3
    return status, -_rank(badge.level), badge.rule


def _severity(cells: list[Cell], states: list[RuleStatus], incidents: list[OpenIncident],
              *, silent: bool) -> str:
    found = [OK]
    found += [cell.level for cell in cells if cell.level]
    found += ["info" for cell in cells if cell.stale]
    found += [_state_severity(state) for state in states]
    found += ["critical" if i.alert_name == OFFLINE_ALERT else "warning" for i in incidents]
    if silent:
        found.append("warning")
    return max(found, key=_rank)


def _state_severity(state: RuleStatus) -> str:
    if state.status == "firing":
        return state.level if state.level in LEVELS else "warning"
    return "warning" if state.status == "no_data" else "info"   # pending


def _summary(rows: list[RoomRow]) -> Summary:
    firing = dict.fromkeys(LEVELS, 0)
    pending = no_data = 0
    for badge in (badge for row in rows for badge in row.rules):
        if badge.status == "firing":
            firing[badge.level if badge.level in firing else "warning"] += 1
        pending += badge.status == "pending"
        no_data += badge.status == "no_data"
    return Summary(rooms=len(rows), offline=sum(row.offline for row in rows), firing=firing,
                   pending=pending, no_data=no_data,
                   open_incidents=sum(len(row.incidents) for row in rows),
                   stale_sensors=sum(cell.stale for row in rows for cell in row.cells.values()))


def _group(rows: list[RoomRow]) -> list[BuildingGroup]:
    tree: dict[str, dict[str, list[RoomRow]]] = {}
    for row in rows:
        floors = tree.setdefault(row.building or NO_BUILDING, {})
        floors.setdefault(row.floor or NO_FLOOR, []).append(row)
    buildings = []
    for building, floors in tree.items():
        groups = [FloorGroup(name, _worst(r.severity for r in members),
                             sorted(members, key=_room_order))
                  for name, members in floors.items()]
        groups.sort(key=lambda g: (-_rank(g.severity), g.name == NO_FLOOR, _natural(g.name)))
        buildings.append(BuildingGroup(building, _worst(g.severity for g in groups), groups))
    buildings.sort(key=lambda b: (-_rank(b.severity), b.name == NO_BUILDING, _natural(b.name)))
    return buildings


def _room_order(row: RoomRow) -> tuple[int, bool, str, str]:
    return -_rank(row.severity), not row.offline, row.name.casefold(), row.room_id


def _worst(severities: Iterable[str]) -> str:
    return max(severities, key=_rank, default=OK)


def _rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


def _natural(name: str) -> tuple[str | int, ...]:
    """"Floor 2" before "Floor 10": text and numbers alternate, so they always compare."""
    return tuple(int(part) if part.isdigit() else part.casefold()
                 for part in re.split(r"(\d+)", name))


def _age_s(at_ms: int, then_ms: float) -> float:
    return max(0.0, (at_ms - then_ms) / 1000)


def _last_seen(at_ms: int, newest_ms: int | None) -> str:
    if newest_ms is None:
        return f"no reading in {human_duration(READINGS_LOOKBACK_S)}"
    age = _age_s(at_ms, newest_ms)
    return "just now" if age < 60 else f"{human_duration(age)} ago"


def _format(sensor_type: str, value: float) -> str:
    decimals = sensor_kind(sensor_type).decimals
    if decimals is None:
        return _number(value)
    return f"{value:,.{decimals}f}"


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _moment(at_ns: int) -> str:
    return datetime.fromtimestamp(at_ns / NS_PER_S, tz=UTC).strftime("%d %b %Y, %H:%M:%S UTC")


def _words(code: str) -> str:
    return code.replace("_", " ").strip()



def page_json(page: Page) -> dict[str, Any]:
    """The JSON twin: the same rows, with each room's status spelled out."""
    data = asdict(page)
    rooms = (room for building in page.buildings for floor in building.floors
             for room in floor.rooms)
    statuses = {room.room_id: room.status for room in rooms}
    for building in data["buildings"]:
        for floor in building["floors"]:
            for room in floor["rooms"]:
                room["status"] = statuses[room["room_id"]]
    data["empty"] = page.empty
    return data
