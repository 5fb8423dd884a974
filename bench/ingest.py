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

Usage::

    .venv/bin/python bench/ingest.py                     # all three, ~2.5 minutes
    .venv/bin/python bench/ingest.py --only ceiling,naive --duration 5
    .venv/bin/python bench/ingest.py --paced-rate 100 --paced-duration 20
    .venv/bin/python bench/ingest.py --paced-duration 0  # saturation only
    .venv/bin/python bench/ingest.py --check             # exit 1 if a target is missed
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import math
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from monitor.datamodel.measurements import SENSOR_EVENT

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
LUA_SCRIPT = BENCH / "wrk_sensor.lua"
APPS_DIR = BENCH / "apps"
BIN = Path(sys.executable).parent

DB = "zoomrooms"
SECRET = "bench-secret-0123456789abcdef"
WEBHOOK_PATH = "/webhooks/zoom"
SENSOR_TYPES = ("CO2", "TEMPERATURE", "HUMIDITY", "VOC", "AQI", "PM25", "PM10",
                "AIR_PRESSURE", "REAL_TIME_PEOPLE_COUNT")
READINGS = len(SENSOR_TYPES)
ROOMS = 1000
LOAD_PREFIX = "bench-room-"
WARM_PREFIX = "warm-room-"
CHECK_PREFIX = "check-room-"
PACED_PREFIX = "paced-room-"
BASE_EPOCH = 1767225600          # 2026-01-01T00:00:00Z: readings at base + n seconds
PROBE_ROOM = "lag-probe"
PACED_PROBE_ROOM = "lag-probe-paced"
PACED_TOO_FAST = 1.5             # achieved / target rate above this: delay() was not in effect
PROBE_BASE_EPOCH = 1769904000    # 2026-02-01T00:00:00Z: one second per probe
PROBE_INTERVAL_S = 0.1
PROBE_POLL_S = 0.02
DRAIN_POLL_S = 0.2
DRAIN_LIMIT_S = 60.0
DRAIN_QUIET_S = 5.0              # no growth for this long (short of the acked count): done
DRAIN_QUIET_COMPLETE_S = 0.6     # no growth for this long once every ack landed: done
READY_TIMEOUT_S = 60.0
STOP_GRACE_S = 10.0
SERVERS = ("ours", "ceiling", "naive")
NS = 1_000_000_000


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    message = b"v0:" + timestamp.encode("ascii") + b":" + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile; ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def finite(value: float | None, digits: int = 3) -> float | None:
    return None if value is None or math.isinf(value) else round(value, digits)


