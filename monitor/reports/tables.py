"""Reports as flat rows: the one source of the CSV, the JSON and the HTML tables.

Every number a reader sees comes from these rows, so the three formats can
never disagree. Shares and coverage are fractions (0-1), durations seconds.
"""

from __future__ import annotations

from typing import Any

from monitor.reports.air_query import AirReport, Subject
from monitor.reports.airmaths import Stats
from monitor.reports.uptime import Uptime, fleet_uptime
from monitor.reports.uptime_query import UptimeReport

Row = dict[str, Any]


def _num(value: float | None, digits: int | None = None) -> float | None:
    """Shares and durations exactly as computed; means and maxima to 2 decimals (sensor units)."""
    if value is None or digits is None:
        return value
    return round(value, digits)


def air_columns(report: AirReport) -> list[str]:
    shares = [f"within_{line.key}" for line in report.lines]
    return ["level", "name", "building", "floor", "room_id", "sensor", "time", "hours",
            "coverage", "mean", "p95", "max", *shares]


def _air_row(level: str, subject: Subject, sensor: str, *, kind: str, stats: Stats,
             report: AirReport) -> Row:
    row: Row = {"level": level, "name": subject.name, "building": subject.building,
                "floor": subject.floor, "room_id": subject.room_id, "sensor": sensor,
                "time": kind, "hours": stats.hours, "coverage": _num(stats.coverage),
                "mean": _num(stats.mean, 2), "p95": _num(stats.p95, 2),
                "max": _num(stats.max, 2)}
    for line in report.lines:
        row[f"within_{line.key}"] = _num(stats.share(line.key)) if line.sensor == sensor \
            else None
    return row


def air_rows(report: AirReport) -> list[Row]:
    """Fleet, buildings, floors, then rooms worst first; per sensor, all and occupied time."""
    subjects = ([("fleet", report.fleet)] + [("building", s) for s in report.buildings]
                + [("floor", s) for s in report.floors] + [("room", s) for s in report.rooms])
    rows = []
    for level, subject in subjects:
        for sensor in report.sensors:
            if sensor in subject.sensors:
                every, occupied = subject.sensors[sensor]
                rows.append(_air_row(level, subject, sensor, kind="all", stats=every,
                                     report=report))
                rows.append(_air_row(level, subject, sensor, kind="occupied", stats=occupied,
                                     report=report))
    return rows


def air_document(report: AirReport) -> dict[str, Any]:
    return {"report": "air-quality", "from": report.range.iso(report.range.start_ns),
            "to": report.range.iso(report.range.end_ns), "timezone": report.range.zone_name,
            "hours": report.hours,
            "guidance": [{"key": line.key, "label": line.label, "sensor": line.sensor,
                          "rule": line.rule, "level": line.level} for line in report.lines],
            "columns": air_columns(report), "rows": air_rows(report)}


def incident_types(report: UptimeReport) -> list[tuple[str, str]]:
    return sorted(report.fleet.incidents)


def uptime_columns(report: UptimeReport) -> list[str]:
    kinds = [f"incidents:{alert}/{component}" for alert, component in incident_types(report)]
    return ["level", "name", "building", "floor", "room_id", "availability", "downtime_s",
            "incidents", *kinds, "recovered", "time_to_recover_s", "mttr_s", "longest_s",
            "longest_open", "open_at_end"]


def _uptime_row(level: str, name: str, ids: tuple[str, str, str], figures: Uptime,
                kinds: list[tuple[str, str]]) -> Row:
    building, floor, room_id = ids
    row: Row = {"level": level, "name": name, "building": building, "floor": floor,
                "room_id": room_id, "availability": _num(figures.availability),
                "downtime_s": _num(figures.down_s), "incidents": figures.incident_count}
    for alert, component in kinds:
        row[f"incidents:{alert}/{component}"] = figures.incidents.get((alert, component), 0)
    row.update({"recovered": figures.recovered,
                "time_to_recover_s": _num(figures.recover_s),
                "mttr_s": _num(figures.mttr_s), "longest_s": _num(figures.longest_s),
                "longest_open": figures.longest_open, "open_at_end": figures.open_at_end})
    return row


def uptime_rows(report: UptimeReport) -> list[Row]:
    kinds = incident_types(report)
    rows = [_uptime_row("fleet", "Fleet", ("", "", ""), report.fleet, kinds)]
    buildings: dict[str, list[Uptime]] = {}
    for room, figures in report.rooms:
        buildings.setdefault(room.building, []).append(figures)
    rows += [_uptime_row("building", building or "(no building)", (building, "", ""),
                         fleet_uptime(figures), kinds)
             for building, figures in sorted(buildings.items())]
    rows += [_uptime_row("room", room.name, (room.building, room.floor, room.room_id), figures,
                         kinds) for room, figures in report.rooms]
    return rows


def uptime_document(report: UptimeReport) -> dict[str, Any]:
    span = report.range
    return {"report": "uptime", "from": span.iso(span.start_ns), "to": span.iso(span.end_ns),
            "timezone": span.zone_name, "now": span.iso(report.now_ns),
            "rooms": len(report.rooms), "columns": uptime_columns(report),
            "rows": uptime_rows(report)}
