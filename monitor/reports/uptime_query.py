"""The uptime report from InfluxDB: the incidents that overlap the range, in one query.

``room_incident`` holds one point per incident at its start (docs/data-model.md),
rewritten in place when it closes, so "overlaps ``[start, end)``" is one filter:
started before the end, and still open or ended after the start. The number of
rows is the number of incidents in the range, not of readings.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from monitor.core.timeutil import NS_PER_MS
from monitor.datamodel.influxql import influxql_ident
from monitor.datamodel.measurements import ROOM_INCIDENT
from monitor.reports.rooms import Room, room_labels
from monitor.reports.timerange import TimeRange
from monitor.reports.uptime import Incident, Uptime, fleet_uptime, room_uptime
from monitor.store.influx import InfluxClient


@dataclass
class UptimeReport:
    range: TimeRange
    now_ns: int
    rooms: list[tuple[Room, Uptime]]       # lowest availability first
    fleet: Uptime


def incidents_query(span: TimeRange) -> str:
    start_ms = span.start_ns // NS_PER_MS
    return ('SELECT "start_ms", "end_ms", "open", "room_name", "room_id", "alert_name", '
            f'"component_name", "building", "floor" FROM {influxql_ident(ROOM_INCIDENT)} '
            f'WHERE time < {span.end_ns} AND ("open" = true OR "end_ms" > {start_ms})')


def _incident(row: dict[str, Any]) -> Incident:
    start = int(row["start_ms"] if row.get("start_ms") is not None else row["time"])
    end = row.get("end_ms")
    return Incident(room_id=row.get("room_id") or "", alert_name=row.get("alert_name") or "other",
                    component_name=row.get("component_name") or "other",
                    start_ns=start * NS_PER_MS,
                    end_ns=None if row.get("open") or end is None else int(end) * NS_PER_MS)


def uptime(client: InfluxClient, span: TimeRange, now_ns: int,
           building: str | None = None) -> UptimeReport:
    rows = [row for series in client.query(incidents_query(span)) for row in series.rows()]
    labels = room_labels(client, span.hours())
    by_room: dict[str, list[Incident]] = defaultdict(list)
    for row in rows:
        incident = _incident(row)
        by_room[incident.room_id].append(incident)
        if incident.room_id not in labels:
            labels[incident.room_id] = Room(incident.room_id,
                                            row.get("room_name") or incident.room_id,
                                            row.get("building") or "", row.get("floor") or "")
    rooms = [(room, room_uptime(by_room.get(room_id, []), span.start_ns, span.end_ns, now_ns))
             for room_id, room in labels.items() if building is None or room.building == building]
    rooms.sort(key=lambda item: (_availability(item[1]), -item[1].incident_count,
                                 item[0].name.casefold()))
    return UptimeReport(span, now_ns, rooms, fleet_uptime(figures for _, figures in rooms))


def _availability(figures: Uptime) -> float:
    value = figures.availability
    return value if value is not None else 2.0
