"""Bounds benchmark: ack latency of the worst bodies a signed sender can make, on ``zrmon serve``.

Not a test: it prints one JSON document on stdout (progress on stderr) and
exits 0 whatever the numbers are, unless ``--check`` is given, in which case a
missed target exits 1.

Each body below is sent ``--requests`` times, one after the other on one
keep-alive connection (what a lone Zoom delivery sees), each freshly signed,
to a real ``zrmon serve`` (gunicorn and the writer, rules off) with a private
influxd and the default bounds (docs/ingest.md). The latency is the client's:
from sending the request to the whole answer, upload of up to 1 MiB included.

* ``questionnaire_790kb``: the body that once held a worker for over ten
  seconds -- 500 questionnaire responses of 500 empty questions each (413).
* ``questionnaire_at_nodes_invalid``: just inside ``max_json_nodes``, every
  question missing both required ids (422, the first 50 named).
* ``questionnaire_at_nodes_valid``: just inside the bounds and valid (200).
* ``deepest_nesting``: as many ``max_json_depth``-deep nests as the value
  bound allows (200); ``too_deep``: one level more (413).
* ``max_items_arrays``: arrays of exactly ``max_json_items`` items up to the
  value bound (200).
* ``sensor_max_readings``: a ``zoomroom.sensor_data`` event with as many
  readings as the bounds allow (4 values each), the hot path at its bound
  (200, every reading stored);
  ``sensor_max_readings_invalid``: the same with every reading bad (422).
* ``longest_strings``: strings of exactly ``max_string_bytes`` (ASCII and
  two-byte UTF-8) filling the 1 MiB body limit (200).
* ``over_body_limit``: 1.5 MiB, refused by size before parsing (413).
* ``normal_sensor_event``: nine readings, for comparison.

``targets``: ``p99_ms<100`` for every body (``worst_p99_ms`` names the
slowest).

Usage::

    .venv/bin/python bench/bounds.py                  # ~1-2 minutes
    .venv/bin/python bench/bounds.py --requests 30 --only questionnaire_790kb
    .venv/bin/python bench/bounds.py --check
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from ingest_events import BIN, DB, SECRET, log, percentile
from ingest_landing import fresh_influxd
from ingest_servers import Server, session_cpu_s

from monitor.datamodel.measurements import SENSOR_EVENT
from monitor.store.influxd import free_port
from monitor.webhooks.bounds import Limits
from monitor.webhooks.signature import sign

TARGET_P99_MS = 100.0
# The default bounds (monitor/webhooks/bounds.py; the same as Config's).
_LIMITS = Limits()
DEPTH, ITEMS = _LIMITS.max_depth, _LIMITS.max_items
NODES, STRING_BYTES = _LIMITS.max_nodes, _LIMITS.max_string_bytes
QUESTIONNAIRE = "workspace.reservation_questionnaire_response_created"


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def envelope(event: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"event": event, "event_ts": 1793527200000,
            "payload": {"account_id": "acct-bench", "operator": "ops@example.com",
                        "operator_id": "u1", "object": obj}}


def questionnaire(items: int, questions: int, question: dict[str, Any]) -> bytes:
    responses = [{"id": f"q{i}", "subject": "", "title": "",
                  "list": [dict(question) for _ in range(questions)]} for i in range(items)]
    return dumps(envelope(QUESTIONNAIRE, {
        "desk_id": "d", "event_id": "e", "location_id": "l",
        "start_time": "2026-11-01T10:00:00Z", "user_name": "u", "workspace_name": "w",
        "questionnaire_response": responses}))


def room_object(**extra: Any) -> dict[str, Any]:
    return {"id": "bench-room", "room_name": "Bench", **extra}


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def deepest(depth: int) -> bytes:
    """Nests reaching exactly ``depth`` (envelope, payload, object and the array count too)."""
    inner = depth - 4   # envelope, payload, object, the array holding the nests
    count = (NODES - 50) // (inner + 1)
    return dumps(envelope("zoomroom.updated", room_object(nests=[nested(inner)] * count)))


def max_items_arrays() -> bytes:
    arrays = {f"list{i}": list(range(ITEMS)) for i in range(NODES // ITEMS - 1)}
    return dumps(envelope("zoomroom.updated", room_object(**arrays)))


def sensor(readings: int, *, valid: bool) -> bytes:
    data = [{"date_time": f"2026-11-0{1 + i // 86400 % 9}T{i // 3600 % 24:02d}:"
                          f"{i // 60 % 60:02d}:{i % 60:02d}Z" if valid else "yesterday",
             "sensor_type": "CO2", "sensor_value": str(400 + i % 500)}
            for i in range(readings)]
    obj = {"id": "bench-room", "room_name": "Bench", "device_id": "dev-bench",
           "sensor_data": data}
    return dumps(envelope(SENSOR_EVENT, obj))


def longest_strings(limit: int) -> bytes:
    ascii_text = "x" * STRING_BYTES
    utf8_text = "é" * (STRING_BYTES // 2)
    strings = {}
    size = 400
    index = 0
    while size + STRING_BYTES + 32 < limit:
        strings[f"s{index}"] = ascii_text if index % 2 == 0 else utf8_text
        size += STRING_BYTES + 16
        index += 1
    return dumps(envelope("zoomroom.updated", room_object(**strings)))


def bodies(max_body_bytes: int) -> dict[str, tuple[Callable[[], bytes], int]]:
    """Name -> (how to make the body, the status it must get)."""
    # Nodes per question: the object and its two ids (and the options array); per
    # reading: the object and its three values.
    readings = min(ITEMS, (NODES - 20) // 4)
    return {
        "questionnaire_790kb": (lambda: questionnaire(500, 500, {}), 413),
        "questionnaire_at_nodes_invalid": (lambda: questionnaire(40, NODES // 40 - 10, {}),
                                           422),
        "questionnaire_at_nodes_valid": (
            lambda: questionnaire(20, NODES // 20 // 4 - 5,
                                  {"question_id": "q", "reply_id": "r", "options": []}), 200),
        "deepest_nesting": (lambda: deepest(DEPTH), 200),
        "too_deep": (lambda: deepest(DEPTH + 1), 413),
        "max_items_arrays": (max_items_arrays, 200),
        "sensor_max_readings": (lambda: sensor(readings, valid=True), 200),
        "sensor_max_readings_invalid": (lambda: sensor(readings, valid=False), 422),
        "longest_strings": (lambda: longest_strings(max_body_bytes), 200),
        "over_body_limit": (lambda: b"[" + b"0," * (max_body_bytes * 3 // 4) + b"0]", 413),
        "normal_sensor_event": (lambda: sensor(9, valid=True), 200),
    }


def measure(url: str, body: bytes, expected: int, count: int) -> dict[str, Any]:
    session = requests.Session()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    for _ in range(count):
        timestamp = str(int(time.time()))
        headers = {"x-zm-request-timestamp": timestamp, "Content-Type": "application/json",
                   "x-zm-signature": sign(SECRET.encode(), timestamp, body)}
        began = time.perf_counter()
        response = session.post(url, data=body, headers=headers, timeout=30)
        latencies.append((time.perf_counter() - began) * 1000)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    return {
        "bytes": len(body), "requests": count,
        "statuses": {str(code): n for code, n in sorted(statuses.items())},
        "expected_status": expected, "as_expected": statuses == {expected: count},
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(max(latencies), 2),
    }


def server_ack_totals(admin_url: str) -> tuple[float, float]:
    """(seconds, requests) the receiver itself has spent answering webhooks so far."""
    from prometheus_client.parser import text_string_to_metric_families

    text = requests.get(f"{admin_url}/metrics", timeout=10).text
    seconds = count = 0.0
    for family in text_string_to_metric_families(text):
        if family.name == "zrmon_webhook_ack_seconds":
            for sample in family.samples:
                if sample.name.endswith("_sum"):
                    seconds += sample.value
                elif sample.name.endswith("_count"):
                    count += sample.value
    return seconds, count


def wait_admin(admin_url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{admin_url}/healthz", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the admin listener did not come up")


def run(args: argparse.Namespace) -> dict[str, Any]:
    chosen = bodies(args.max_body_bytes)
    if args.only:
        chosen = {name: chosen[name] for name in args.only.split(",")}
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="zrmon-bounds-") as temp:
        tmp = Path(temp)
        with fresh_influxd(tmp / "influxd") as (influxd, _):
            port = free_port()
            env = {**os.environ, "ZOOM_WEBHOOK_SECRET_TOKEN": SECRET,
                   "ZRMON_INFLUX_URL": influxd.url, "ZRMON_INFLUX_DB": DB,
                   "ZRMON_DATA_DIR": str(tmp / "data"), "ZRMON_EVALUATE": "false"}
            env.pop("PROMETHEUS_MULTIPROC_DIR", None)
            admin_port = free_port()
            command = [str(BIN / "zrmon"), "serve", "--host", "127.0.0.1", "--port",
                       str(port), "--workers", str(args.workers), "--admin-port",
                       str(admin_port)]
            server = Server("ours", command, env, port, tmp / "serve.log")
            server.start()
            admin_url = f"http://127.0.0.1:{admin_port}"
            try:
                wait_admin(admin_url)
                url = f"{server.url}/webhooks/zoom"
                for name, (make, expected) in chosen.items():
                    body = make()
                    measure(url, body, expected, 3)   # warm-up
                    log(f"{name}: {len(body)} bytes x {args.requests}")
                    seconds, count = server_ack_totals(admin_url)
                    cpu = session_cpu_s(server.process.pid)
                    results[name] = measure(url, body, expected, args.requests)
                    seconds_after, count_after = server_ack_totals(admin_url)
                    cpu_after = session_cpu_s(server.process.pid)
                    answered = max(count_after - count, 1)
                    # What the app spent per answer (zrmon_webhook_ack_seconds), and the
                    # CPU of gunicorn's workers per request: the rest of the client's
                    # latency is transfer, queueing and other processes on the machine.
                    results[name]["server_mean_ms"] = round(
                        (seconds_after - seconds) * 1000 / answered, 2)
                    results[name]["gunicorn_cpu_ms_per_request"] = round(
                        (cpu_after.get("gunicorn", 0) - cpu.get("gunicorn", 0)) * 1000
                        / args.requests, 2)
            finally:
                server.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100, help="per body (default 100)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-body-bytes", type=int, default=1024 * 1024)
    parser.add_argument("--only", help="comma-separated body names")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()[0]
    results = run(args)
    worst = max(results, key=lambda name: results[name]["p99_ms"])
    verdicts = {f"{name}.p99_ms<{TARGET_P99_MS:.0f}": result["p99_ms"] < TARGET_P99_MS
                for name, result in results.items()}
    verdicts["every_status_as_expected"] = all(r["as_expected"] for r in results.values())
    document = {
        "benchmark": "bounds",
        "bounds": {"max_json_depth": DEPTH, "max_json_items": ITEMS, "max_json_nodes": NODES,
                   "max_string_bytes": STRING_BYTES, "max_body_bytes": args.max_body_bytes},
        "bodies": results,
        "worst_p99_ms": {"body": worst, "p99_ms": results[worst]["p99_ms"]},
        "targets": verdicts,
        # The machine is shared: a load average well above its cores means the client's
        # figures include waiting for a CPU.
        "machine": {"cores": os.cpu_count(), "load_1m_before": round(load_before, 2),
                    "load_1m_after": round(os.getloadavg()[0], 2)},
    }
    print(json.dumps(document, indent=2))
    if args.check and not all(verdicts.values()):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
