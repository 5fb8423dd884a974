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

The benchmark's parts: bench/rules_seed.py (the rooms, their faults and what is
written), rules_cycle.py (the timed evaluation cycle), rules_queries.py (each
rule's query alone, the database floor); this file seeds each size, runs the
cycles and prints the document.

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
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest_events import ROOT, log
from rules_cycle import (
    TimedInflux,
    cached_template_runs,
    cycle_summary,
    load_rules,
    make_evaluator,
    run_cycle,
)
from rules_queries import database_floor, standalone_queries
from rules_seed import seed

from monitor.core.config import Config
from monitor.core.timeutil import NS_PER_S
from monitor.datamodel.vocabulary import SENSOR_TYPES
from monitor.store.influx import InfluxClient
from monitor.store.influxd import LocalInfluxd

if TYPE_CHECKING:
    from monitor.rules.model import Group


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def bench_size(url: str, n: int, end_ns: int, groups: list[Group], *, tmp: Path,
               args: argparse.Namespace) -> dict[str, Any]:
    config = Config(influx_url=url, influx_db=f"bench_rules_{n}")
    log(f"{n} rooms: seeding {n * len(SENSOR_TYPES) * int(args.hours * 3600 // args.step):,} "
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
        "cycle_s": {**cycle_summary(cycles), "cold": cycles[0],
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
    parser.add_argument("--rules-dir", type=Path, default=ROOT / "rules")
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
    end_ns = (time.time_ns() // (args.step * NS_PER_S)) * args.step * NS_PER_S
    tmp = Path(tempfile.mkdtemp(prefix="zrmon-bench-rules-"))
    results: dict[str, Any] = {}
    try:
        with LocalInfluxd(tmp / "influxd") as server:
            for n in sizes:
                results[str(n)] = bench_size(server.url, n, end_ns, groups, tmp=tmp, args=args)
    finally:
        if not args.keep:
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
