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

from monitor import jsonutil
from monitor.webhooks.privacy import needs_scrub, scrub
from monitor.webhooks.schemas import flatten_errors, validate_event, validate_reading

SENSOR_EVENT = "zoomroom.sensor_data"


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


def parse_body(body: bytes) -> dict[str, Any] | Intake:
    """The JSON object, or the 400 to answer (the raw body is quarantined)."""
    try:
        data = jsonutil.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        errors = {"body": [f"not valid JSON: {str(exc)[:200]}"]}
        return _rejected(400, "", "invalid_json", errors, body)
    if not isinstance(data, dict):
        errors = {"body": ["must be a JSON object"]}
        return _rejected(400, "", "invalid_json", errors, body)
    return data


def prepare(data: dict[str, Any], privacy: Privacy) -> Intake:
    event = data.get("event")
    if not isinstance(event, str):
        errors = {"event": ["Missing or not a string."]}
        return _rejected(422, "", "invalid", errors, _dump(_scrubbed(data, privacy)))
    try:
        loaded = validate_event(event, data)
    except ValidationError as exc:
        errors = flatten_errors(exc.messages)
        return _rejected(422, event, "invalid", errors, _dump(_scrubbed(data, privacy)))
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
        try:
            good.append(validate_reading(reading))
        except ValidationError as exc:
            bad.append(reading)
            for path, messages in flatten_errors(exc.messages).items():
                errors[f"payload.object.sensor_data.{index}.{path}"] = messages
    obj["sensor_data"] = good
    if not bad:
        return []
    if not good:
        return _rejected(422, SENSOR_EVENT, "invalid", errors, _dump(data))
    leftover = copy.deepcopy(data)
    leftover["payload"]["object"]["sensor_data"] = bad
    return [QuarantineEntry(_dump(_scrubbed(leftover, privacy)), "invalid_readings", errors)]


def _scrubbed(data: dict[str, Any], privacy: Privacy) -> Any:
    return scrub(data, privacy.salt, keep_visitor_pii=privacy.keep_visitor_pii)


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
