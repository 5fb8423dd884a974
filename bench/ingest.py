"""Ingest benchmark: ``zrmon serve`` against a bare ceiling and a naive receiver.

Not a test: it prints one JSON document on stdout (progress goes to stderr)
and exits 0 whatever the numbers are, unless ``--check`` is given, in which
case a missed target (or a server that could not be measured) exits 1.

Three servers get the same load, one after the other, each with a fresh
``influxd`` and a fresh data directory. Each server goes through two phases:
a saturating one (``--connections`` connections firing back to back: the
throughput, and ack latency that is mostly queueing on a small machine) and
then a paced one (``--paced-rate`` requests/s in all over
``--paced-connections`` connections for ``--paced-duration`` seconds, well
below saturation: how fast an event is answered, which is what Zoom sees). A
real fleet of 10,000 rooms sends about 33 sensor events/s, so the default 200/s
is six times that. The saturation results are at the top level of each
server's entry, the paced ones under ``paced``:

* ``ours``: ``zrmon serve`` with the default configuration. Its req/s counts
  only events that landed in InfluxDB: after the load ends we poll
  ``count("value")`` until it stops growing and divide the landed events by
  the time from load start until the last one landed. A probe thread sends one
  extra signed event every 100 ms during each phase (so ours gets 10 events/s
  more than the others) and polls InfluxDB every 20 ms to time "200 answered
  -> queryable" (the lag). With ~100 probes per paced phase, its p99 is the
  second-worst probe.
* ``ceiling``: bench/apps/ceiling.py -- verify the signature, parse the JSON,
  answer ``{}``; the upper bound for this gunicorn setup.
* ``naive``: bench/apps/naive.py -- the same plus one synchronous InfluxDB
  write per request before answering.

The load is wrk with bench/wrk_sensor.lua: keep-alive connections, every
request a distinct ``zoomroom.sensor_data`` event with 9 readings, signed with
Zoom's v0 HMAC computed in LuaJIT. Warm-up, saturation and paced phase use
their own room prefixes (and the probe of each phase its own room), so
(room, date_time) is distinct across the whole run. Before any server is
measured, a self-check compares the Lua HMAC with Python's on generated vectors
and runs wrk against a tiny Python endpoint that verifies every signature and
that every (room, date_time) is distinct.

The paced phase uses wrk's Lua ``delay()`` hook (see bench/wrk_sensor.lua):
each connection waits for its next send slot before every request, on average
``connections * 1000 / rate`` ms. wrk's latency is measured from sending a
request to its complete response, so the wait in ``delay()`` is not in it: the
paced ack percentiles are the service time of each request at that rate (no
queue of our own making in front of it). wrk is closed-loop all the same: if
the server stalls, the requests that would have been sent meanwhile are not,
so a stall shows as a few slow requests (those caught in it) and a lower
``rate_achieved``, not as the queue a real sender would build up.

``targets``: ``ours_vs_ceiling>=0.6`` and ``ours_vs_naive>=4`` compare the
saturation req/s; ``paced_p99_ack_ms<20`` and ``paced_p99_lag_s<1`` judge ours
in the paced phase. ``saturation_p99_ack_ms`` and ``saturation_p99_lag_s`` are
ours' values under saturation, for information only (not a verdict, ignored by
``--check``).

The benchmark's parts: bench/ingest_events.py (what is sent), ingest_wrk.py (the
load and its self-check), ingest_servers.py (the servers and their CPU),
ingest_landing.py (influxd, what landed, the lag probe); this file runs the
phases and prints the document.

Usage::

    .venv/bin/python bench/ingest.py                     # all three, ~2.5 minutes
    .venv/bin/python bench/ingest.py --only ceiling,naive --duration 5
    .venv/bin/python bench/ingest.py --paced-rate 100 --paced-duration 20
    .venv/bin/python bench/ingest.py --paced-duration 0  # saturation only
    .venv/bin/python bench/ingest.py --check             # exit 1 if a target is missed
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ingest_events import LOAD_PREFIX, PACED_PREFIX, READINGS, ROOMS, WARM_PREFIX, log
from ingest_landing import (
    DRAIN_LIMIT_S,
    PACED_PROBE_ROOM,
    PROBE_INTERVAL_S,
    LagProbe,
    fresh_influxd,
    influx_count,
    prefix_where,
    wait_landed,
)
from ingest_servers import CpuMeter, Server, server_for, zrmon_help
from ingest_wrk import ack_stats, run_wrk, selfcheck

from monitor.store.influx import InfluxClient

SERVERS = ("ours", "ceiling", "naive")
PACED_TOO_FAST = 1.5             # achieved / target rate above this: delay() was not in effect


# One server -------------------------------------------------------------------------------


def measure(name: str, args: argparse.Namespace, help_text: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"zrmon-bench-{name}-") as tmpdir:
        tmp = Path(tmpdir)
        with fresh_influxd(tmp / "influx") as (influxd, influx):
            assert influxd.process is not None
            server = server_for(name, args, influxd.url, tmp, help_text)
            log(f"{name}: starting {' '.join(server.command)}")
            try:
                server.start()
                result = _load(server, name, args, influx, influxd.process.pid)
            except Exception:
                log(f"{name}: failed; last lines of its log:\n{server.log_tail()}")
                raise
            finally:
                stop_s, survivors = server.stop()
            result["stop_s"], result["stop_sigkilled"] = stop_s, survivors
            return result


def _load(server: Server, name: str, args: argparse.Namespace, influx: InfluxClient,
          influxd_sid: int) -> dict[str, Any]:
    load = {"connections": args.connections, "threads": args.wrk_threads}
    if args.warmup > 0:
        log(f"{name}: warm-up {args.warmup:g}s")
        warm = run_wrk(server.url, duration=args.warmup, prefix=WARM_PREFIX, **load)
        if name != "ceiling":
            wait_landed(influx, prefix_where(WARM_PREFIX),
                        int(warm["requests"]) - int(warm["status_errors"]))
    probe = LagProbe(server.port, influx) if name == "ours" else None
    log(f"{name}: load {args.duration:g}s, {args.connections} connections")
    assert server.process is not None
    cpu = CpuMeter(server.process.pid, influxd_sid)
    cpu.start()
    load_start = time.monotonic()
    wrk = with_probe(probe, lambda: run_wrk(server.url, duration=args.duration,
                                            prefix=LOAD_PREFIX, **load))
    load_end = time.monotonic()
    stats = ack_stats(wrk)
    result: dict[str, Any] = {}
    if name == "ceiling":
        result = {"rps": stats["acked_rps"], **stats, "cpu": cpu.stop(stats["acked_2xx"])}
    elif name == "naive":
        cpu_used = cpu.stop(stats["acked_2xx"])
        landed = influx_count(influx, prefix_where(LOAD_PREFIX)) // READINGS
        result = {"rps": stats["acked_rps"], **stats, "landed_events": landed, "cpu": cpu_used}
    else:
        assert probe is not None
        drain = wait_landed(influx, prefix_where(LOAD_PREFIX), stats["acked_2xx"])
        cpu_used = cpu.stop(drain.events)
        probe.finish(timeout=max(1.0, DRAIN_LIMIT_S - (time.monotonic() - load_end)))
        elapsed = max(drain.last_growth - load_start, 1e-9)
        result = {
            "rps": round(drain.events / elapsed, 1),
            "landed_events": drain.events,
            "landed_readings": drain.readings,
            "landed_window_s": round(elapsed, 3),
            "drain_after_load_s": round(max(0.0, drain.last_growth - load_end), 3),
            "acked_not_landed": max(0, stats["acked_2xx"] - drain.events),
            **stats,
            **probe.report(),
            "cpu": cpu_used,
        }
    log(f"{name}: {result['rps']} req/s, p99 ack {result['p99_ack_ms']} ms")
    if args.paced_duration > 0:
        try:
            result["paced"] = _paced(server, name, args, influx, influxd_sid)
        except Exception as exc:  # keep the saturation numbers
            result["paced"] = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
            log(f"{name}: paced phase: {result['paced']['error']}")
    return result


def with_probe(probe: LagProbe | None, load: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``load`` with the lag probe sending beside it (when measuring ours)."""
    if probe is not None:
        probe.start()
    try:
        return load()
    except BaseException:
        if probe is not None:
            probe.finish(timeout=0)
        raise
    finally:
        if probe is not None:
            probe.stop_sending()


