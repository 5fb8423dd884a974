"""Naive: verify, parse, and write the readings to InfluxDB before answering.

What a first version of the receiver would do: one synchronous line-protocol
write (``POST /write?db=...&precision=ns``) per webhook, 200 only after
InfluxDB answered 204. Same signature check and gunicorn setup as the
ceiling app; the difference in throughput is the cost of the inline write.

Environment: ``ZOOM_WEBHOOK_SECRET_TOKEN``, ``ZRMON_INFLUX_URL``, ``ZRMON_INFLUX_DB``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from datetime import datetime
from typing import Any
from urllib.parse import quote

import urllib3
from flask import Flask, Response, request

SECRET = os.environ["ZOOM_WEBHOOK_SECRET_TOKEN"].encode()
INFLUX_URL = os.environ.get("ZRMON_INFLUX_URL", "http://127.0.0.1:8086").rstrip("/")
INFLUX_DB = os.environ.get("ZRMON_INFLUX_DB", "zoomrooms")
WRITE_URL = f"{INFLUX_URL}/write?db={quote(INFLUX_DB)}&precision=ns"
WINDOW_S = 300

# One pool per worker process, shared by its threads (urllib3 pools are thread-safe).
http = urllib3.PoolManager(maxsize=32, retries=False,
                           timeout=urllib3.Timeout(connect=2.0, read=10.0))
app = Flask(__name__)

_TAG_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ ", "\\": "\\\\"})


def verified(body: bytes) -> bool:
    timestamp = request.headers.get("x-zm-request-timestamp", "")
    signature = request.headers.get("x-zm-signature", "")
    try:
        if abs(time.time() - int(timestamp)) > WINDOW_S:
            return False
    except ValueError:
        return False
    message = b"v0:" + timestamp.encode("ascii") + b":" + body
    expected = "v0=" + hmac.new(SECRET, message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode())


def _tag(value: object) -> str:
    return str(value).translate(_TAG_ESCAPES)


def lines(event: dict[str, Any]) -> list[str]:
    payload = event.get("payload") or {}
    obj = payload.get("object") or {}
    base = (f"sensor,account_id={_tag(payload.get('account_id', ''))}"
            f",device_id={_tag(obj.get('device_id', ''))}"
            f",room_id={_tag(obj.get('id', ''))},room_name={_tag(obj.get('room_name', ''))}")
    out = []
    for reading in obj.get("sensor_data") or ():
        stamp = datetime.fromisoformat(str(reading["date_time"]).replace("Z", "+00:00"))
        time_ns = int(stamp.timestamp()) * 1_000_000_000 + stamp.microsecond * 1000
        value = float(reading["sensor_value"])
        out.append(f"{base},sensor_type={_tag(reading['sensor_type'])} value={value!r} {time_ns}")
    return out


@app.post("/webhooks/zoom")
def receive() -> Response:
    body = request.get_data(cache=False)
    if not verified(body):
        return Response('{"error":"unauthorized"}', 401, mimetype="application/json")
    try:
        event = json.loads(body)
        points = lines(event)
    except (ValueError, KeyError, TypeError, AttributeError):
        return Response('{"error":"invalid"}', 400, mimetype="application/json")
    try:
        answer = http.request("POST", WRITE_URL, body="\n".join(points).encode())
    except urllib3.exceptions.HTTPError:
        return Response('{"error":"influx_unavailable"}', 503, mimetype="application/json")
    if answer.status != 204:
        return Response('{"error":"influx_error"}', 503, mimetype="application/json")
    return Response("{}", 200, mimetype="application/json")


@app.get("/readyz")
def readyz() -> Response:
    return Response('{"status":"ready"}', 200, mimetype="application/json")
