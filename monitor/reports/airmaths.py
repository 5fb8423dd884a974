"""The air-quality report's arithmetic, free of I/O.

The unit of time is the hour of the hourly rollup (``"rollup"."sensor_1h"``):
an hour is *covered* when it has a reading, *within* a guidance line when its
mean is, and *occupied* when a reading in it had ``people > 0`` or the room
was checked in during it. Shares are hours within / hours considered, where
the hours considered are all hours of the range (or all occupied hours), so
an hour without data is never counted as compliant; coverage says how many
of them had data at all. Means are exact over readings (Σ sum / Σ count).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

HOUR_NS = 3_600_000_000_000


def nearest_rank(values: Sequence[float], percentile: float) -> float | None:
    """InfluxDB 1.x's ``percentile()``: the sorted value at ⌊n·p/100 + 0.5⌋ (1-based).

    The report takes room p95s from InfluxDB and computes a few in Python; both
    must give the same number for the same hours.
    """
    index = math.floor(len(values) * percentile / 100.0 + 0.5) - 1
    if index < 0 or index >= len(values):
        return None
    return sorted(values)[index]


@dataclass
class Stats:
    """One sensor for one room, floor, building or the fleet: all hours, or occupied hours."""

    hours: int = 0                 # hours considered: of the range, or occupied ones
    covered: int = 0               # of those, hours with at least one reading
    total: float = 0.0             # Σ readings
    count: int = 0                 # number of readings
    max: float | None = None
    p95: float | None = None       # of hourly means (InfluxDB's percentile)
    within: dict[str, int] = field(default_factory=dict)    # guidance key → hours within

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    @property
    def coverage(self) -> float | None:
        return self.covered / self.hours if self.hours else None

    def share(self, key: str) -> float | None:
        """Hours within guidance over hours considered; missing hours count against."""
        return self.within.get(key, 0) / self.hours if self.hours else None


def merge(parts: Iterable[Stats], p95: float | None) -> Stats:
    """Floor, building and fleet figures: sums of their rooms; p95 comes from InfluxDB."""
    out = Stats(p95=p95)
    for part in parts:
        out.hours += part.hours
        out.covered += part.covered
        out.total += part.total
        out.count += part.count
        if part.max is not None:
            out.max = part.max if out.max is None else max(out.max, part.max)
        for key, hours in part.within.items():
            out.within[key] = out.within.get(key, 0) + hours
    return out


@dataclass(frozen=True)
class HourRow:
    """One hour of one room's sensor from the hourly rollup (occupied_* None when absent)."""

    hour_ns: int
    mean: float | None
    sum: float | None
    count: int
    max: float | None
    occupied_mean: float | None = None
    occupied_sum: float | None = None
    occupied_count: int = 0
    occupied_max: float | None = None


class WithinTest(Protocol):
    """What :func:`occupied_from_hours` needs of a guidance line (see ``guidance.py``)."""

    def within(self, value: float) -> bool: ...


def occupied_from_hours(rows: Iterable[HourRow], checked_in: set[int],
                        lines: Mapping[str, WithinTest]) -> Stats:
    """Occupied-time stats of one room and sensor: people hours plus checked-in hours.

    An hour with occupied readings contributes those readings; a checked-in
    hour without any contributes all its readings (nobody was counted, but
    the room was in use); a checked-in hour without readings counts as
    occupied and not within guidance.
    """
    by_hour = {row.hour_ns: row for row in rows}
    hours = {h for h, row in by_hour.items() if row.occupied_count} | checked_in
    out, values = Stats(hours=len(hours)), []
    for hour in hours:
        row = by_hour.get(hour)
        if row is None:
            continue
        if row.occupied_count:
            value, total, count, top = (row.occupied_mean, row.occupied_sum,
                                        row.occupied_count, row.occupied_max)
        else:
            value, total, count, top = row.mean, row.sum, row.count, row.max
        if value is None or not count:
            continue
        out.covered += 1
        out.total += total or 0.0
        out.count += count
        if top is not None:
            out.max = top if out.max is None else max(out.max, top)
        values.append(value)
        for key, line in lines.items():
            if line.within(value):
                out.within[key] = out.within.get(key, 0) + 1
    out.p95 = nearest_rank(values, 95)
    return out


def checkin_intervals(events: Iterable[tuple[int, bool]], end_ns: int,
                      max_ns: int) -> list[tuple[int, int]]:
    """Pair one room's check-ins (True) and check-outs (False), given in time order.

    A check-in lasts until the next check-out; one without a check-out ends at
    the next check-in, after ``max_ns`` (a forgotten check-out must not make a
    room occupied for weeks), or at ``end_ns``, whichever comes first.
    """
    out: list[tuple[int, int]] = []
    opened: int | None = None
    for at, checked_in in events:
        if opened is not None:
            out.append((opened, min(at, opened + max_ns)))
            opened = None
        if checked_in:
            opened = at
    if opened is not None:
        out.append((opened, min(end_ns, opened + max_ns)))
    return [(start, end) for start, end in out if end > start]


def hours_touched(intervals: Iterable[tuple[int, int]], start_ns: int, end_ns: int) -> set[int]:
    """Starts of the hours of ``[start, end)`` that overlap any interval."""
    hours: set[int] = set()
    for first, last in intervals:
        low, high = max(first, start_ns), min(last, end_ns)
        if low >= high:
            continue
        hour = low // HOUR_NS * HOUR_NS
        while hour < high:
            hours.add(hour)
            hour += HOUR_NS
    return hours


def worst_share(sensors: Mapping[str, tuple[Stats, Stats]],
                line_sensor: Mapping[str, str]) -> float | None:
    """A room's worst share within guidance: occupied time where it has any, else all hours.

    Rooms are listed by this, lowest first: the room whose air was worst for
    the longest (or which we cannot show was fine) comes first.
    """
    worst: float | None = None
    for key, sensor in line_sensor.items():
        if sensor not in sensors:
            continue
        all_hours, occupied = sensors[sensor]
        share = occupied.share(key) if occupied.hours else all_hours.share(key)
        if share is not None and (worst is None or share < worst):
            worst = share
    return worst


def worst_first_key(share: float | None, name: str) -> tuple[float, str]:
    """Sort key: lowest share first; rooms without any guidance data last, then by name."""
    return (share if share is not None else math.inf, name.casefold())