def _paced(server: Server, name: str, args: argparse.Namespace, influx: InfluxClient,
           influxd_sid: int) -> dict[str, Any]:
    """A fixed request rate well below saturation: ack latency = service time."""
    log(f"{name}: paced {args.paced_duration:g}s, {args.paced_rate:g} req/s over "
        f"{args.paced_connections} connections")
    probe = LagProbe(server.port, influx, PACED_PROBE_ROOM) if name == "ours" else None
    assert server.process is not None
    cpu = CpuMeter(server.process.pid, influxd_sid)
    cpu.start()
    wrk = with_probe(probe, lambda: run_wrk(server.url, duration=args.paced_duration,
                                            connections=args.paced_connections,
                                            threads=args.wrk_threads, prefix=PACED_PREFIX,
                                            rate=args.paced_rate))
    load_end = time.monotonic()
    stats = ack_stats(wrk)
    latency = wrk["latency_us"]
    achieved = round(int(wrk["requests"]) / (wrk["duration_us"] / 1e6), 1)
    paced: dict[str, Any] = {
        "rate_target": args.paced_rate,
        "rate_achieved": achieved,
        "p50_ack_ms": stats["p50_ack_ms"],
        "p90_ack_ms": round(latency["p90"] / 1000, 2),
        "p99_ack_ms": stats["p99_ack_ms"],
        "max_ack_ms": stats["max_ack_ms"],
        "non_2xx": stats["non_2xx"],
        "requests": stats["requests"],
        "socket_errors": stats["socket_errors"],
        "connections": args.paced_connections,
        "wrk_duration_s": stats["wrk_duration_s"],
        "pacing": "slots" if wrk.get("pacing_clock") else "fixed delay",
    }
    if probe is not None:
        drain = wait_landed(influx, prefix_where(PACED_PREFIX), stats["acked_2xx"])
        paced["cpu"] = cpu.stop(drain.events)
        probe.finish(timeout=max(1.0, DRAIN_LIMIT_S - (time.monotonic() - load_end)))
        paced.update({"landed_events": drain.events,
                      "acked_not_landed": max(0, stats["acked_2xx"] - drain.events),
                      **probe.report()})
    else:
        paced["cpu"] = cpu.stop(stats["acked_2xx"])
    if achieved > args.paced_rate * PACED_TOO_FAST:
        raise RuntimeError(f"paced phase ran at {achieved} req/s for a target of "
                           f"{args.paced_rate:g}: wrk's delay() hook was not in effect")
    log(f"{name}: paced {achieved} req/s, p99 ack {paced['p99_ack_ms']} ms"
        + (f", p99 lag {paced['p99_lag_s']} s" if probe is not None else ""))
    return paced


