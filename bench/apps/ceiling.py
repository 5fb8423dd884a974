"""Ceiling: the least a Zoom webhook receiver can do on our gunicorn setup.

Checks the v0 HMAC signature (and the timestamp window), parses the JSON and
answers 200 ``{}``. Nothing is stored, so its throughput is the upper bound
for any receiver with the same worker class and counts.

Run by bench/ingest.py as ``gunicorn -k gthread ... --chdir bench/apps ceiling:app``
with ``ZOOM_WEBHOOK_SECRET_TOKEN`` in the environment.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time

from flask import Flask, Response, request

SECRET = os.environ["ZOOM_WEBHOOK_SECRET_TOKEN"].encode()
WINDOW_S = 300

app = Flask(__name__)


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


@app.post("/webhooks/zoom")
def receive() -> Response:
    body = request.get_data(cache=False)
    if not verified(body):
        return Response('{"error":"unauthorized"}', 401, mimetype="application/json")
    try:
        event = json.loads(body)
    except ValueError:
        return Response('{"error":"invalid_json"}', 400, mimetype="application/json")
    if not isinstance(event, dict):
        return Response('{"error":"invalid_json"}', 400, mimetype="application/json")
    return Response("{}", 200, mimetype="application/json")


@app.get("/readyz")
def readyz() -> Response:
    return Response('{"status":"ready"}', 200, mimetype="application/json")
