"""Rule-evaluation benchmark: one cycle of the default rules against 1,000 and 10,000 rooms.

Not a test: it prints one JSON document on stdout (progress goes to stderr)
and exits 0 whatever the numbers are, unless ``--check`` is given, in which
case a missed target exits 1.

One private ``influxd`` (InfluxDB 1.x, :class:`monitor.store.influxd.LocalInfluxd`)
holds one database per size. Each database is seeded with N rooms x 9 sensors
x ``--hours`` of readings every ``--step`` seconds in ``sensor`` (tags
building -- 10 of them --, floor, room_id, room_name, sensor_type; field
``value``), written in batches of ``--batch`` lines, plus a few ``room_incident``
points (open and closed) as docs/data-model.md describes them. Values are
realistic and deterministic (``--seed``): most rooms are fine, and a few
percent breach each rule of rules/air-quality.yaml (stuffy, rising CO2, warm,
cold, dry, humid, dusty, VOC, a CO2 sensor gone silent 40 minutes before the
end), so the state machine and the templates get real work.

The evaluation time ``at_ns`` is the timestamp of the last reading. A cycle
is ``Evaluator.evaluate(group, at_ns)`` for every group of ``rules/`` (as
``zrmon serve`` would do for one tick of every group), timed with
``time.perf_counter``, ``--runs`` times with the same evaluator and state file:
the first run is cold (no state; every breaching room enters pending/firing
and its ``rule_state`` transition is written), the others are steady state.
Inside each cycle, each rule's query wall time (HTTP + JSON parse; the
evaluator runs ``Evaluator.concurrency`` queries at once, so these overlap) and
its Python time (samples, state machine, templates) are measured.
``database_floor_s`` times one pass of bare ``count("value")`` queries over the
same series and windows as the rules (no grouping, no rows): the least any
evaluator must pay InfluxDB, whose 1k -> 10k ratio bounds the cycle's. Separately, each rule's query
(``build_query(rule, at_ns)``) is run ``--query-repeats`` times on its own, and
once more raw (no JSON parse) to see the response size and the server time.

``targets``: ``cycle_10k_s<1`` (median cycle at 10,000 rooms under one
second) and ``ratio<=3`` (median cycle at 10,000 rooms at most three times
the one at 1,000). The median is over all runs, cold included (with 3 runs
that is the slower of the two steady ones unless the cold one is fastest).

Usage::

    .venv/bin/python bench/rules.py                          # 1,000 and 10,000 rooms
    .venv/bin/python bench/rules.py --sizes 1000 --runs 5
    .venv/bin/python bench/rules.py --check                  # exit 1 if a target is missed
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import urllib3

from monitor.core.config import Config
from monitor.store.influx import InfluxClient, Series
from monitor.store.influxd import LocalInfluxd

if TYPE_CHECKING:
    from monitor.rules.evaluate import GroupResult
    from monitor.rules.model import Group, Rule

REPO = Path(__file__).resolve().parent.parent
NS = 1_000_000_000
BUILDINGS = 10
FLOORS_PER_BUILDING = 8
SENSORS = ("CO2", "TEMPERATURE", "HUMIDITY", "VOC", "AQI", "PM25", "PM10", "AIR_PRESSURE",
           "REAL_TIME_PEOPLE_COUNT")
# Alert type -> (alert_name, component, component_name), docs/data-model.md.
INCIDENT_KINDS = {
    1: ("controller_or_display_disconnected", 2, "controller"),
    3: ("room_offline", 1, "zoom_rooms_computer"),
    4: ("high_cpu", 1, "zoom_rooms_computer"),
    6: ("low_battery", 2, "controller"),
    7: ("display_disconnected", 1, "zoom_rooms_computer"),
}
_TAG_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# ---------------------------------------------------------------- seeding

@dataclass
class Room:
    """One room's series key prefix and what is wrong with it, if anything."""

    index: int
    key: str                       # tags shared by every sensor of the room, escaped, sorted
    room_id: str
    room_name: str
    building: str
    floor: str
    base: dict[str, float]
    co2_ramp: float = 0.0          # ppm added linearly over the last 30 minutes
    co2_silent_s: int = 0          # no CO2 reading during the last n seconds
    faults: list[str] = field(default_factory=list)