def iso(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sensor_event(room_id: str, epoch_s: int) -> bytes:
    """One event in the same shape the Lua script sends (used by the lag probe)."""
    stamp = iso(epoch_s)
    readings = [{"date_time": stamp, "sensor_type": kind, "sensor_value": f"{100 + i}.0"}
                for i, kind in enumerate(SENSOR_TYPES)]
    event = {"event": SENSOR_EVENT, "event_ts": epoch_s * 1000,
             "payload": {"account_id": "acct-bench",
                         "object": {"id": room_id, "room_name": "Lag Probe",
                                    "device_id": "dev-probe", "sensor_data": readings}}}
    return json.dumps(event, separators=(",", ":")).encode()


# InfluxDB ---------------------------------------------------------------------------------


def influx_post(url: str, query: str) -> None:
    data = urllib.parse.urlencode({"q": query}).encode()
    with urllib.request.urlopen(f"{url}/query", data=data, timeout=10) as response:
        response.read()


def influx_rows(url: str, query: str) -> list[list[Any]]:
    params = urllib.parse.urlencode({"db": DB, "q": query, "epoch": "ns"})
    with urllib.request.urlopen(f"{url}/query?{params}", timeout=10) as response:
        result = json.loads(response.read())["results"][0]
    if "error" in result:
        raise RuntimeError(f"InfluxDB: {result['error']} for {query!r}")
    series = result.get("series") or []
    return list(series[0]["values"]) if series else []


def influx_count(url: str, where: str) -> int:
    rows = influx_rows(url, f'SELECT count("value") FROM "sensor" WHERE {where}')
    return int(rows[0][1]) if rows else 0


def prefix_where(prefix: str) -> str:
    return f"room_id =~ /^{re.escape(prefix)}/"


@contextmanager
def fresh_influxd(root: Path) -> Iterator[tuple[str, int]]:
    """A private influxd with the database created: its URL and its session id (= pid)."""
    sys.path.insert(0, str(ROOT))
    from monitor.store.influxd import LocalInfluxd

    influxd = LocalInfluxd(root).start()
    try:
        influx_post(influxd.url, f"CREATE DATABASE {DB}")
        assert influxd.process is not None
        yield influxd.url, influxd.process.pid
    finally:
        influxd.stop()


def session_processes(sid: int) -> Iterator[tuple[Path, list[str], bytes]]:
    """(/proc entry, stat fields after the command name, command line) of a session's processes."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").strip()
        except OSError:
            continue
        # After "pid (comm) ": state ppid pgrp session ... utime(14) stime cutime cstime.
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[3]) == sid:
            yield entry, fields, cmdline


def session_commands(sid: int) -> list[str]:
    """The live (not zombie) processes of a session, as "pid: command line"."""
    return [f"{entry.name}: {cmdline.decode(errors='replace')[:200]}"
            for entry, fields, cmdline in session_processes(sid) if fields[0] != "Z"]


def session_cpu_s(sid: int) -> dict[str, float]:
    """CPU seconds (user + system, reaped children included) of a session's live processes,
    by role: "writer" and "gunicorn" from the command line, "other" for the rest."""
    ticks: dict[str, int] = {}
    for _, fields, cmdline in session_processes(sid):
        role = next((name for name in ("writer", "gunicorn") if name.encode() in cmdline),
                    "other")
        ticks[role] = ticks.get(role, 0) + sum(int(value) for value in fields[11:15])
    hz = os.sysconf("SC_CLK_TCK")
    return {role: count / hz for role, count in ticks.items()}


def machine_busy_s() -> float:
    """Busy CPU seconds of the whole machine since boot (all but idle and iowait)."""
    with open("/proc/stat") as stat:
        values = [int(value) for value in stat.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuMeter:
    """CPU used by the server, influxd and wrk between start() and stop()."""

    server_sid: int
    influxd_sid: int
    start_values: dict[str, float] = field(default_factory=dict)

    def _now(self) -> dict[str, float]:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        own = resource.getrusage(resource.RUSAGE_SELF)
        server = session_cpu_s(self.server_sid)
        return {**{f"server_{role}": value for role, value in server.items()},
                "server": sum(server.values()),
                "influxd": sum(session_cpu_s(self.influxd_sid).values()),
                "wrk": children.ru_utime + children.ru_stime,
                "bench": own.ru_utime + own.ru_stime,     # this script: lag probe, polling
                "machine": machine_busy_s()}

    def start(self) -> None:
        self.start_values = self._now()

    def stop(self, events: int) -> dict[str, Any]:
        now = self._now()
        used: dict[str, float | None] = {
            f"{key}_s": round(value - self.start_values.get(key, 0.0), 2)
            for key, value in sorted(now.items())}
        def delta(key: str) -> float:
            return now[key] - self.start_values.get(key, 0.0)

        total = delta("server") + delta("influxd")
        used["server_plus_influxd_ms_per_event"] = (
            round(total * 1000 / events, 3) if events > 0 else None)
        # Busy CPU of the whole machine not explained by the above: other processes' work,
        # i.e. how noisy this measurement is.
        used["foreign_s"] = round(delta("machine") - total - delta("wrk") - delta("bench"), 2)
        return used


@dataclass
class Drain:
    events: int
    readings: int
    last_growth: float   # time.monotonic() of the poll that first saw the final count


def wait_landed(influx_url: str, where: str, expected_events: int) -> Drain:
    """Poll until the count stops growing; see DRAIN_* for what "stops" means."""
    start = time.monotonic()
    last, last_growth = -1, start
    while True:
        count = influx_count(influx_url, where)
        now = time.monotonic()
        if count != last:
            last, last_growth = count, now
        quiet = now - last_growth
        if (count // READINGS >= expected_events and quiet >= DRAIN_QUIET_COMPLETE_S) \
                or quiet >= DRAIN_QUIET_S or now - start >= DRAIN_LIMIT_S:
            return Drain(count // READINGS, count, last_growth)
        time.sleep(DRAIN_POLL_S)


# Servers ----------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    command: list[str]
    env: dict[str, str]
    port: int
    log_path: Path
    # ours: SIGINT to the process group, like a terminal's Ctrl-C. The bare gunicorn
    # baselines: SIGTERM to the master only, as zrmon serve stops its own gunicorn --
    # gunicorn's gthread worker handles SIGINT/SIGQUIT by shutting its thread pool down
    # inside the signal handler and deadlocks when the signal lands while the worker
    # holds the pool's lock in submit(), e.g. while wrk's idle keep-alive connections
    # close right after a paced run (seen in ~1 of 3 stops).
    stop_signal: int = signal.SIGINT
    stop_group: bool = True
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                self.command, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n"
                                   f"{self.log_tail()}")
            with suppress(OSError, http.client.HTTPException), \
                    urllib.request.urlopen(f"{self.url}/readyz", timeout=1) as response:
                if response.status == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name}: /readyz not 200 within {READY_TIMEOUT_S:.0f}s:\n"
                           f"{self.log_tail()}")

    def stop(self) -> tuple[float, list[str]]:
        """``stop_signal`` (to the group or the leader), SIGKILL after STOP_GRACE_S.

        Returns the seconds it took and the command lines SIGKILL had to end.
        """
        process = self.process
        if process is None:
            return 0.0, []
        start = time.monotonic()
        with suppress(ProcessLookupError):
            (os.killpg if self.stop_group else os.kill)(process.pid, self.stop_signal)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_GRACE_S)
        survivors = session_commands(process.pid)
        if survivors:
            name = signal.Signals(self.stop_signal).name
            log(f"{self.name}: still running {STOP_GRACE_S:.0f}s after {name}, SIGKILL: "
                f"{survivors}\n{self.log_tail()}")
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)   # stragglers in the group, if any
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
        return round(time.monotonic() - start, 2), survivors

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def zrmon_help() -> str | None:
    """``zrmon serve --help``, or None while ``zrmon serve`` does not work yet."""
    zrmon = BIN / "zrmon"
    if not zrmon.exists():
        return None
    try:
        done = subprocess.run([str(zrmon), "serve", "--help"], capture_output=True, text=True,
                              timeout=30, check=False, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def server_for(name: str, args: argparse.Namespace, influx_url: str, tmp: Path,
               help_text: str | None) -> Server:
    port = free_port()
    env = {**os.environ, "ZOOM_WEBHOOK_SECRET_TOKEN": SECRET, "ZRMON_INFLUX_URL": influx_url,
           "ZRMON_INFLUX_DB": DB, "ZRMON_DATA_DIR": str(tmp / "data")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if name == "ours":
        command = [str(BIN / "zrmon"), "serve", "--host", "127.0.0.1", "--port", str(port),
                   "--workers", str(args.workers), "--admin-port", str(free_port())]
        if help_text is not None and "--threads" in help_text:
            command += ["--threads", str(args.threads)]
    else:
        # The same worker class, counts and keep-alive as monitor/runtime/gunicorn_conf.py.
        command = [str(BIN / "gunicorn"), "-k", "gthread", "--workers", str(args.workers),
                   "--threads", str(args.threads), "--keep-alive", "75",
                   "--log-level", "warning", "--no-control-socket",
                   "--bind", f"127.0.0.1:{port}",
                   "--chdir", str(APPS_DIR), f"{name}:app"]
    if name == "ours":
        return Server(name, command, env, port, tmp / f"{name}.log")
    return Server(name, command, env, port, tmp / f"{name}.log",
                  stop_signal=signal.SIGTERM, stop_group=False)


# wrk --------------------------------------------------------------------------------------


def wrk_command(url: str, *, duration: float, connections: int, threads: int,
                prefix: str, selftest: bool = False, rate: float = 0.0) -> list[str]:
    """wrk with bench/wrk_sensor.lua; ``rate`` > 0 paces it to that many requests/s."""
    return ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s",
            "--timeout", "10s", "-s", str(LUA_SCRIPT), url + WEBHOOK_PATH, "--",
            f"secret={SECRET}", f"threads={threads}", f"prefix={prefix}", f"rooms={ROOMS}",
            f"base={BASE_EPOCH}", f"path={WEBHOOK_PATH}", f"selftest={int(selftest)}",
            f"rate={rate:g}", f"connections={connections}"]


def parse_wrk(stdout: str) -> dict[str, Any]:
    for line in stdout.splitlines():
        if line.startswith("WRKJSON "):
            result: dict[str, Any] = json.loads(line[len("WRKJSON "):])
            return result
    raise RuntimeError(f"wrk printed no WRKJSON line:\n{stdout}")


def run_wrk(url: str, *, duration: float, connections: int, threads: int,
            prefix: str, rate: float = 0.0) -> dict[str, Any]:
    command = wrk_command(url, duration=duration, connections=connections, threads=threads,
                          prefix=prefix, rate=rate)
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          timeout=duration + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited with {done.returncode}: {done.stderr}{done.stdout}")
    return parse_wrk(done.stdout)


def ack_stats(wrk: dict[str, Any]) -> dict[str, Any]:
    latency = wrk["latency_us"]
    non_2xx = int(wrk["status_errors"])
    acked = int(wrk["requests"]) - non_2xx
    duration_s = wrk["duration_us"] / 1e6
    return {
        "requests": wrk["requests"],
        "acked_2xx": acked,
        "non_2xx": non_2xx,
        "socket_errors": {key: wrk[key] for key in
                          ("connect_errors", "read_errors", "write_errors", "timeouts")},
        "wrk_duration_s": round(duration_s, 3),
        "acked_rps": round(acked / duration_s, 1),
        "p50_ack_ms": round(latency["p50"] / 1000, 2),
        "p99_ack_ms": round(latency["p99"] / 1000, 2),
        "p999_ack_ms": round(latency["p999"] / 1000, 2),
        "max_ack_ms": round(latency["max"] / 1000, 2),
        "mean_ack_ms": round(latency["mean"] / 1000, 2),
    }


# Self-check -------------------------------------------------------------------------------


def _gen(length: int, mul: int, add: int) -> bytes:
    return bytes((i * mul + add) % 256 for i in range(length))


@dataclass
class CheckTally:
    ok: int = 0
    bad_signature: int = 0
    bad_shape: list[str] = field(default_factory=list)
    keys: set[tuple[str, str]] = field(default_factory=set)
    duplicates: int = 0
    body_bytes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _check_event(body: bytes) -> tuple[str, str]:
    """The (room, date_time) of a well-formed load event; raises ValueError otherwise."""
    event = json.loads(body)
    obj = event["payload"]["object"]
    readings = obj["sensor_data"]
    if event["event"] != SENSOR_EVENT or len(readings) != READINGS:
        raise ValueError("wrong event or reading count")
    if [r["sensor_type"] for r in readings] != list(SENSOR_TYPES):
        raise ValueError("wrong sensor types")
    stamps = {r["date_time"] for r in readings}
    if len(stamps) != 1:
        raise ValueError("readings of one event disagree on date_time")
    stamp = stamps.pop()
    for reading in readings:
        if not isinstance(reading["sensor_value"], str):
            raise ValueError("sensor_value is not a string")
        float(reading["sensor_value"])
    n = int(datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())
    n -= BASE_EPOCH
    if obj["id"] != f"{CHECK_PREFIX}{n % ROOMS}" or event["event_ts"] != (BASE_EPOCH + n) * 1000:
        raise ValueError(f"room {obj['id']!r} / event_ts do not follow n={n}")
    return str(obj["id"]), stamp


def _check_handler(tally: CheckTally) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            timestamp = self.headers.get("x-zm-request-timestamp", "")
            good = (self.headers.get("Content-Type") == "application/json"
                    and abs(time.time() - int(timestamp or 0)) <= 300
                    and hmac.compare_digest(sign(SECRET, timestamp, body),
                                            self.headers.get("x-zm-signature", "")))
            try:
                key: tuple[str, str] | None = _check_event(body)
                problem = ""
            except (ValueError, KeyError, TypeError) as exc:
                key, problem = None, f"{exc!r}: {body[:200]!r}"
            with tally.lock:
                tally.body_bytes = max(tally.body_bytes, len(body))
                if not good:
                    tally.bad_signature += 1
                elif key is None:
                    tally.bad_shape.append(problem)
                elif key in tally.keys:
                    tally.duplicates += 1
                else:
                    tally.ok += 1
                    tally.keys.add(key)
            self.send_response(200 if good else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """wrk resets its connections when it stops: not worth a traceback."""


def selfcheck(threads: int) -> dict[str, Any]:
    """Lua HMAC == Python HMAC on vectors, and every request signed, well-formed, distinct."""
    tally = CheckTally()
    server = _QuietServer(("127.0.0.1", 0), _check_handler(tally))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        command = wrk_command(url, duration=1, connections=max(threads, 4), threads=threads,
                              prefix=CHECK_PREFIX, selftest=True)
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    finally:
        server.shutdown()
        server.server_close()
    if done.returncode != 0:
        raise RuntimeError(f"wrk self-check failed ({done.returncode}): {done.stderr}")
    vectors = 0
    for line in done.stdout.splitlines():
        if not line.startswith("SELFTEST "):
            continue
        _, keylen, msglen, digest = line.split()
        key, msg = _gen(int(keylen), 7, 3), _gen(int(msglen), 13, 5)
        expected = hmac.new(key, msg, hashlib.sha256).hexdigest()
        if digest != expected:
            raise RuntimeError(f"Lua HMAC-SHA256 wrong for key {keylen} B, message {msglen} B: "
                               f"{digest} != {expected}")
        vectors += 1
    if vectors == 0 or "SELFTEST-END" not in done.stdout:
        raise RuntimeError(f"wrk self-check printed no vectors:\n{done.stdout}")
    wrk = parse_wrk(done.stdout)
    problems = []
    if tally.bad_signature:
        problems.append(f"{tally.bad_signature} requests with a bad signature")
    if tally.bad_shape:
        problems.append(f"{len(tally.bad_shape)} malformed events, e.g. {tally.bad_shape[0]}")
    if tally.duplicates:
        problems.append(f"{tally.duplicates} repeated (room, date_time) pairs")
    if tally.ok == 0:
        problems.append("no request reached the check endpoint")
    if problems:
        raise RuntimeError("wrk self-check: " + "; ".join(problems))
    return {"hmac_vectors": vectors, "signed_distinct_requests": tally.ok,
            "wrk_requests": wrk["requests"], "body_bytes": tally.body_bytes}


# Lag probe --------------------------------------------------------------------------------


class LagProbe:
    """Every 100 ms one distinct signed event; time from its 200 until all 9 readings query."""

    def __init__(self, server_port: int, influx_url: str, room: str = PROBE_ROOM) -> None:
        self.server_port = server_port
        self.influx_url = influx_url
        self.room = room                          # one room per phase: distinct events
        self.pending: dict[int, float] = {}      # reading time (ns) -> monotonic time of the 200
        self.lags: list[float] = []
        self.sent = 0
        self.not_acked = 0
        self.poll_s: list[float] = []             # how long each InfluxDB poll took
        self.lock = threading.Lock()
        self.sending = threading.Event()
        self.polling = threading.Event()
        self.threads = [threading.Thread(target=self._send, daemon=True),
                        threading.Thread(target=self._poll, daemon=True)]

    def start(self) -> None:
        self.sending.set()
        self.polling.set()
        for thread in self.threads:
            thread.start()

    def stop_sending(self) -> None:
        self.sending.clear()
        self.threads[0].join(timeout=15)

    def finish(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not self.pending:
                    break
            time.sleep(PROBE_POLL_S)
        self.polling.clear()
        self.threads[1].join(timeout=15)

    def _send(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.server_port, timeout=10)
        start = time.monotonic()
        index = 0
        while self.sending.is_set():
            epoch_s = PROBE_BASE_EPOCH + index
            body = sensor_event(self.room, epoch_s)
            timestamp = str(int(time.time()))
            headers = {"Content-Type": "application/json", "x-zm-request-timestamp": timestamp,
                       "x-zm-signature": sign(SECRET, timestamp, body)}
            status = 0
            try:
                conn.request("POST", WEBHOOK_PATH, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.server_port, timeout=10)
            acked = time.monotonic()
            with self.lock:
                self.sent += 1
                if status == 200:
                    self.pending[epoch_s * NS] = acked
                else:
                    self.not_acked += 1
            index += 1
            time.sleep(max(0.0, start + index * PROBE_INTERVAL_S - time.monotonic()))
        conn.close()

    def _poll(self) -> None:
        while self.polling.is_set():
            with self.lock:
                times = list(self.pending)
            if times:
                query = (f"SELECT count(\"value\") FROM \"sensor\" WHERE room_id='{self.room}' "
                         f"AND time >= {min(times)} AND time <= {max(times)} "
                         "GROUP BY time(1s) fill(none)")
                asked = time.monotonic()
                try:
                    rows = influx_rows(self.influx_url, query)
                except (OSError, RuntimeError, ValueError):
                    rows = []
                seen = time.monotonic()
                with self.lock:
                    self.poll_s.append(seen - asked)
                    for stamp, count in rows:
                        if count >= READINGS and stamp in self.pending:
                            self.lags.append(seen - self.pending.pop(stamp))
            time.sleep(PROBE_POLL_S)

    def report(self) -> dict[str, Any]:
        with self.lock:
            unresolved = len(self.pending)
            lags = list(self.lags)
        poll_p99 = percentile(self.poll_s, 99)
        # A probe that never became queryable has an infinite lag.
        with_lost = lags + [math.inf] * unresolved
        # JSON has no infinity: such a percentile is reported as null.
        return {"probes_sent": self.sent, "probes_not_acked": self.not_acked,
                "probes_landed": len(lags), "probes_unresolved": unresolved,
                "p50_lag_s": finite(percentile(with_lost, 50)),
                "p99_lag_s": finite(percentile(with_lost, 99)),
                "max_lag_s": finite(max(with_lost, default=None)),
                "probe_polls": len(self.poll_s),
                "probe_poll_p99_ms": None if poll_p99 is None else round(poll_p99 * 1000, 1)}


# One server -------------------------------------------------------------------------------


def measure(name: str, args: argparse.Namespace, help_text: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"zrmon-bench-{name}-") as tmpdir:
        tmp = Path(tmpdir)
        with fresh_influxd(tmp / "influx") as (influx_url, influxd_sid):
            server = server_for(name, args, influx_url, tmp, help_text)
            log(f"{name}: starting {' '.join(server.command)}")
            try:
                server.start()
                result = _load(server, name, args, influx_url, influxd_sid)
            except Exception:
                log(f"{name}: failed; last lines of its log:\n{server.log_tail()}")
                raise
            finally:
                stop_s, survivors = server.stop()
            result["stop_s"], result["stop_sigkilled"] = stop_s, survivors
            return result


def _load(server: Server, name: str, args: argparse.Namespace, influx_url: str,
          influxd_sid: int) -> dict[str, Any]:
    load = {"connections": args.connections, "threads": args.wrk_threads}
    if args.warmup > 0:
        log(f"{name}: warm-up {args.warmup:g}s")
        warm = run_wrk(server.url, duration=args.warmup, prefix=WARM_PREFIX, **load)
        if name != "ceiling":
            wait_landed(influx_url, prefix_where(WARM_PREFIX),
                        int(warm["requests"]) - int(warm["status_errors"]))
    probe = LagProbe(server.port, influx_url) if name == "ours" else None
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
        landed = influx_count(influx_url, prefix_where(LOAD_PREFIX)) // READINGS
        result = {"rps": stats["acked_rps"], **stats, "landed_events": landed, "cpu": cpu_used}
    else:
        assert probe is not None
        drain = wait_landed(influx_url, prefix_where(LOAD_PREFIX), stats["acked_2xx"])
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
            result["paced"] = _paced(server, name, args, influx_url, influxd_sid)
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


def _paced(server: Server, name: str, args: argparse.Namespace, influx_url: str,
           influxd_sid: int) -> dict[str, Any]:
    """A fixed request rate well below saturation: ack latency = service time."""
    log(f"{name}: paced {args.paced_duration:g}s, {args.paced_rate:g} req/s over "
        f"{args.paced_connections} connections")
    probe = LagProbe(server.port, influx_url, PACED_PROBE_ROOM) if name == "ours" else None
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
        drain = wait_landed(influx_url, prefix_where(PACED_PREFIX), stats["acked_2xx"])
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
