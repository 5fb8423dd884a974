"""The air-quality report from InfluxDB: every aggregate computed by the server.

All queries read the hourly rollup ``"rollup"."sensor_1h"`` (docs/retention.md)
and aggregate over all rooms at once with ``GROUP BY "room_id"`` (or floor,
building): per sensor type one statistics query, one count per guidance line
and kind of time, and one p95 per grouping level — a few dozen queries
whatever the number of rooms or days. Only rooms with check-ins in the range
fetch hourly rows, to merge checked-in hours into their occupied time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from monitor.core.timeutil import NS_PER_MS, NS_PER_S
from monitor.datamodel.influxql import influxql_ident, influxql_string
from monitor.datamodel.measurements import CHECKED_IN_EVENT, CHECKED_OUT_EVENT, ZOOM_EVENT
from monitor.reports.airmaths import (
    HourRow,
    Stats,
    checkin_intervals,
    hours_touched,
    merge,
    occupied_from_hours,
    worst_first_key,
    worst_share,
)
from monitor.reports.guidance import GuidanceLine
from monitor.reports.rooms import Room, room_labels
from monitor.reports.timerange import TimeRange
from monitor.store.influx import InfluxClient, Series

ROLLUP = '"rollup"."sensor_1h"'
DAILY = '"rollup"."sensor_1d"'
DAY_NS = 86400 * NS_PER_S
CHECKIN_MAX_NS = 4 * 3600 * NS_PER_S       # a check-in without check-out lasts at most 4 h
EXCLUDED_SENSORS = frozenset({"REAL_TIME_PEOPLE_COUNT"})    # occupancy, not air
WORKERS = 2      # measured: InfluxDB already spreads one query over both cores
LEVELS: dict[str, tuple[str, ...]] = {"floor": ("building", "floor"), "building": ("building",),
                                      "fleet": ()}


@dataclass
class Subject:
    """A room, floor, building or the fleet: per sensor, (all hours, occupied hours)."""

    name: str
    building: str = ""
    floor: str = ""
    room_id: str = ""
    sensors: dict[str, tuple[Stats, Stats]] = field(default_factory=dict)
    worst: float | None = None


@dataclass
class AirReport:
    range: TimeRange
    hours: int
    lines: list[GuidanceLine]
    sensors: list[str]
    rooms: list[Subject]
    floors: list[Subject]
    buildings: list[Subject]
    fleet: Subject
    checkin_rooms: int = 0


Progress = Callable[[int], None]


def _where(sensor: str, span: TimeRange, *extra: str) -> str:
    parts = [f'"sensor_type" = {influxql_string(sensor)}', *(e for e in extra if e),
             f"time >= {span.start_ns} AND time < {span.end_ns}"]
    return " AND ".join(parts)


def building_filter(building: str | None) -> str:
    return f'"building" = {influxql_string(building)}' if building else ""


def stats_query(sensor: str, span: TimeRange, where: str = "") -> str:
    """Sums, maxima and coverage per room: from the daily rollup when the range is whole days.

    The daily rollup counts its hours, so both give the same numbers; reading it
    is 24 times fewer points (90 days x 200 rooms: 18,000 instead of 432,000 per
    sensor type). A range that does not start and end at midnight UTC reads the
    hourly rollup.
    """
    if span.start_ns % DAY_NS == 0 and span.end_ns % DAY_NS == 0:
        return ('SELECT sum("sum") AS "total", sum("count") AS "count", max("max") AS "max", '
                'sum("hours") AS "covered", sum("occupied_sum") AS "o_total", '
                'sum("occupied_count") AS "o_count", max("occupied_max") AS "o_max", '
                f'sum("occupied_hours") AS "o_hours" FROM {DAILY} '
                f'WHERE {_where(sensor, span, where)} GROUP BY "room_id"')
    return ('SELECT sum("sum") AS "total", sum("count") AS "count", max("max") AS "max", '
            'count("mean") AS "covered", '
            'sum("occupied_sum") AS "o_total", sum("occupied_count") AS "o_count", '
            'max("occupied_max") AS "o_max", '
            f'count("occupied_mean") AS "o_hours" FROM {ROLLUP} '
            f'WHERE {_where(sensor, span, where)} GROUP BY "room_id"')


def within_query(line: GuidanceLine, span: TimeRange, field_name: str, where: str = "") -> str:
    condition = _where(line.sensor, span, where, line.condition(field_name))
    return (f'SELECT count("{field_name}") AS "within" FROM {ROLLUP} '
            f'WHERE {condition} GROUP BY "room_id"')


def p95_query(sensor: str, span: TimeRange, tags: tuple[str, ...], where: str = "") -> str:
    """p95 of hourly means per group (``tags``); always the hourly rollup."""
    group = f" GROUP BY {', '.join(f'{chr(34)}{t}{chr(34)}' for t in tags)}" if tags else ""
    return ('SELECT percentile("mean", 95) AS "p95", percentile("occupied_mean", 95) AS "o_p95" '
            f"FROM {ROLLUP} WHERE {_where(sensor, span, where)}{group}")


def hourly_query(sensor: str, span: TimeRange, room_ids: Iterable[str]) -> str:
    rooms = " OR ".join(f'"room_id" = {influxql_string(r)}' for r in sorted(room_ids))
    return ('SELECT "mean", "sum", "count", "max", "occupied_mean", "occupied_sum", '
            f'"occupied_count", "occupied_max" FROM {ROLLUP} '
            f'WHERE {_where(sensor, span, f"({rooms})")} GROUP BY "room_id"')


def checkin_query(span: TimeRange) -> str:
    return (f'SELECT "title", "event" FROM {influxql_ident(ZOOM_EVENT)} '
            f'WHERE ("event" = {influxql_string(CHECKED_IN_EVENT)} '
            f'OR "event" = {influxql_string(CHECKED_OUT_EVENT)}) '
            f"AND time >= {span.start_ns - CHECKIN_MAX_NS} AND time < {span.end_ns} "
            'GROUP BY "room_id"')


def sensor_types(client: InfluxClient) -> list[str]:
    series = client.query(f'SHOW TAG VALUES FROM {ROLLUP} WITH KEY = "sensor_type"', epoch=None)
    found = {row["value"] for s in series for row in s.rows()}
    return sorted(found - EXCLUDED_SENSORS)


def _by_room(series: list[Series]) -> dict[str, dict[str, Any]]:
    return {s.tags.get("room_id", ""): s.rows()[0] for s in series if s.values}


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


def _room_stats(row: dict[str, Any] | None, p95: dict[str, Any] | None,
                hours: int) -> tuple[Stats, Stats]:
    row, p95 = row or {}, p95 or {}
    every = Stats(hours=hours, covered=_int(row.get("covered")), total=row.get("total") or 0.0,
                  count=_int(row.get("count")), max=row.get("max"), p95=p95.get("p95"))
    occupied_hours = _int(row.get("o_hours"))
    occupied = Stats(hours=occupied_hours, covered=occupied_hours,
                     total=row.get("o_total") or 0.0, count=_int(row.get("o_count")),
                     max=row.get("o_max"), p95=p95.get("o_p95"))
    return every, occupied


class _Runner:
    """Runs queries a few at a time (InfluxDB uses both cores), ticking a progress bar."""

    def __init__(self, client: InfluxClient, progress: Progress | None) -> None:
        self.client = client
        self.progress = progress

    def run(self, queries: dict[Any, str]) -> dict[Any, list[Series]]:
        def one(query: str) -> list[Series]:
            result = self.client.query(query)
            if self.progress is not None:
                self.progress(1)
            return result

        with ThreadPoolExecutor(WORKERS) as pool:
            results = list(pool.map(one, queries.values()))
        return dict(zip(queries, results, strict=True))


def plan_queries(sensors: list[str], lines: list[GuidanceLine], span: TimeRange,
                 where: str = "", *, group_p95: bool = False) -> dict[Any, str]:
    """Every aggregate query of one report, keyed by what it answers.

    ``percentile()`` is the one aggregate InfluxDB 1.x cannot push down (about a
    second per sensor type over 90 days of 200 rooms, against 0.2 s for a count),
    and percentiles do not add up, so floor/building/fleet p95s cost three more
    percentile passes per sensor: they are opt-in (``--group-p95``).
    """
    queries: dict[Any, str] = {}
    for sensor in sensors:
        queries[("stats", sensor)] = stats_query(sensor, span, where)
        queries[("p95", sensor, "room")] = p95_query(sensor, span, ("room_id",), where)
        for level, tags in LEVELS.items() if group_p95 else ():
            queries[("p95", sensor, level)] = p95_query(sensor, span, tags, where)
    for line in lines:
        if line.sensor in sensors:
            for kind, field_name in (("all", "mean"), ("occupied", "occupied_mean")):
                queries[("within", line.key, kind)] = within_query(line, span, field_name,
                                                                   where)
    return queries


def checked_in_hours(client: InfluxClient, span: TimeRange) -> dict[str, set[int]]:
    """Room → starts of the hours of ``span`` in which it was checked in."""
    out: dict[str, set[int]] = {}
    for series in client.query(checkin_query(span)):
        events = [(row["time"] * NS_PER_MS, row["event"] == "zoomroom.checked_in")
                  for row in series.rows()]
        hours = hours_touched(checkin_intervals(events, span.end_ns, CHECKIN_MAX_NS),
                              span.start_ns, span.end_ns)
        if hours:
            out[series.tags.get("room_id", "")] = hours
    return out


def _hour_rows(series: Series) -> list[HourRow]:
    """Column positions, not a dict per row: a checked-in room has thousands of hours."""
    at = {name: i for i, name in enumerate(series.columns)}
    t, mean, total, count, top = at["time"], at["mean"], at["sum"], at["count"], at["max"]
    o_mean, o_sum, o_count = at["occupied_mean"], at["occupied_sum"], at["occupied_count"]
    o_max = at["occupied_max"]
    return [HourRow(row[t] * NS_PER_MS, row[mean], row[total], _int(row[count]), row[top],
                    row[o_mean], row[o_sum], _int(row[o_count]), row[o_max])
            for row in series.values]


def air_quality(client: InfluxClient, requested: TimeRange, lines: list[GuidanceLine], *,
                building: str | None = None, group_p95: bool = False,
                progress_total: Callable[[int], None] | None = None,
                progress: Progress | None = None) -> AirReport:
    """The whole report for ``requested`` (widened to whole hours), optionally one building."""
    span = requested.hours()
    hours = span.hour_count
    sensors = sensor_types(client)
    queries = plan_queries(sensors, lines, span, building_filter(building), group_p95=group_p95)
    checked = checked_in_hours(client, span)
    for sensor in sensors if checked else []:
        queries[("hourly", sensor)] = hourly_query(sensor, span, checked)
    if progress_total is not None:
        progress_total(len(queries) + 1)
    results = _Runner(client, progress).run(queries)
    labels = room_labels(client, span)
    if progress is not None:
        progress(1)
    per_room = _rooms(results, sensors, lines, hours=hours, checked=checked, labels=labels)
    report = AirReport(span, hours, lines, sensors, [], [], [], Subject("Fleet"), len(checked))
    return _assemble(report, per_room, results)


def _rooms(results: dict[Any, list[Series]], sensors: list[str], lines: list[GuidanceLine],
           *, hours: int, checked: dict[str, set[int]],
           labels: dict[str, Room]) -> dict[str, Subject]:
    rooms: dict[str, Subject] = {}
    within = {key[1:]: _by_room(found) for key, found in results.items() if key[0] == "within"}
    for sensor in sensors:
        stats = _by_room(results[("stats", sensor)])
        p95s = _by_room(results.get(("p95", sensor, "room"), []))
        hourly = {s.tags.get("room_id", ""): _hour_rows(s)
                  for s in results.get(("hourly", sensor), [])}
        sensor_lines = [line for line in lines if line.sensor == sensor]
        for room_id, row in stats.items():
            label = labels.get(room_id, Room(room_id, room_id))
            subject = rooms.setdefault(room_id, Subject(label.name, label.building,
                                                        label.floor, room_id))
            every, occupied = _room_stats(row, p95s.get(room_id), hours)
            for line in sensor_lines:
                every.within[line.key] = _within(within, line.key, "all", room_id)
                occupied.within[line.key] = _within(within, line.key, "occupied", room_id)
            if room_id in checked:
                occupied = occupied_from_hours(hourly.get(room_id, []), checked[room_id],
                                               {line.key: line for line in sensor_lines})
            subject.sensors[sensor] = (every, occupied)
    line_sensor = {line.key: line.sensor for line in lines}
    for subject in rooms.values():
        subject.worst = worst_share(subject.sensors, line_sensor)
    return rooms


def _within(within: dict[Any, dict[str, dict[str, Any]]], key: str, kind: str,
            room_id: str) -> int:
    row = within.get((key, kind), {}).get(room_id)
    return _int(row.get("within")) if row else 0


def _group_p95(results: dict[Any, list[Series]], sensor: str, level: str,
               tags: tuple[str, ...]) -> dict[tuple[str, ...], tuple[Any, Any]]:
    out = {}
    for series in results.get(("p95", sensor, level), []):
        row = series.rows()[0]
        out[tuple(series.tags.get(t, "") for t in tags)] = (row.get("p95"), row.get("o_p95"))
    return out


def _assemble(report: AirReport, rooms: dict[str, Subject],
              results: dict[Any, list[Series]]) -> AirReport:
    """Floors, buildings and the fleet from their rooms; everything worst first."""
    line_sensor = {line.key: line.sensor for line in report.lines}
    groups: dict[str, list[Subject]] = {}
    for level, tags in LEVELS.items():
        members: dict[tuple[str, ...], list[Subject]] = defaultdict(list)
        for room in rooms.values():
            members[tuple(getattr(room, t) for t in tags)].append(room)
        out = []
        for key, subjects in members.items():
            building, floor = (*key, "", "")[:2]
            group = Subject(_group_name(level, key), building, floor)
            for sensor in report.sensors:
                p95, o_p95 = _group_p95(results, sensor, level, tags).get(key, (None, None))
                parts = [s.sensors[sensor] for s in subjects if sensor in s.sensors]
                if parts:
                    group.sensors[sensor] = (merge((p[0] for p in parts), p95),
                                             merge((p[1] for p in parts), o_p95))
            group.worst = worst_share(group.sensors, line_sensor)
            out.append(group)
        groups[level] = sorted(out, key=lambda g: worst_first_key(g.worst, g.name))
    report.rooms = sorted(rooms.values(), key=lambda r: worst_first_key(r.worst, r.name))
    report.floors, report.buildings = groups["floor"], groups["building"]
    if groups["fleet"]:
        report.fleet = groups["fleet"][0]
    return report


def _group_name(level: str, key: tuple[str, ...]) -> str:
    if level == "fleet":
        return "Fleet"
    parts = [part or "(no building)" if i == 0 else part or "(no floor)"
             for i, part in enumerate(key)]
    return " / ".join(parts)
