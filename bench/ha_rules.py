"""One rule cycle of the engine with its state in SQLite and in PostgreSQL.

A cycle is :meth:`monitor.runtime.engine.Engine.run_group` for every group of
``rules/`` at one ``at_ns``, as ``zrmon scheduler`` runs one tick of every
group: the evaluation (InfluxDB queries, state machine, templates), the
dispatcher, and one commit per group of the rule states, the dispatcher's state,
the notifications due and the ``rule_state`` points to the evaluator's state
database (``outbox.sqlite`` by default, PostgreSQL with ``ZRMON_STATE_URL``),
then those points into InfluxDB. Both backends read the same InfluxDB database,
seeded once by bench/rules_seed.py; each gets a fresh data directory and, for
PostgreSQL, a fresh database. ``commit_s`` is the time inside the journal's
commits: the part the backend changes.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ha_ingest import BACKENDS
from ingest_events import ROOT, log
from rules_seed import seed

from monitor.core.config import Config
from monitor.core.timeutil import NS_PER_S
from monitor.runtime.engine import Engine
from monitor.store.influx import InfluxClient

DB = "bench_ha_rules"


def timed_cycles(config: Config, end_ns: int, runs: int) -> dict[str, Any]:
    """``runs`` cycles of one engine (the first cold: every breaching room is new)."""
    engine = Engine.build(config, ROOT / "rules", env={})
    commit_s = 0.0
    commit = engine.journal.commit

    def timed_commit(*args: Any, **kwargs: Any) -> bool:
        nonlocal commit_s
        started = time.perf_counter()
        try:
            return commit(*args, **kwargs)
        finally:
            commit_s += time.perf_counter() - started

    engine.journal.commit = timed_commit  # type: ignore[method-assign]
    cycles: list[dict[str, Any]] = []
    try:
        for _ in range(runs):
            commit_s = 0.0
            started = time.perf_counter()
            results = [engine.run_group(group, end_ns) for group in engine.groups]
            cycles.append({
                "cycle_s": round(time.perf_counter() - started, 4),
                "commit_s": round(commit_s, 4),
                "alerts": sum(len(result.alerts) for result in results),
                "committed": all(result.committed for result in results),
                "errors": {rule: text for result in results
                           for rule, text in result.errors.items()},
            })
    finally:
        engine.outbox.close()
        engine.silences.close()
    seconds = [cycle["cycle_s"] for cycle in cycles]
    return {"cycle_s": {"cold": seconds[0], "median": round(statistics.median(seconds), 4),
                        "warm_median": round(statistics.median(seconds[1:]), 4)
                        if runs > 1 else None},
            "commit_s_median": round(statistics.median(c["commit_s"] for c in cycles), 4),
            "runs": cycles}


def rules_section(args: argparse.Namespace, influx_url: str,
                  new_database: Callable[[], str]) -> dict[str, Any]:
    """Seed ``--rooms`` rooms once, then the cycles on each backend."""
    end_ns = (time.time_ns() // (args.step * NS_PER_S)) * args.step * NS_PER_S
    config = Config(influx_url=influx_url, influx_db=DB)
    log(f"rules: seeding {args.rooms} rooms, {args.hours:g} h every {args.step} s")
    seeding = seed(InfluxClient(config, timeout=300.0), args.rooms, end_ns, args)
    log(f"rules: seeded {seeding['sensor_points']:,} points in {seeding['seconds']} s")
    section: dict[str, Any] = {"rooms": args.rooms, "seeding": seeding}
    with tempfile.TemporaryDirectory(prefix="zrmon-bench-ha-rules-") as tmpdir:
        for backend in BACKENDS:
            url = new_database() if backend == "postgresql" else ""
            backend_config = config.with_(data_dir=Path(tmpdir) / backend, state_url=url)
            result = timed_cycles(backend_config, end_ns, args.cycles)
            log(f"rules/{backend}: cycles {[run['cycle_s'] for run in result['runs']]} s "
                f"(commits {[run['commit_s'] for run in result['runs']]} s)")
            section[backend] = result
    sqlite = section["sqlite"]["cycle_s"]["median"]
    section["ratio_postgresql_vs_sqlite"] = (
        round(section["postgresql"]["cycle_s"]["median"] / sqlite, 3) if sqlite else None)
    return section
