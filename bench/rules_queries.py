"""Each rule's query on its own, and the least any evaluator must pay InfluxDB.

:func:`standalone_queries` runs every rule's query (``build_query(rule,
at_ns)``) ``--query-repeats`` times through the public client, then once more
raw (no JSON parse) to see the response size and the server time.
:func:`database_floor` times passes of bare ``count("value")`` queries over
the same series and windows as the rules (no grouping, no rows): no evaluator
can do less, so its 1k -> 10k ratio bounds the cycle's.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import TYPE_CHECKING, Any

import urllib3

from monitor.datamodel.influxql import influxql_ident, influxql_string, time_bounds
from monitor.datamodel.measurements import SENSOR
from monitor.store.influx import InfluxClient, Series

if TYPE_CHECKING:
    from monitor.rules.model import Group, Rule


def standalone_queries(influx: InfluxClient, groups: list[Group], at_ns: int,
                       repeats: int) -> dict[str, Any]:
    """Each rule's query on its own: public client (parsed), then raw bytes (server + transfer)."""
    from monitor.rules.query import build_query

    http = urllib3.PoolManager(maxsize=1, retries=False)
    out: dict[str, Any] = {}
    for group in groups:
        for rule in group.rules:
            q = build_query(rule, at_ns)
            times = []
            series: list[Series] = []
            error = None
            for _ in range(repeats):
                started = time.perf_counter()
                try:
                    series = influx.query(q)
                except Exception as exc:
                    error = str(exc)
                    break
                times.append(time.perf_counter() - started)
            started = time.perf_counter()
            raw = http.request("GET", f"{influx.base_url}/query",
                               fields={"db": influx.database, "q": q, "epoch": "ms"},
                               timeout=urllib3.Timeout(connect=3.0, read=300.0))
            raw_s = time.perf_counter() - started
            started = time.perf_counter()
            json.loads(raw.data)
            json_s = time.perf_counter() - started
            entry: dict[str, Any] = {
                "kind": rule.kind, "window_s": rule.window_s,
                "min_s": round(min(times), 4) if times else None,
                "median_s": round(statistics.median(times), 4) if times else None,
                "raw_fetch_s": round(raw_s, 4), "json_loads_s": round(json_s, 4),
                "response_bytes": len(raw.data), "series": len(series),
                "query": q,
            }
            if error:
                entry["error"] = error
            out[rule.id] = entry
    http.clear()
    return out


def floor_query(rule: Rule, at_ns: int) -> str:
    """The cheapest query over the same series and window as the rule's: a bare count.

    No grouping, no per-room rows: what InfluxDB must spend just to open every
    room's series for the window.
    """
    from monitor.rules.query import SILENT_LOOKBACK_S, build_query, tag_filters

    if rule.kind == "incident":
        return build_query(rule, at_ns)
    lookback = SILENT_LOOKBACK_S if rule.kind == "no_data" else rule.window_s
    where = [f'"sensor_type" = {influxql_string(rule.sensor or "")}', *tag_filters(rule),
             *time_bounds(at_ns, lookback)]
    return f'SELECT count("value") FROM {influxql_ident(SENSOR)} WHERE {" AND ".join(where)}'


def database_floor(influx: InfluxClient, groups: list[Group], at_ns: int,
                   repeats: int) -> dict[str, Any]:
    """Seconds for one pass of every rule's floor query, one after the other (median)."""
    queries = [floor_query(rule, at_ns) for group in groups for rule in group.rules]
    passes = []
    for _ in range(max(3, repeats)):
        started = time.perf_counter()
        for q in queries:
            influx.query(q)
        passes.append(time.perf_counter() - started)
    return {"median_s": round(statistics.median(passes), 4), "min_s": round(min(passes), 4),
            "queries": len(queries)}