def make_rooms(n: int, rng: random.Random) -> list[Room]:
    rooms = []
    for i in range(n):
        building = f"Building {chr(ord('A') + i % BUILDINGS)}"
        floor = f"Floor {(i // BUILDINGS) % FLOORS_PER_BUILDING + 1}"
        room_id = f"rm{i:06d}"
        room_name = f"Room {i:05d}"
        key = (f"building={_tag(building)},floor={_tag(floor)},room_id={room_id},"
               f"room_name={_tag(room_name)}")
        base = {
            "CO2": rng.uniform(450, 750), "TEMPERATURE": rng.uniform(21, 24),
            "HUMIDITY": rng.uniform(36, 54), "VOC": rng.uniform(80, 350),
            "AQI": rng.uniform(10, 50), "PM25": rng.uniform(3, 11),
            "PM10": rng.uniform(8, 30), "AIR_PRESSURE": rng.uniform(1000, 1025),
            "REAL_TIME_PEOPLE_COUNT": float(rng.randint(0, 8)),
        }
        room = Room(i, key, room_id, room_name, building, floor, base)
        _add_faults(room, rng)
        rooms.append(room)
    return rooms


def _add_faults(room: Room, rng: random.Random) -> None:
    """A few percent of rooms breach each air-quality rule (rules/air-quality.yaml)."""
    base = room.base
    roll = rng.random
    if roll() < 0.12:
        base["CO2"] = rng.uniform(850, 1700)
        room.faults.append("stuffy")
    if roll() < 0.05:
        room.co2_ramp = rng.uniform(350, 800)
        room.faults.append("co2_rising")
    if roll() < 0.04:
        base["TEMPERATURE"] = rng.uniform(28, 30)
        room.faults.append("warm")
    elif roll() < 0.03:
        base["TEMPERATURE"] = rng.uniform(16.5, 19)
        room.faults.append("cold")
    if roll() < 0.04:
        base["HUMIDITY"] = rng.uniform(20, 28)
        room.faults.append("dry")
    elif roll() < 0.03:
        base["HUMIDITY"] = rng.uniform(62, 72)
        room.faults.append("humid")
    if roll() < 0.05:
        base["VOC"] = rng.uniform(550, 900)
        base["AQI"] = rng.uniform(80, 150)
        room.faults.append("voc")
    if roll() < 0.06:
        base["PM25"] = rng.uniform(17, 35)
        room.faults.append("pm25")
    if roll() < 0.04:
        base["PM10"] = rng.uniform(50, 80)
        room.faults.append("pm10")
    if roll() < 0.01:
        room.co2_silent_s = 40 * 60
        room.faults.append("co2_silent")


def _tag(value: str) -> str:
    return value.translate(_TAG_ESCAPES)


NOISE = {"CO2": 25.0, "TEMPERATURE": 0.3, "HUMIDITY": 1.5, "VOC": 20.0, "AQI": 4.0,
         "PM25": 1.0, "PM10": 2.0, "AIR_PRESSURE": 0.5, "REAL_TIME_PEOPLE_COUNT": 0.0}


