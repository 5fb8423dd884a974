"""Points and their InfluxDB line-protocol encoding.

Kept free of I/O so the mapping from events to points can be tested by
looking at the points themselves. Encoding follows the InfluxDB 1.x line
protocol reference: measurement escapes comma and space; tag keys and values
escape comma, equals and space; string fields are double-quoted with quote and
backslash escaped; integers carry an ``i`` suffix.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

FieldValue = float | int | bool | str


@dataclass(frozen=True)
class Point:
    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, FieldValue]
    time_ns: int


@dataclass(frozen=True)
class Delete:
    """Remove one point: an incident whose start moved earlier leaves a stale row."""

    measurement: str
    tags: Mapping[str, str]
    time_ns: int


@dataclass
class Batch:
    """What one event produces: points to write and points to delete."""

    points: list[Point] = field(default_factory=list)
    deletes: list[Delete] = field(default_factory=list)

    def extend(self, other: Batch) -> None:
        self.points.extend(other.points)
        self.deletes.extend(other.deletes)


_MEASUREMENT_ESCAPES = str.maketrans({",": r"\,", " ": r"\ ", "\n": " ", "\r": " "})
_TAG_ESCAPES = str.maketrans(
    {",": r"\,", "=": r"\=", " ": r"\ ", "\n": " ", "\r": " ", "\\": "\\\\"}
)
_STRING_ESCAPES = str.maketrans({'"': r"\"", "\\": "\\\\", "\n": "\\n"})


def clean_tags(tags: Mapping[str, object]) -> dict[str, str]:
    """Drop empty or missing values: line protocol cannot carry an empty tag."""
    out: dict[str, str] = {}
    for key, value in tags.items():
        if value is None:
            continue
        text = str(value).strip()
        if text:
            out[key] = text
    return out


def encode_field(value: FieldValue) -> str:
    if type(value) is float:  # the common case first: every reading
        if not math.isfinite(value):
            raise ValueError(f"InfluxDB cannot store {value!r}")
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"InfluxDB cannot store {value!r}")
        return repr(value)
    return '"' + value.translate(_STRING_ESCAPES) + '"'


@functools.lru_cache(maxsize=1024)
def _field_key(key: str) -> str:
    return key.translate(_TAG_ESCAPES)


def series_key(measurement: str, tags: Mapping[str, str]) -> str:
    """``measurement,tag=value,…`` with tags sorted, as InfluxDB recommends for speed."""
    head = measurement.translate(_MEASUREMENT_ESCAPES)
    return head + "".join(
        f",{key.translate(_TAG_ESCAPES)}={value.translate(_TAG_ESCAPES)}"
        for key, value in sorted(tags.items())
        if value
    )


def encode_point(point: Point, series: str | None = None) -> str:
    body = ",".join(
        f"{_field_key(key)}={encode_field(value)}" for key, value in point.fields.items()
    )
    head = series_key(point.measurement, point.tags) if series is None else series
    return f"{head} {body} {point.time_ns}"


class LineEncoder:
    """Encodes points, remembering each series' escaped key.

    The writer sends the same few series (room x sensor) over and over; escaping
    and sorting their tags once instead of per point halves the writer's CPU.
    """

    def __init__(self, max_series: int = 200_000) -> None:
        self.max_series = max_series
        self._series: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}

    def encode(self, points: Iterable[Point]) -> bytes:
        cache = self._series
        lines = []
        for point in points:
            key = (point.measurement, tuple(point.tags.items()))
            series = cache.get(key)
            if series is None:
                if len(cache) >= self.max_series:
                    cache.clear()
                series = cache[key] = series_key(point.measurement, point.tags)
            lines.append(encode_point(point, series))
        return "\n".join(lines).encode("utf-8")


def encode_lines(points: Iterable[Point]) -> bytes:
    return "\n".join(encode_point(point) for point in points).encode("utf-8")