# Main -------------------------------------------------------------------------------------


def ratio(a: dict[str, Any] | None, b: dict[str, Any] | None) -> float | None:
    if not a or not b or not a.get("rps") or not b.get("rps"):
        return None
    return round(float(a["rps"]) / float(b["rps"]), 3)


def compare(value: float | None, test: Callable[[float], bool]) -> bool | None:
    return None if value is None else test(value)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=15.0,
                        help="seconds of load per server (rounded to whole seconds)")
    parser.add_argument("--connections", type=int, default=32, help="wrk keep-alive connections")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--paced-rate", type=float, default=200.0,
                        help="requests/s of the paced phase, all connections together")
    parser.add_argument("--paced-duration", type=float, default=10.0,
                        help="seconds of the paced phase per server (0: no paced phase)")
    parser.add_argument("--paced-connections", type=int, default=8,
                        help="wrk keep-alive connections of the paced phase")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="seconds of warm-up load per server (0: none)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (all servers)")
    parser.add_argument("--threads", type=int, default=8,
                        help="gunicorn threads per worker (all servers)")
    parser.add_argument("--only", default=",".join(SERVERS),
                        help="comma-separated subset of: " + ",".join(SERVERS))
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a target is missed or could not be measured")
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(args.only) - set(SERVERS)
    if unknown:
        parser.error(f"unknown server(s) in --only: {', '.join(sorted(unknown))}")
    if args.connections < args.wrk_threads:
        parser.error("--connections must be at least --wrk-threads")
    if args.paced_duration > 0 and args.paced_connections < args.wrk_threads:
        parser.error("--paced-connections must be at least --wrk-threads")
    if args.paced_duration > 0 and not args.paced_rate > 0:
        parser.error("--paced-rate must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        log("wrk not found (apt-get install wrk)")
        return 2
    help_text = zrmon_help() if "ours" in args.only else None
    log("self-check: Lua HMAC vs Python, signatures and distinct events")
    check = selfcheck(args.wrk_threads)
    log(f"self-check ok: {check}")
    document: dict[str, Any] = {
        "load": {"tool": "wrk 4.1 + bench/wrk_sensor.lua", "duration_s": args.duration,
                 "warmup_s": args.warmup, "connections": args.connections,
                 "wrk_threads": args.wrk_threads, "gunicorn": {
                     "worker_class": "gthread", "workers": args.workers,
                     "threads": args.threads},
                 "readings_per_event": READINGS, "rooms": ROOMS,
                 "paced": None if args.paced_duration <= 0 else {
                     "rate_target": args.paced_rate, "duration_s": args.paced_duration,
                     "connections": args.paced_connections, "wrk_threads": args.wrk_threads,
                     "ack_latency": "service time: wrk times send -> response, "
                                    "not the wait in delay()"},
                 "event_body_bytes": check["body_bytes"], "probe_interval_s": PROBE_INTERVAL_S,
                 "cpus": os.cpu_count(), "loadavg_1m_at_start": round(os.getloadavg()[0], 2),
                 "selfcheck": check},
    }
    for name in SERVERS:
        if name not in args.only:
            document[name] = None
        elif name == "ours" and help_text is None:
            document[name] = {"error": "`zrmon serve --help` does not work yet"}
            log("ours: skipped, `zrmon serve --help` does not work yet")
        else:
            try:
                document[name] = measure(name, args, help_text)
            except Exception as exc:  # report and go on with the other servers
                document[name] = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
                log(f"{name}: {document[name]['error']}")
    ours, ceiling, naive = (document[name] for name in SERVERS)
    measured_ours = ours if ours and "error" not in ours else None
    document["ratios"] = {"ours_vs_ceiling": ratio(measured_ours, ceiling),
                          "ours_vs_naive": ratio(measured_ours, naive)}
    paced = measured_ours.get("paced") if measured_ours else None
    measured_paced = paced if paced and "error" not in paced else None
    # A paced phase that failed is a miss; None when ours or the phase was not run.
    judge_paced = measured_ours is not None and args.paced_duration > 0
    paced_ack = measured_paced["p99_ack_ms"] if measured_paced else None
    paced_lag = measured_paced["p99_lag_s"] if measured_paced else None
    verdicts: dict[str, bool | None] = {
        "ours_vs_ceiling>=0.6": compare(document["ratios"]["ours_vs_ceiling"],
                                        lambda x: x >= 0.6),
        "ours_vs_naive>=4": compare(document["ratios"]["ours_vs_naive"], lambda x: x >= 4),
        "paced_p99_ack_ms<20": (paced_ack is not None and paced_ack < 20)
        if judge_paced else None,
        # No p99 lag for a measured server means probes never became queryable: a miss.
        "paced_p99_lag_s<1": (paced_lag is not None and paced_lag < 1)
        if judge_paced else None,
    }
    document["targets"] = {
        **verdicts,
        # For information, not verdicts: ours under saturation, mostly queueing.
        "saturation_p99_ack_ms": measured_ours["p99_ack_ms"] if measured_ours else None,
        "saturation_p99_lag_s": measured_ours["p99_lag_s"] if measured_ours else None,
    }
    print(json.dumps(document, indent=2))
    if args.check and not all(value is True for value in verdicts.values()):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
