"""Points and their InfluxDB line-protocol encoding.

Kept free of I/O so the mapping from events to points can be tested by
looking at the points themselves. Encoding follows the InfluxDB 1.x line
protocol reference: measurement escapes comma and space; tag keys and values
escape comma, equals and space; string fields are double-quoted with quote and
backslash escaped; integers carry an ``i`` suffix.
"""

from __future__ import annotations

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
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"InfluxDB cannot store {value!r}")
        return repr(value)
    return '"' + value.translate(_STRING_ESCAPES) + '"'


def encode_point(point: Point) -> str:
    head = point.measurement.translate(_MEASUREMENT_ESCAPES)
    tags = "".join(
        f",{key.translate(_TAG_ESCAPES)}={value.translate(_TAG_ESCAPES)}"
        for key, value in sorted(point.tags.items())
        if value
    )
    body = ",".join(
        f"{key.translate(_TAG_ESCAPES)}={encode_field(value)}"
        for key, value in point.fields.items()
    )
    return f"{head}{tags} {body} {point.time_ns}"


def encode_lines(points: Iterable[Point]) -> bytes:
    return "\n".join(encode_point(point) for point in points).encode("utf-8")


def influxql_string(value: str) -> str:
    """Quote a tag value for an InfluxQL WHERE clause."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def influxql_ident(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
