"""Shared-state benchmark: the state in PostgreSQL (``ZRMON_STATE_URL``) beside SQLite.

Not a test: it prints one JSON document on stdout (progress goes to stderr)
and exits 0 whatever the numbers are, unless ``--check`` is given, in which
case a missed target (or a figure that could not be measured) exits 1.

One private PostgreSQL server (``initdb``/``pg_ctl`` through
tests/support/postgres.py's ``LocalPostgres``: a temp cluster on a free
loopback port, ``fsync=off`` as in the tests) serves every PostgreSQL case, each
with a fresh database. It runs on this machine, so its CPU competes with the
service's: on separate hosts PostgreSQL would cost the service less.

* ``ingest`` (bench/ha_ingest.py): ``zrmon serve --no-rules`` under the wrk
  saturating load of bench/ingest.py, state in SQLite, then in PostgreSQL
  (``--rounds`` times each, alternating; the medians): events/s landed in
  InfluxDB and p99 ack.
* ``rules`` (bench/ha_rules.py): one engine cycle over ``--rooms`` rooms --
  every group's evaluation, dispatch and commit -- with the evaluator's state
  in SQLite, then in PostgreSQL; ``--cycles`` cycles each (first cold), the median.
* ``failover`` (bench/ha_failover.py): two ``zrmon scheduler`` on the
  PostgreSQL state; seconds from SIGKILL (then SIGSTOP) of the leader until
  the other reports ``zrmon_evaluator_leader 1``.

``targets``: ``ingest_postgresql_vs_sqlite>=0.8`` (the ratio of landed events/s),
``failover_sigkill_s<30`` and ``failover_sigstop_s<30``. The rule-cycle ratio
is for information.

Usage::

    .venv/bin/python bench/ha.py                              # ~2 minutes
    .venv/bin/python bench/ha.py --duration 30 --rounds 3 --rooms 10000
    .venv/bin/python bench/ha.py --only ingest,failover --check
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ha_failover import failover_section
from ha_ingest import ingest_section
from ha_rules import rules_section
from ingest_events import READINGS, ROOT, log
from ingest_landing import fresh_influxd
from ingest_servers import zrmon_help

SECTIONS = ("ingest", "rules", "failover")
INGEST_RATIO = 0.8
FAILOVER_S = 30.0


def local_postgres() -> Any:
    """A started ``LocalPostgres`` (a test helper: tests/ goes on sys.path for it)."""
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.append(tests)
    from support.postgres import LocalPostgres

    return LocalPostgres().start()


def attempt(name: str, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A section's result, or ``{"error": ...}``: one section failing keeps the others."""
    try:
        return run()
    except Exception as exc:
        log(f"{name}: {type(exc).__name__}: {exc}")
        return {"error": f"{type(exc).__name__}: {exc}"[:2000]}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help="comma-separated subset of: " + ",".join(SECTIONS))
    ingest = parser.add_argument_group("ingest")
    ingest.add_argument("--duration", type=float, default=10.0,
                        help="seconds of load per backend and round")
    ingest.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up (0: none)")
    ingest.add_argument("--rounds", type=int, default=2,
                        help="SQLite-then-PostgreSQL alternations (the medians)")
    ingest.add_argument("--connections", type=int, default=32, help="wrk connections")
    ingest.add_argument("--wrk-threads", type=int, default=2, help="wrk threads")
    ingest.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    ingest.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker")
    rules = parser.add_argument_group("rules")
    rules.add_argument("--rooms", type=int, default=1000, help="rooms seeded for the cycle")
    rules.add_argument("--cycles", type=int, default=3, help="cycles per backend (first cold)")
    rules.add_argument("--hours", type=float, default=2.0, help="hours of readings per room")
    rules.add_argument("--step", type=int, default=300, help="seconds between readings")
    rules.add_argument("--batch", type=int, default=50_000, help="lines per /write when seeding")
    rules.add_argument("--seed", type=int, default=1)
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a target is missed or could not be measured")
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    if set(args.only) - set(SECTIONS):
        parser.error(f"unknown section(s) in --only: {', '.join(set(args.only) - set(SECTIONS))}")
    if args.connections < args.wrk_threads:
        parser.error("--connections must be at least --wrk-threads")
    if args.rounds < 1 or args.cycles < 1:
        parser.error("--rounds and --cycles must be at least 1")
    return args


def verdicts(document: dict[str, Any]) -> dict[str, bool | None]:
    """The targets: None for a section not run, False for one that failed to measure."""
    ingest, failover = document.get("ingest"), document.get("failover")
    ratio = ingest.get("ratio_postgresql_vs_sqlite") if ingest else None
    found: dict[str, bool | None] = {
        f"ingest_postgresql_vs_sqlite>={INGEST_RATIO}":
            None if ingest is None else ratio is not None and ratio >= INGEST_RATIO}
    for case in ("sigkill", "sigstop"):
        seconds = (failover.get(case) or {}).get("takeover_s") if failover else None
        found[f"failover_{case}_s<{FAILOVER_S:g}"] = (
            None if failover is None else seconds is not None and seconds < FAILOVER_S)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if "ingest" in args.only and shutil.which("wrk") is None:
        log("wrk not found (apt-get install wrk)")
        return 2
    started = time.monotonic()
    document: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "loadavg_1m_at_start": round(os.getloadavg()[0], 2),
                    "postgresql": "local, same machine, fsync=off"},
        "load": {"tool": "wrk 4.1 + bench/wrk_sensor.lua", "duration_s": args.duration,
                 "warmup_s": args.warmup, "rounds": args.rounds,
                 "connections": args.connections, "wrk_threads": args.wrk_threads,
                 "gunicorn": {"workers": args.workers, "threads": args.threads},
                 "readings_per_event": READINGS, "serve_flags": ["--no-rules"]},
    }
    try:
        postgres = local_postgres()
    except Exception as exc:  # not installed, initdb refused: every section is unmeasured
        log(f"PostgreSQL did not start: {exc}")
        for name in SECTIONS:
            document[name] = {"error": f"PostgreSQL did not start: {exc}"[:2000]} \
                if name in args.only else None
        document["targets"] = verdicts(document)
        print(json.dumps(document, indent=2))
        return 1 if args.check else 0
    log(f"PostgreSQL on port {postgres.port}")
    names = (f"bench_{n}" for n in itertools.count(1))

    def new_database() -> str:
        return str(postgres.create_database(next(names)))

    def rules() -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="zrmon-bench-ha-influx-") as tmp, \
                fresh_influxd(Path(tmp)) as (influxd, _):
            return rules_section(args, influxd.url, new_database)

    runs: dict[str, Callable[[], dict[str, Any]]] = {
        "ingest": lambda: ingest_section(args, new_database, zrmon_help()),
        "rules": rules,
        "failover": lambda: failover_section(new_database()),
    }
    try:
        for name in SECTIONS:
            document[name] = attempt(name, runs[name]) if name in args.only else None
    finally:
        postgres.close()
    found = verdicts(document)
    document["targets"] = found
    document["machine"]["loadavg_1m_at_end"] = round(os.getloadavg()[0], 2)
    document["total_runtime_s"] = round(time.monotonic() - started, 1)
    print(json.dumps(document, indent=2))
    if args.check and not all(value is True for value in found.values()):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
