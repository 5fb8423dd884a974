"""``POST /webhooks/zoom``: the one endpoint Zoom posts every event to.

The answer comes after the event is durably in the spool and before it is in
InfluxDB, well inside Zoom's 3-second budget. Status codes follow Zoom's
retry rules: 4xx for what a retry cannot fix (Zoom never retries those, so
signed-but-invalid events are quarantined first), 503 for what it can.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import time
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from monitor.core.metrics import (
    ACK_LATENCY,
    CLOCK_SKEW,
    CLOCK_SKEW_LAST,
    EVENTS_RECEIVED,
    READINGS_REJECTED,
    SIGNATURE_FAILURES,
    SIGNATURES_VERIFIED,
)
from monitor.store.spool import SpoolFullError
from monitor.webhooks.bounds import gc_paused
from monitor.webhooks.catalog import load_catalog
from monitor.webhooks.intake import Intake, QuarantineEntry, parse_body, prepare
from monitor.webhooks.receiver import Receiver, receiver
from monitor.webhooks.signature import SignatureError, url_validation_response, verify

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__)

URL_VALIDATION = "endpoint.url_validation"


@functools.cache
def known_events() -> frozenset[str]:
    """Event names we label metrics with; anything else is "other" (bounded cardinality)."""
    return frozenset(load_catalog()["events"])


_ACCEPTED = {"status": "accepted"}
_ACCEPTED_BYTES = json.dumps(_ACCEPTED).encode()


@functools.cache
def _counted(label: str, outcome: str) -> Any:
    """The metric children of one (event label, outcome): ``labels()`` costs more than the inc.

    Both are bounded sets (catalog events and "other"; fixed outcomes), so is this cache.
    """
    return EVENTS_RECEIVED.labels(label, outcome), ACK_LATENCY.labels(outcome)


def _record(event: str, outcome: str, *, delivery: bool = True) -> None:
    """Count the answer; ``delivery=False`` for one given before the signature was seen
    (it is no delivery from Zoom, and ``zrmon_receiver`` counts those)."""
    label = event if event in known_events() or event == URL_VALIDATION else "other"
    received, latency = _counted(label, outcome)
    if delivery:
        received.inc()
    started = g.get("ack_started")
    if started is not None:
        latency.observe(time.perf_counter() - started)


def _answer(status: int, body: dict[str, Any], event: str, outcome: str) -> tuple[Response, int]:
    _record(event, outcome)
    if body == _ACCEPTED:  # the hot path: skip serialising the same bytes every time
        return Response(_ACCEPTED_BYTES, mimetype="application/json"), status
    return jsonify(body), status


@bp.post("/webhooks/zoom")
def receive() -> tuple[Response, int]:
    g.ack_started = time.perf_counter()
    svc = receiver()
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        _record("", "too_large", delivery=False)  # answered and drained by the app's handler
        raise
    try:
        verified = verify(
            svc.signature,
            signature=request.headers.get("x-zm-signature"),
            timestamp=request.headers.get("x-zm-request-timestamp"),
            body=body,
            now_s=time.time(),
            retry_num=request.headers.get("x-zoom-retry-num"),
        )
    except SignatureError as exc:
        SIGNATURE_FAILURES.labels(exc.reason).inc()
        if exc.skew_s is not None:
            _observe_skew(exc.skew_s, svc.signature.window_s)
        return _answer(401, {"error": "unauthorized", "message": str(exc)}, "", "unauthorized")
    _verified(verified.token).inc()
    if not verified.retry:
        _observe_skew(verified.skew_s, svc.signature.window_s)
    received_ns = time.time_ns()
    with gc_paused() if len(body) > _GC_PAUSE_FROM_BYTES else contextlib.nullcontext():
        parsed = parse_body(body, svc.limits, svc.privacy)
        if isinstance(parsed, Intake):
            intake = parsed
        elif parsed.get("event") == URL_VALIDATION:
            return _url_validation(svc, parsed)
        else:
            intake = _prepare(parsed, body, svc)
        del parsed  # freed here, while collection is still off
    return _finish(svc, intake, received_ns)


def _prepare(parsed: dict[str, Any], body: bytes, svc: Receiver) -> Intake:
    try:
        return prepare(parsed, svc.privacy)
    except Exception as exc:  # a bug of ours must not lose a signed event
        log.exception("intake failed; quarantining the event")
        intake = Intake(200, str(parsed.get("event", "")), "quarantined", {"status": "quarantined"})
        intake.quarantine.append(_internal_error_entry(body, exc))
        return intake


# Below this a body makes too few containers for a collection to matter.
_GC_PAUSE_FROM_BYTES = 16_384
_SKEW_WARNING_INTERVAL_S = 60.0


@functools.cache
def _verified(token: str) -> Any:
    return SIGNATURES_VERIFIED.labels(token)


_last_skew_warning = [0.0]


def _observe_skew(skew_s: float, window_s: int) -> None:
    """Record the sender's clock against ours; warn (once a minute) at half the window.

    Retries are left out: they may carry their first attempt's timestamp.
    """
    CLOCK_SKEW.observe(skew_s)
    CLOCK_SKEW_LAST.set(skew_s)
    if abs(skew_s) > window_s / 2:
        now = time.monotonic()
        if now - _last_skew_warning[0] >= _SKEW_WARNING_INTERVAL_S:
            _last_skew_warning[0] = now
            log.warning("x-zm-request-timestamp is %+.0f s off our clock (deliveries are refused "
                        "beyond %d s): check NTP on this host", skew_s, window_s)


def _internal_error_entry(body: bytes, exc: Exception) -> QuarantineEntry:
    return QuarantineEntry(body, "internal_error", {"_internal": [repr(exc)]})


def _url_validation(svc: Receiver, data: dict[str, Any]) -> tuple[Response, int]:
    payload = data.get("payload")
    token = payload.get("plainToken") if isinstance(payload, dict) else None
    if not isinstance(token, str) or not token:
        errors = {"payload.plainToken": ["Missing or not a string."]}
        return _answer(
            422, {"error": "validation_failed", "fields": errors}, URL_VALIDATION, "invalid"
        )
    return _answer(
        200, url_validation_response(svc.signature.secret, token), URL_VALIDATION, "url_validation"
    )


def _finish(svc: Receiver, intake: Intake, received_ns: int) -> tuple[Response, int]:
    """Spool first, then quarantine: a retry after a failure here duplicates, never loses."""
    try:
        if intake.spool_payload is not None:
            svc.spool.append(intake.spool_payload, received_ns)
        ids = [
            svc.quarantine.add(
                entry.body,
                event=intake.event,
                reason=entry.reason,
                errors=entry.errors,
                received_ns=received_ns,
            )
            for entry in intake.quarantine
        ]
    except SpoolFullError:
        return _answer(
            503, {"error": "spool_full", "message": "try again later"}, intake.event, "spool_full"
        )
    except OSError as exc:
        log.error("cannot store event durably: %s", exc)
        return _answer(
            503,
            {"error": "storage_unavailable", "message": str(exc)},
            intake.event,
            "storage_error",
        )
    if intake.outcome == "partial":
        READINGS_REJECTED.inc(sum(len(e.errors) for e in intake.quarantine))
    body = dict(intake.response)
    if ids:
        body["quarantine_id"] = ids[0]
    return _answer(intake.status, body, intake.event, intake.outcome)
