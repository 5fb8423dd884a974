"""The load: wrk with bench/wrk_sensor.lua, its results, and a self-check of the script.

Every request is a distinct ``zoomroom.sensor_data`` event signed with Zoom's v0
HMAC computed in LuaJIT. Before any server is measured, the self-check compares
the Lua HMAC with Python's on generated vectors and runs wrk against a tiny
Python endpoint that verifies every signature (:func:`monitor.webhooks.signature.sign`)
and that every (room, date_time) is distinct.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ingest_events import (
    BASE_EPOCH,
    BENCH,
    CHECK_PREFIX,
    READINGS,
    ROOMS,
    SECRET,
    SENSOR_TYPES,
    WEBHOOK_PATH,
)

from monitor.datamodel.measurements import SENSOR_EVENT
from monitor.webhooks.signature import sign

LUA_SCRIPT = BENCH / "wrk_sensor.lua"


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
                    and hmac.compare_digest(sign(SECRET.encode(), timestamp, body),
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
