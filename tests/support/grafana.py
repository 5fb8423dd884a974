"""What Grafana does to a dashboard's InfluxQL before InfluxDB sees it — enough to run it.

Grafana cannot run here, so the tests do its part by hand, following its
InfluxDB data source (public/app/plugins/datasource/influxdb/datasource.ts,
pkg/tsdb/influxdb/models/query.go):

1. the front end replaces dashboard variables (``$x``, ``${x}``, ``${x:fmt}``,
   ``[[x]]``) and ``${__from}``/``${__to}``; raw InfluxQL uses the ``regex``
   format: values regex-escaped, several as ``(a|b)``, "All" as the
   variable's custom all value unformatted, or else as all its options;
2. the back end replaces ``$timeFilter`` (``time >= <from>ms and time <=
   <to>ms``), ``$interval``, ``$__interval_ms`` and ``$__interval`` (the
   rounded interval, formatted like Go's gtime.FormatInterval).

Variables are resolved the way a dashboard load does: in order, each query
variable's own query interpolated with the ones before it and run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]
ALL = "$__all"
VARIABLE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]"
                      r"|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}")
LEFTOVER = re.compile(r"\$\w|\$\{|\[\[")
_REGEX_SPECIAL = re.compile(r"[\\^$*+?.()|\[\]{}/]")
# Grafana's interval ladder (rangeutil.roundInterval): (below ms, rounded ms).
_LADDER = ((10, 1), (15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500),
           (1500, 1000), (3500, 2000), (7500, 5000), (12500, 10000), (17500, 15000),
           (25000, 20000), (45000, 30000), (90000, 60000), (210000, 120000),
           (450000, 300000), (750000, 600000), (1050000, 900000), (1500000, 1200000),
           (2700000, 1800000), (5400000, 3600000), (9000000, 7200000),
           (16200000, 10800000), (32400000, 21600000), (86400000, 43200000),
           (604800000, 86400000), (1814400000, 604800000), (3628800000, 2592000000))


@dataclass(frozen=True)
class TimeRange:
    from_ms: int
    to_ms: int


@dataclass(frozen=True)
class Query:
    where: str           # "panel 'Rooms' A", "variable room", "annotation 'Zoom events'"
    text: str
    datasource: Json


@dataclass(frozen=True)
class Choice:
    """A variable's resolved state: its options and what is selected."""

    model: Json
    options: tuple[str, ...]
    selected: tuple[str, ...] | None       # None: "All"


def regex_escape(value: str) -> str:
    return _REGEX_SPECIAL.sub(lambda m: "\\" + m.group(0), value)


def round_interval(ms: float) -> int:
    return next((rounded for below, rounded in _LADDER if ms < below), 31536000000)


def format_interval(ms: int) -> str:
    for unit, size in (("y", 31536000000), ("d", 86400000), ("h", 3600000), ("m", 60000),
                       ("s", 1000), ("ms", 1)):
        if ms >= size:
            return f"{ms // size}{unit}"
    return "1ms"


def interval_ms(span: TimeRange, max_data_points: int = 1000) -> int:
    return round_interval((span.to_ms - span.from_ms) / max_data_points)


# ---------------------------------------------------------------- collecting

def all_panels(board: Json) -> Iterator[Json]:
    """Top-level panels and those inside (collapsed) rows."""
    for panel in board.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def queries(board: Json) -> list[Query]:
    found = []
    for panel in all_panels(board):
        for target in panel.get("targets", []):
            if not target.get("hide"):
                found.append(Query(f"panel {panel['title']!r} {target['refId']}",
                                   target["query"], target.get("datasource") or {}))
    for variable in board.get("templating", {}).get("list", []):
        if variable["type"] == "query":
            found.append(Query(f"variable {variable['name']}", variable["query"],
                               variable.get("datasource") or {}))
    for annotation in board.get("annotations", {}).get("list", []):
        found.append(Query(f"annotation {annotation['name']!r}", annotation["target"]["query"],
                           annotation.get("datasource") or {}))
    return found


def custom_options(variable: Json) -> list[tuple[str, str]]:
    """A custom variable's ``text : value`` list, split as Grafana splits it."""
    out = []
    for raw in re.findall(r"(?:\\,|[^,])+", variable["query"]):
        item = raw.replace("\\,", ",")
        pair = re.fullmatch(r"(.+)\s:\s(.+)", item)
        out.append((pair.group(1).strip(), pair.group(2).strip()) if pair
                   else (item.strip(), item.strip()))
    return out


# ---------------------------------------------------------------- interpolation

def _format(choice: Choice, fmt: str | None) -> str:
    if choice.selected is None:
        custom_all = choice.model.get("allValue")
        if custom_all:
            return str(custom_all)        # never formatted (templateSrv)
        values: Sequence[str] = choice.options
    else:
        values = choice.selected
    if fmt == "raw":
        return ",".join(values)
    escaped = [regex_escape(value) for value in values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def frontend(query: str, choices: Mapping[str, Choice], span: TimeRange) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        fmt = match.group(3) or match.group(6)
        if name == "__from":
            return str(span.from_ms)
        if name == "__to":
            return str(span.to_ms)
        if name in choices:
            return _format(choices[name], fmt)
        return match.group(0)             # $timeFilter, $__interval: the back end's

    return VARIABLE.sub(replace, query)


def backend(query: str, span: TimeRange, interval: int) -> str:
    text = format_interval(interval)
    query = query.replace("$timeFilter", f"time >= {span.from_ms}ms and time <= {span.to_ms}ms")
    query = query.replace("$interval", text)
    query = query.replace("$__interval_ms", str(interval))
    return query.replace("$__interval", text)


def interpolate(query: str, choices: Mapping[str, Choice], span: TimeRange) -> str:
    done = backend(frontend(query, choices, span), span, interval_ms(span))
    if LEFTOVER.search(done):
        raise AssertionError(f"undefined variable left in {done!r}")
    return done


# ---------------------------------------------------------------- variables

Run = Callable[[str], list[list[Any]]]      # InfluxQL → rows


def resolve(board: Json, run_values: Callable[[str], list[str]], span: TimeRange,
            pick: Mapping[str, Sequence[str]]) -> dict[str, Choice]:
    """Every variable in dashboard order: options from its query, selection from ``pick``,
    else its saved current value ("All" stays "All"), else the first option."""
    choices: dict[str, Choice] = {}
    for variable in board.get("templating", {}).get("list", []):
        name = variable["name"]
        if variable["type"] == "query":
            options = sorted(set(run_values(interpolate(variable["query"], choices, span))),
                             key=str.lower)
        elif variable["type"] == "custom":
            options = [value for _, value in custom_options(variable)]
        else:
            raise AssertionError(f"variable type {variable['type']} not simulated")
        choices[name] = Choice(variable, tuple(options), _selection(variable, options, pick))
    return choices


def _selection(variable: Json, options: Sequence[str],
               pick: Mapping[str, Sequence[str]]) -> tuple[str, ...] | None:
    name = variable["name"]
    if name in pick:
        wanted = tuple(pick[name])
        missing = [value for value in wanted if value not in options]
        if missing:
            raise AssertionError(f"variable {name}: {missing} not among its options {options}")
        return wanted
    current = (variable.get("current") or {}).get("value")
    if current in (ALL, [ALL]):
        return None
    if isinstance(current, str) and current in options:
        return (current,)
    if not options:
        raise AssertionError(f"variable {name} has no options")
    return (options[0],)
