"""What the status page reads from InfluxDB: three InfluxQL queries, whatever the room count.

1. the latest reading per room and sensor type in the last two hours,
2. the open incidents (``room_incident`` with ``"open" = true``),
3. the latest ``rule_state`` transition per (rule, room): the state it entered
   is the rule's current state for that room.

Each aggregates per room inside a subquery and reads the group's tags back as
columns (the flat-subquery trick of :func:`monitor.rules.query._flat`): one
series with a row per room instead of a series per room, which is what makes
an answer for 10,000 rooms cheap to send and parse. Time bounds are explicit
from ``at_ns``, so the ages the page shows are measured from the same instant
the queries looked at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from monitor.datamodel.influxql import ROOM_TAGS, flat_select, idents, influxql_ident, time_bounds
from monitor.datamodel.measurements import ROOM_INCIDENT, RULE_STATE, SENSOR
from monitor.rules.query import INCIDENT_LOOKBACK_S
from monitor.store.influx import InfluxClient, Series

READINGS_LOOKBACK_S = 2 * 3600      # older readings are not "latest" any more
HISTORY_LOOKBACK_S = INCIDENT_LOOKBACK_S   # incidents and rule transitions: as the rules look


@dataclass(frozen=True)
class RoomRef:
    """A room as one point names it; the newest point's name and location win."""

    room_id: str
    room_name: str = ""
    building: str = ""
    floor: str = ""


@dataclass(frozen=True)
class Reading:
    room: RoomRef
    sensor_type: str
    value: float
    at_ms: int


@dataclass(frozen=True)
class OpenIncident:
    room: RoomRef
    alert_type: str
    alert_name: str
    component_name: str
    start_ms: int


@dataclass(frozen=True)
class RuleStatus:
    """The state a rule last entered for a room, from its latest ``rule_state`` point."""

    room: RoomRef
    rule: str
    status: str            # inactive / pending / firing / no_data
    level: str
    value: float | None
    at_ms: int             # when it entered that state


@dataclass(frozen=True)
class Snapshot:
    at_ns: int
    readings: list[Reading]
    incidents: list[OpenIncident]
    states: list[RuleStatus]
    queries: int = 0


def readings_query(at_ns: int) -> str:
    where = _bounds(at_ns, READINGS_LOOKBACK_S)
    inner = (f'SELECT last("value") AS "value" FROM {influxql_ident(SENSOR)} WHERE {where} '
             f"GROUP BY {idents((*ROOM_TAGS, 'sensor_type'))}")
    return flat_select(inner, ("value", *ROOM_TAGS, "sensor_type"))


def incidents_query(at_ns: int) -> str:
    """Raw points, already one series: only open incidents, a handful even at scale."""
    columns = ("start_ms", "room_name", "room_id", "building", "floor", "alert_type",
               "alert_name", "component_name")
    return (f'SELECT {idents(columns)} FROM {influxql_ident(ROOM_INCIDENT)} WHERE "open" = true '
            f"AND {_bounds(at_ns, HISTORY_LOOKBACK_S)}")


def states_query(at_ns: int) -> str:
    """``last()`` with the tags of the point it selects: the state entered most recently."""
    tags = ("status", "level", "room_name", "building", "floor")
    inner = (f'SELECT last("previous") AS "previous", {idents((*tags, "value"))} '
             f'FROM {influxql_ident(RULE_STATE)} WHERE {_bounds(at_ns, HISTORY_LOOKBACK_S)} '
             f'GROUP BY "rule", "room_id"')
    return flat_select(inner, ("rule", "room_id", *tags, "value"))


def fetch(influx: InfluxClient, at_ns: int) -> Snapshot:
    """Everything the page shows; :class:`~monitor.store.influx.InfluxError` if unreachable."""
    readings = _parse(influx.query(readings_query(at_ns)), _reading)
    incidents = _parse(influx.query(incidents_query(at_ns)), _incident)
    states = _parse(influx.query(states_query(at_ns)), _state)
    return Snapshot(at_ns, readings, incidents, states, queries=3)


T = TypeVar("T")


def _parse(series: list[Series], row_to: Callable[[dict[str, Any]], T | None]) -> list[T]:
    """Rows that lack a room or a number are skipped: the page shows what it can."""
    out = []
    for item in series:
        for row in item.rows():
            parsed = row_to(row)
            if parsed is not None:
                out.append(parsed)
    return out


def _room(row: dict[str, Any]) -> RoomRef | None:
    room_id = _text(row.get("room_id"))
    if not room_id:
        return None
    return RoomRef(room_id, _text(row.get("room_name")), _text(row.get("building")),
                   _text(row.get("floor")))


def _reading(row: dict[str, Any]) -> Reading | None:
    room, value, at = _room(row), _number(row.get("value")), _number(row.get("time"))
    if room is None or value is None or at is None:
        return None
    return Reading(room, _text(row.get("sensor_type")) or "UNKNOWN", value, int(at))


def _incident(row: dict[str, Any]) -> OpenIncident | None:
    room, start = _room(row), _number(row.get("start_ms"))
    if start is None:
        start = _number(row.get("time"))
    if room is None or start is None:
        return None
    return OpenIncident(room, _text(row.get("alert_type")), _text(row.get("alert_name")),
                        _text(row.get("component_name")), int(start))


def _state(row: dict[str, Any]) -> RuleStatus | None:
    room, at, rule = _room(row), _number(row.get("time")), _text(row.get("rule"))
    if room is None or at is None or not rule:
        return None
    return RuleStatus(room, rule, _text(row.get("status")) or "inactive",
                      _text(row.get("level")), _number(row.get("value")), int(at))


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _bounds(at_ns: int, lookback_s: float) -> str:
    return " AND ".join(time_bounds(at_ns, lookback_s))
