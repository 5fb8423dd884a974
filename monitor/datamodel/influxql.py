"""InfluxQL text: quoting, and the per-room table shape every reader of the data asks for.

The rules, the status page and the reports all read per-room rows from the
same measurements; the quoting and the flat per-room select live here, beside
the names of what they query, so that they are written once.
"""

from __future__ import annotations

from monitor.core.timeutil import NS_PER_S

ROOM_TAGS = ("room_id", "room_name", "building", "floor")


def influxql_string(value: str) -> str:
    """Quote a tag value for an InfluxQL WHERE clause."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def influxql_ident(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def idents(names: tuple[str, ...]) -> str:
    return ", ".join(influxql_ident(name) for name in names)


def flat_select(inner: str, columns: tuple[str, ...]) -> str:
    """One table with a row per room instead of a series per room.

    InfluxDB 1.x answers ``GROUP BY`` tags with one series per room; at 10,000
    rooms that JSON is most of the cost. Selecting the group's tags as columns
    from a subquery gives the same values in one series, about twice as fast.
    """
    return f"SELECT {', '.join(influxql_ident(c) for c in columns)} FROM ({inner})"


def time_bounds(at_ns: int, lookback_s: float) -> list[str]:
    """``(at - lookback, at]``: explicit bounds, so the past can be evaluated too."""
    return [f"time > {at_ns - int(lookback_s * NS_PER_S)}", f"time <= {at_ns}"]