def sensor_lines(rooms: list[Room], end_ns: int, hours: float, step_s: int,
                 rng: random.Random) -> Iterator[str]:
    """Readings in time order (as the fleet sends them), every room at every step."""
    steps = int(hours * 3600 // step_s)
    ramp_s = 30 * 60
    for k in range(steps - 1, -1, -1):
        age_s = k * step_s
        t = end_ns - age_s * NS
        for room in rooms:
            for sensor in SENSORS:
                if sensor == "CO2" and age_s < room.co2_silent_s:
                    continue
                value = room.base[sensor] + rng.gauss(0.0, NOISE[sensor])
                if sensor == "CO2" and room.co2_ramp and age_s < ramp_s:
                    value += room.co2_ramp * (ramp_s - age_s) / ramp_s
                if sensor == "REAL_TIME_PEOPLE_COUNT":
                    text = f"{max(0, int(value) + rng.randint(-2, 2))}"
                else:
                    text = f"{max(0.0, value):.2f}"
                yield f"sensor,{room.key},sensor_type={sensor} value={text} {t}"


def incident_lines(rooms: list[Room], end_ns: int, rng: random.Random) -> list[str]:
    """About 1 % of rooms with an open incident (and as many closed ones), at least 5."""
    count = max(5, len(rooms) // 100)
    picked = rng.sample(rooms, min(len(rooms), 2 * count))
    lines = []
    types = sorted(INCIDENT_KINDS)
    for j, room in enumerate(picked):
        alert_type = types[j % len(types)]
        alert_name, component, component_name = INCIDENT_KINDS[alert_type]
        start_ns = end_ns - rng.randint(2 * 60, 3 * 3600) * NS
        start_ms = start_ns // 1_000_000
        tags = (f"alert_name={alert_name},alert_type={alert_type},"
                f"building={_tag(room.building)},component={component},"
                f"component_name={component_name},floor={_tag(room.floor)},"
                f"room_id={room.room_id}")
        name = room.room_name.replace('"', '\\"')
        if j < count:
            fields = f'open=true,room_name="{name}",start_ms={start_ms}i'
        else:
            end_ms = min(end_ns // 1_000_000, start_ms + rng.randint(60, 3600) * 1000)
            fields = (f'duration_s={(end_ms - start_ms) / 1000},end_ms={end_ms}i,open=false,'
                      f'room_name="{name}",start_ms={start_ms}i')
        lines.append(f"room_incident,{tags} {fields} {start_ns}")
    return lines


def write_batches(influx: InfluxClient, lines: Iterator[str], batch: int) -> tuple[int, float]:
    """Write in batches of ``batch`` lines; returns (lines, seconds spent in /write)."""
    total = 0
    write_s = 0.0
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= batch:
            write_s += _post(influx, chunk)
            total += len(chunk)
            chunk = []
    if chunk:
        write_s += _post(influx, chunk)
        total += len(chunk)
    return total, write_s


def _post(influx: InfluxClient, chunk: list[str]) -> float:
    body = "\n".join(chunk).encode()
    started = time.perf_counter()
    influx.write(body)
    return time.perf_counter() - started


def seed(influx: InfluxClient, n: int, end_ns: int, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed * 1_000_003 + n)
    influx.create_database()
    started = time.perf_counter()
    rooms = make_rooms(n, rng)
    points, write_s = write_batches(
        influx, sensor_lines(rooms, end_ns, args.hours, args.step, rng), args.batch)
    incidents = incident_lines(rooms, end_ns, rng)
    influx.write("\n".join(incidents).encode())
    elapsed = time.perf_counter() - started
    faults = Counter(fault for room in rooms for fault in room.faults)
    return {
        "rooms": n, "sensor_points": points, "series": n * len(SENSORS),
        "incident_points": len(incidents), "open_incidents": max(5, n // 100),
        "batch_lines": args.batch,
        "seconds": round(elapsed, 2), "write_seconds": round(write_s, 2),
        "points_per_s": round(points / elapsed) if elapsed else None,
        "faulty_rooms": dict(sorted(faults.items())),
    }


# ---------------------------------------------------------------- evaluation

def load_rules(rules_dir: Path, wait_s: float) -> list[Group]:
    """``load_dir(rules/)``; the rules package may still be in the making, so poll."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            from monitor.rules.load import load_dir
            return load_dir(rules_dir)
        except Exception as exc:  # ImportError, ConfigFileErrors, half-written files
            if time.monotonic() >= deadline:
                raise
            log(f"rules not loadable yet ({type(exc).__name__}: {exc}); retrying in 30 s")
            for name in [m for m in sys.modules if m.startswith("monitor.rules")]:
                del sys.modules[name]
            time.sleep(30)


class TimedInflux(InfluxClient):
    """Accumulates the time spent in ``query`` (HTTP round trip + JSON parse)."""

    query_s = 0.0

    def query(self, q: str, *, epoch: str | None = "ms", write: bool = False,
              params: dict[str, Any] | None = None) -> list[Series]:
        started = time.perf_counter()
        try:
            return super().query(q, epoch=epoch, write=write, params=params)
        finally:
            self.query_s += time.perf_counter() - started


def make_evaluator(influx: TimedInflux, state_path: Path) -> Any:
    from monitor.rules.evaluate import Evaluator, StateFile

    class TimedEvaluator(Evaluator):
        """Records, per rule, its query's wall time (queries overlap) and its Python time."""

        per_rule: dict[str, tuple[float, float]]

        def _fetch(self, rule: Rule, at_ns: int) -> list[Series]:
            started = time.perf_counter()
            try:
                return super()._fetch(rule, at_ns)
            finally:
                query = time.perf_counter() - started
                self.per_rule[rule.id] = (query, self.per_rule.get(rule.id, (0.0, 0.0))[1])

        def _evaluate_rule(self, rule: Rule, series: list[Series], at_ns: int,
                           result: GroupResult) -> None:
            started = time.perf_counter()
            try:
                super()._evaluate_rule(rule, series, at_ns, result)
            finally:
                python = time.perf_counter() - started
                self.per_rule[rule.id] = (self.per_rule.get(rule.id, (0.0, 0.0))[0], python)

    evaluator = TimedEvaluator(influx, StateFile(state_path))
    evaluator.per_rule = {}
    return evaluator


def run_cycle(evaluator: Any, influx: TimedInflux, groups: list[Group],
              at_ns: int) -> dict[str, Any]:
    evaluator.per_rule = {}
    influx.query_s = 0.0
    results: list[GroupResult] = []
    started = time.perf_counter()
    for group in groups:
        results.append(evaluator.evaluate(group, at_ns))
    cycle_s = time.perf_counter() - started
    alerts = [alert for result in results for alert in result.alerts]
    errors = {rule: text for result in results for rule, text in result.errors.items()}
    return {
        "cycle_s": round(cycle_s, 4),
        # Queries overlap (Evaluator.concurrency): query_s sums their wall times, so
        # query_s + python_s can exceed cycle_s.
        "query_s": round(influx.query_s, 4),
        "python_s": round(sum(python for _, python in evaluator.per_rule.values()), 4),
        "queries": sum(result.queries for result in results),
        "alerts": len(alerts),
        "alerts_by_status": dict(sorted(Counter(a.status for a in alerts).items())),
        "transitions": sum(len(result.transitions) for result in results),
        "errors": errors,
        "per_rule": {rule: {"total_s": round(query + python, 4), "query_s": round(query, 4),
                            "python_s": round(python, 4)}
                     for rule, (query, python) in evaluator.per_rule.items()},
    }


def cached_template_runs(evaluator: Any, influx: TimedInflux, groups: list[Group],
                         at_ns: int, runs: int) -> dict[str, Any]:
    """Steady-state cycles with each annotation template compiled once, not once per room.

    ``evaluate._render_one`` compiles its template on every call (``from_string``
    does not cache); this swaps in a cached compile, for this benchmark only, to
    show what the cycle costs once that is fixed.
    """
    import jinja2

    from monitor.rules import evaluate

    original = evaluate._render_one
    compiled: dict[str, jinja2.Template] = {}

    def render_one(text: str, context: dict[str, Any]) -> str:
        try:
            template = compiled.get(text)
            if template is None:
                template = compiled[text] = evaluate._templates.from_string(text)
            return template.render(context)
        except (jinja2.TemplateError, TypeError, ValueError) as exc:
            return f"{text} [template error: {exc}]"

    evaluate._render_one = render_one
    try:
        done = [run_cycle(evaluator, influx, groups, at_ns) for _ in range(runs)]
    finally:
        evaluate._render_one = original
    cycles = [run["cycle_s"] for run in done]
    last = done[-1]
    return {"cycle_s": {"runs": cycles, "min": min(cycles), "median": statistics.median(cycles)},
            "last_run_split_s": {"query": last["query_s"], "python": last["python_s"]},
            "alerts": last["alerts"], "errors": last["errors"],
            "per_rule": last["per_rule"]}


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
    room's series for the window. No evaluator can do less than this, so its
    1k -> 10k ratio bounds the cycle's.
    """
    from monitor.datamodel.influxql import influxql_string, time_bounds
    from monitor.rules.query import SILENT_LOOKBACK_S, build_query, tag_filters

    if rule.kind == "incident":
        return build_query(rule, at_ns)
    lookback = SILENT_LOOKBACK_S if rule.kind == "no_data" else rule.window_s
    where = [f'"sensor_type" = {influxql_string(rule.sensor or "")}', *tag_filters(rule),
             *time_bounds(at_ns, lookback)]
    return f'SELECT count("value") FROM "sensor" WHERE {" AND ".join(where)}'


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


def bench_size(url: str, n: int, end_ns: int, groups: list[Group], *, tmp: Path,
               args: argparse.Namespace) -> dict[str, Any]:
    config = Config(influx_url=url, influx_db=f"bench_rules_{n}")
    log(f"{n} rooms: seeding {n * len(SENSORS) * int(args.hours * 3600 // args.step):,} "
        "sensor points")
    seeding = seed(InfluxClient(config, timeout=300.0), n, end_ns, args)
    log(f"{n} rooms: seeded in {seeding['seconds']} s ({seeding['points_per_s']:,} points/s)")
    time.sleep(args.settle)
    influx = TimedInflux(config, timeout=args.timeout)
    evaluator = make_evaluator(influx, tmp / f"state-{n}" / "rules.json")
    load_before = loadavg()
    runs = []
    for i in range(args.runs):
        profiler = cProfile.Profile() if args.profile and i == args.runs - 1 else None
        if profiler is not None:
            profiler.enable()
        run = run_cycle(evaluator, influx, groups, end_ns)
        if profiler is not None:
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.profile)
            log(f"{n} rooms: profile of cycle {i + 1} (adds overhead to its time)\n"
                + out.getvalue())
        log(f"{n} rooms: cycle {i + 1}: {run['cycle_s']:.3f} s "
            f"(query {run['query_s']:.3f} s), {run['alerts']} alerts, {len(run['errors'])} errors")
        runs.append(run)
    what_if = None
    if args.what_if_runs:
        what_if = cached_template_runs(evaluator, influx, groups, end_ns, args.what_if_runs)
        log(f"{n} rooms: with cached templates: {what_if['cycle_s']}")
    log(f"{n} rooms: timing each rule's query alone")
    queries = standalone_queries(influx, groups, end_ns, args.query_repeats)
    floor = database_floor(influx, groups, end_ns, args.query_repeats)
    log(f"{n} rooms: database floor (count-only queries) {floor['median_s']} s")
    cycles = [run["cycle_s"] for run in runs]
    rules = sum(len(group.rules) for group in groups)
    slowest = sorted(queries.items(), key=lambda item: -(item[1]["median_s"] or 1e9))
    slowest_in_cycle = sorted(runs[-1]["per_rule"].items(), key=lambda item: -item[1]["total_s"])
    return {
        "seeding": seeding,
        "loadavg_before_cycles": load_before,
        "cycle_s": {"runs": cycles, "min": min(cycles), "median": statistics.median(cycles),
                    "cold": cycles[0],
                    "warm_median": statistics.median(cycles[1:]) if len(cycles) > 1 else None},
        "rules": rules,
        "queries_per_cycle": [run["queries"] for run in runs],
        # One query per rule, plus at most one per rule for tracked rooms the breach
        # filter left out: never a function of the number of rooms.
        "queries_at_most_two_per_rule": all(run["queries"] <= 2 * rules for run in runs),
        "alerts": [run["alerts"] for run in runs],
        "alerts_by_status": runs[-1]["alerts_by_status"],
        "transitions": [run["transitions"] for run in runs],
        "errors": runs[-1]["errors"] or (runs[0]["errors"] or {}),
        "last_run_split_s": {"query": runs[-1]["query_s"], "python": runs[-1]["python_s"]},
        "slowest_in_cycle": [{"rule": rule, **timing} for rule, timing in slowest_in_cycle[:5]],
        "slowest_queries": [{"rule": rule, "median_s": entry["median_s"],
                             "response_bytes": entry["response_bytes"]}
                            for rule, entry in slowest[:5]],
        "what_if_cached_templates": what_if,
        "database_floor_s": floor,
        "per_rule_query": queries,
        "runs": runs,
    }


# ---------------------------------------------------------------- main

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="room counts, comma separated")
    parser.add_argument("--hours", type=float, default=2.0, help="hours of readings per room")
    parser.add_argument("--step", type=int, default=300, help="seconds between readings")
    parser.add_argument("--batch", type=int, default=50_000, help="lines per /write")
    parser.add_argument("--runs", type=int, default=3, help="cycles per size (first is cold)")
    parser.add_argument("--query-repeats", type=int, default=3,
                        help="standalone runs of each rule's query")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="InfluxClient read timeout for the cycle (production default: 10)")
    parser.add_argument("--settle", type=float, default=2.0,
                        help="seconds to wait after seeding before the first cycle")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rules-dir", type=Path, default=REPO / "rules")
    parser.add_argument("--wait-rules", type=float, default=1800.0,
                        help="seconds to wait for monitor.rules to become loadable")
    parser.add_argument("--what-if-runs", type=int, default=3,
                        help="extra steady cycles with annotation templates compiled once "
                             "(0: skip)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="cProfile the last cycle of each size, print the top N to stderr")
    parser.add_argument("--keep", action="store_true", help="keep the influxd directory")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    started = time.perf_counter()
    load_start = loadavg()
    groups = load_rules(args.rules_dir, args.wait_rules)
    log(f"{sum(len(g.rules) for g in groups)} rules in {len(groups)} groups; "
        f"load average {load_start}")
    end_ns = (time.time_ns() // (args.step * NS)) * args.step * NS
    tmp = Path(tempfile.mkdtemp(prefix="zrmon-bench-rules-"))
    server = LocalInfluxd(tmp / "influxd").start()
    results: dict[str, Any] = {}
    try:
        for n in sizes:
            results[str(n)] = bench_size(server.url, n, end_ns, groups, tmp=tmp, args=args)
    finally:
        server.stop()
        if not args.keep:
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)
    document: dict[str, Any] = {
        "sizes": results,
        "ratio_10k_vs_1k": None,
        "database_floor_ratio_10k_vs_1k": None,
        "targets": {},
        "at_ns": end_ns,
        "rules": [rule.id for group in groups for rule in group.rules],
        "machine": {"cpus": os.cpu_count(), "loadavg_start": load_start,
                    "loadavg_end": loadavg(), "influxd": server.binary or "influxd on PATH"},
        "total_runtime_s": round(time.perf_counter() - started, 1),
    }
    small, large = results.get("1000"), results.get("10000")
    if small and large:
        ratio = large["cycle_s"]["median"] / small["cycle_s"]["median"]
        document["ratio_10k_vs_1k"] = round(ratio, 2)
        document["targets"] = {"cycle_10k_s<1": large["cycle_s"]["median"] < 1.0,
                               "ratio<=3": ratio <= 3.0}
        floor_ratio = (large["database_floor_s"]["median_s"]
                       / small["database_floor_s"]["median_s"])
        document["database_floor_ratio_10k_vs_1k"] = round(floor_ratio, 2)
    print(json.dumps(document, indent=2))
    missed = [name for name, ok in document["targets"].items() if not ok]
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
