"""From a verified request body to what goes into the spool, the quarantine and the answer.

Shared by the webhook route and ``zrmon quarantine replay`` so a replayed
event passes exactly the checks a live delivery passes. No I/O here: the
caller writes the spool and quarantine entries this returns.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError

from monitor.core import jsonutil
from monitor.datamodel.measurements import SENSOR_EVENT
from monitor.webhooks import bounds
from monitor.webhooks.bounds import LimitExceeded, Limits
from monitor.webhooks.hotpath import check_reading
from monitor.webhooks.privacy import could_need_scrub, needs_scrub, scrub
from monitor.webhooks.validation import (
    TRUNCATED,
    flatten_errors,
    truncation_note,
    validate_event,
)

#: Fields named in one answer or quarantine entry. 250,000 bad items are one
#: mistake; naming each would cost more than the rest of the request (and
#: make a 48 MB answer), so the first ones are named and the rest counted out.
MAX_REPORTED_ERRORS = 50


@dataclass(frozen=True)
class QuarantineEntry:
    body: bytes
    reason: str
    errors: dict[str, list[str]]


@dataclass
class Intake:
    status: int
    event: str
    outcome: str  # the metrics label
    response: dict[str, Any]
    spool_payload: bytes | None = None
    quarantine: list[QuarantineEntry] = field(default_factory=list)


@dataclass(frozen=True)
class Privacy:
    salt: bytes
    keep_visitor_pii: bool = False


def parse_body(body: bytes, limits: Limits, privacy: Privacy) -> dict[str, Any] | Intake:
    """The JSON object, or the 400/413 to answer (the body is quarantined).

    The bounds are checked before any schema sees the value, so what a
    delivery can cost is set by configuration, not by its content.
    """
    try:
        data = jsonutil.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        if bounds.parser_depth_error(str(exc)):
            return _over_limit(LimitExceeded(
                bounds.MAX_DEPTH, limits.max_depth, "",
                f"nested deeper than {min(limits.max_depth, 1024)} levels"), None, body, privacy)
        errors = {"body": [f"not valid JSON: {str(exc)[:200]}"]}
        return _rejected(400, "", "invalid_json", errors, body)
    if not bounds.within_by_size(body, limits):
        exceeded = bounds.check(data, limits)
        if exceeded is not None:
            return _over_limit(exceeded, data, body, privacy)
    if not isinstance(data, dict):
        errors = {"body": ["must be a JSON object"]}
        return _rejected(400, "", "invalid_json", errors, body)
    return data


def _scrubbed_or_nothing(data: Any, privacy: Privacy) -> bytes:
    """The scrubbed JSON of an over-limit value, or nothing if it is too deep to write."""
    if data is None:
        return b""
    try:
        return _dump(scrub(data, privacy.salt, keep_visitor_pii=privacy.keep_visitor_pii))
    except (TypeError, ValueError, RecursionError):  # orjson writes at most 255 levels
        return b""


def _over_limit(exceeded: LimitExceeded, data: Any, body: bytes, privacy: Privacy) -> Intake:
    """413 naming the bound; the body is kept, scrubbed if it may hold credentials.

    A body too deep to parse or to write back cannot be scrubbed; if it may
    hold credentials only the errors are kept.
    """
    event = data.get("event") if isinstance(data, dict) else None
    field_name = exceeded.field or "body"
    errors = {field_name: [f"{exceeded.message} ({exceeded.limit})"]}
    response = {
        "error": "limit_exceeded",
        "limit": exceeded.limit,
        "bound": exceeded.bound,
        "field": field_name,
        "message": f"{field_name}: {exceeded.message}; raise ZRMON_{exceeded.limit.upper()} "
                   "if Zoom really sends this",
        "fields": errors,
    }
    kept = body
    if could_need_scrub(body):
        kept = _scrubbed_or_nothing(data, privacy)
    entry = QuarantineEntry(kept, "limit_exceeded", errors)
    name = event if isinstance(event, str) else ""
    return Intake(413, name, "limit_exceeded", response, quarantine=[entry])


def prepare(data: dict[str, Any], privacy: Privacy) -> Intake:
    event = data.get("event")
    if not isinstance(event, str):
        errors = {"event": ["Missing or not a string."]}
        return _rejected(422, "", "invalid", errors, _scrubbed_dump(data, privacy))
    try:
        loaded = validate_event(event, data, max_errors=MAX_REPORTED_ERRORS + 1)
    except ValidationError as exc:
        errors = flatten_errors(exc.messages, limit=MAX_REPORTED_ERRORS)
        return _rejected(422, event, "invalid", errors, _scrubbed_dump(data, privacy))
    quarantine: list[QuarantineEntry] = []
    if event == SENSOR_EVENT:
        readings_result = _split_readings(data, loaded, privacy)
        if isinstance(readings_result, Intake):
            return readings_result
        quarantine = readings_result
    if needs_scrub(event):
        loaded = scrub(loaded, privacy.salt, keep_visitor_pii=privacy.keep_visitor_pii)
    response: dict[str, Any] = {"status": "accepted"}
    outcome = "accepted"
    if quarantine:
        response = {"status": "partially_accepted", "rejected": quarantine[0].errors}
        outcome = "partial"
    return Intake(200, event, outcome, response, _dump(loaded), quarantine)


def _split_readings(
    data: dict[str, Any], loaded: dict[str, Any], privacy: Privacy
) -> list[QuarantineEntry] | Intake:
    """Keep good readings in ``loaded``; bad ones go to quarantine as an event of their own."""
    obj = loaded["payload"]["object"]
    readings = obj.get("sensor_data") or []
    good: list[dict[str, Any]] = []
    bad: list[Any] = []
    errors: dict[str, list[str]] = {}
    for index, reading in enumerate(readings):
        checked, problems = check_reading(reading)
        if checked is not None:
            good.append(checked)
            continue
        bad.append(reading)
        if len(errors) >= MAX_REPORTED_ERRORS:
            errors[TRUNCATED] = [truncation_note(MAX_REPORTED_ERRORS)]
            continue
        for path, messages in flatten_errors(problems or {}).items():
            errors[f"payload.object.sensor_data.{index}.{path}"] = messages
    obj["sensor_data"] = good
    if not bad:
        return []
    if not good:
        return _rejected(422, SENSOR_EVENT, "invalid", errors, _dump(data))
    leftover = copy.copy(data)
    leftover["payload"] = copy.copy(data["payload"])
    leftover["payload"]["object"] = {**data["payload"]["object"], "sensor_data": bad}
    return [QuarantineEntry(_scrubbed_dump(leftover, privacy), "invalid_readings", errors)]


def _scrubbed_dump(data: dict[str, Any], privacy: Privacy) -> bytes:
    """The JSON of ``data`` without credentials; most bodies have none, and skip the copy."""
    text = _dump(data)
    if not could_need_scrub(text):
        return text
    return _dump(scrub(data, privacy.salt, keep_visitor_pii=privacy.keep_visitor_pii))


def _rejected(
    status: int, event: str, outcome: str, errors: dict[str, list[str]], body: bytes
) -> Intake:
    response = {
        "error": "invalid_json" if status == 400 else "validation_failed",
        "message": "; ".join(f"{path}: {' '.join(msgs)}" for path, msgs in errors.items()),
        "fields": errors,
    }
    return Intake(
        status, event, outcome, response, quarantine=[QuarantineEntry(body, outcome, errors)]
    )


def _dump(value: Any) -> bytes:
    return jsonutil.dumps(value)
