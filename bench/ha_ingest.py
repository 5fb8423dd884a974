"""Ingest with the state in SQLite and in PostgreSQL: the same wrk load, events/s landed.

``zrmon serve --no-rules`` gets a fresh ``influxd`` and a fresh data directory
per backend, and for PostgreSQL a fresh database on the benchmark's private
server (``ZRMON_STATE_URL``); everything else -- the command line, the load,
the drain wait -- is bench/ingest.py's ``ours`` saturation phase: wrk with
bench/wrk_sensor.lua, events/s counted as what landed in InfluxDB divided by
the time from load start until the last of it landed, p99 ack from wrk.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest_events import LOAD_PREFIX, WARM_PREFIX, log
from ingest_landing import fresh_influxd, prefix_where, wait_landed
from ingest_servers import CpuMeter, server_for
from ingest_wrk import ack_stats, run_wrk

from monitor.store.statedb import PostgresDB

BACKENDS = ("sqlite", "postgresql")


def state_tables(url: str) -> list[str]:
    """The tables the service made in its PostgreSQL database: proof the state went there."""
    db = PostgresDB(url)
    try:
        with db.transaction(write=False) as tx:
            rows = tx.execute("SELECT table_name FROM information_schema.tables "
                              "WHERE table_schema = 'public' ORDER BY table_name").fetchall()
    finally:
        db.close()
    return [str(row[0]) for row in rows]


def measure_ingest(backend: str, state_url: str, args: argparse.Namespace,
                   help_text: str | None) -> dict[str, Any]:
    """One saturation run of ``zrmon serve --no-rules`` with its state on ``backend``."""
    with tempfile.TemporaryDirectory(prefix=f"zrmon-bench-ha-{backend}-") as tmpdir:
        tmp = Path(tmpdir)
        with fresh_influxd(tmp / "influx") as (influxd, influx):
            assert influxd.process is not None
            server = server_for("ours", args, influxd.url, tmp, help_text)
            server.command.append("--no-rules")
            if state_url:
                server.env["ZRMON_STATE_URL"] = state_url
            log(f"ingest/{backend}: starting {' '.join(server.command)}")
            try:
                server.start()
                load = {"connections": args.connections, "threads": args.wrk_threads}
                if args.warmup > 0:
                    warm = run_wrk(server.url, duration=args.warmup, prefix=WARM_PREFIX, **load)
                    wait_landed(influx, prefix_where(WARM_PREFIX),
                                int(warm["requests"]) - int(warm["status_errors"]))
                assert server.process is not None
                cpu = CpuMeter(server.process.pid, influxd.process.pid)
                cpu.start()
                load_start = time.monotonic()
                wrk = run_wrk(server.url, duration=args.duration, prefix=LOAD_PREFIX, **load)
                load_end = time.monotonic()
                stats = ack_stats(wrk)
                drain = wait_landed(influx, prefix_where(LOAD_PREFIX), stats["acked_2xx"])
                used = cpu.stop(drain.events)
            except Exception:
                log(f"ingest/{backend}: failed; last lines of its log:\n{server.log_tail()}")
                raise
            finally:
                server.stop()
    elapsed = max(drain.last_growth - load_start, 1e-9)
    result = {
        "rps": round(drain.events / elapsed, 1),
        "p99_ack_ms": stats["p99_ack_ms"],
        "p50_ack_ms": stats["p50_ack_ms"],
        "max_ack_ms": stats["max_ack_ms"],
        "acked_2xx": stats["acked_2xx"],
        "non_2xx": stats["non_2xx"],
        "landed_events": drain.events,
        "acked_not_landed": max(0, stats["acked_2xx"] - drain.events),
        "landed_window_s": round(elapsed, 3),
        "drain_after_load_s": round(max(0.0, drain.last_growth - load_end), 3),
        "socket_errors": stats["socket_errors"],
        "server_plus_influxd_ms_per_event": used["server_plus_influxd_ms_per_event"],
    }
    if state_url:
        result["state_tables"] = state_tables(state_url)
    log(f"ingest/{backend}: {result['rps']} events/s landed, p99 ack {result['p99_ack_ms']} ms")
    return result


def ingest_section(args: argparse.Namespace, new_database: Callable[[], str],
                   help_text: str | None) -> dict[str, Any]:
    """``--rounds`` alternations of SQLite then PostgreSQL (a fresh database each time)."""
    rounds: dict[str, list[dict[str, Any]]] = {backend: [] for backend in BACKENDS}
    for number in range(args.rounds):
        for backend in BACKENDS:
            log(f"ingest: round {number + 1}/{args.rounds}, {backend}")
            url = new_database() if backend == "postgresql" else ""
            rounds[backend].append(measure_ingest(backend, url, args, help_text))
    section: dict[str, Any] = {}
    for backend, runs in rounds.items():
        section[backend] = {
            "rps": round(statistics.median(run["rps"] for run in runs), 1),
            "p99_ack_ms": round(statistics.median(run["p99_ack_ms"] for run in runs), 2),
            "runs": runs,
        }
    # Each round's own ratio: how much of the median's is noise of a shared machine.
    section["ratio_per_round"] = [
        round(pg["rps"] / lite["rps"], 3) if lite["rps"] else None
        for lite, pg in zip(rounds["sqlite"], rounds["postgresql"], strict=True)]
    sqlite_rps = section["sqlite"]["rps"]
    section["ratio_postgresql_vs_sqlite"] = (
        round(section["postgresql"]["rps"] / sqlite_rps, 3) if sqlite_rps else None)
    return section
