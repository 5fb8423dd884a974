"""Hand-written twins of the schemas of the events on the hot path.

``zoomroom.sensor_data`` comes with every sensor report, and
``zoomroom.alert`` / ``zoomroom.delayed_alert`` with every alert; each
reading of a sensor report is checked on its own. The functions here return
and raise exactly what the generated marshmallow schemas of
:mod:`monitor.webhooks.schemas` do -- field for field and message for
message: a new dict with the unknown keys copied, checked values converted,
``*_ns`` keys added -- at a fifth to a tenth of the cost.
tests/webhooks/test_hotpath.py compares the two on good and broken bodies,
so a seed change that alters a hot schema fails there, not in production.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from marshmallow import ValidationError

from monitor.datamodel.measurements import ALERT_EVENTS, SENSOR_EVENT
from monitor.webhooks.checks import (
    ALERT_CODES,
    INVALID_TYPE,
    MISSING,
    NOT_A_LIST,
    NOT_A_MAPPING,
    NULL,
    REQUIRED,
    InvalidError,
    Messages,
    check_code,
    check_id,
    check_sensor_type,
    check_sensor_value,
    check_str,
    is_mapping,
    optional_ns,
    required_ns,
)


def _take(
    src: Mapping[str, Any],
    key: str,
    check: Callable[[object], Any],
    errors: Messages,
    *,
    required: bool = True,
    allow_none: bool = False,
) -> Any:
    """One field: its checked value, None, or ``MISSING`` with the error recorded."""
    value = src.get(key, MISSING)
    if value is MISSING:
        if required:
            errors[key] = [REQUIRED]
        return MISSING
    if value is None:
        if not allow_none:
            errors[key] = [NULL]
            return MISSING
        return None
    try:
        return check(value)
    except InvalidError as exc:
        errors[key] = [exc.message]
        return MISSING


def _take_object(src: Mapping[str, Any], key: str, errors: Messages) -> dict[str, Any] | None:
    """A required nested level, as ``fields.Nested`` reports it."""
    value = src.get(key, MISSING)
    if value is MISSING:
        errors[key] = [REQUIRED]
    elif value is None:
        errors[key] = [NULL]
    elif not is_mapping(value):
        errors[key] = {"_schema": [INVALID_TYPE]}
    else:
        return dict(value)
    return None


def _set(target: dict[str, Any], key: str, value: Any) -> None:
    if value is not MISSING:
        target[key] = value


def _fast_envelope(data: object, errors: Messages) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """event, event_ts and payload/account_id, common to every known event."""
    if not is_mapping(data):
        raise ValidationError({"_schema": [INVALID_TYPE]})
    out = dict(data)
    _set(out, "event", _take(data, "event", check_str, errors))
    event_ts = _take(data, "event_ts", optional_ns, errors, allow_none=True)
    if event_ts is not MISSING:
        out["event_ts_ns"] = event_ts
    payload = _take_object(data, "payload", errors)
    if payload is not None:
        out["payload"] = payload
    return out, payload


def _fast_event(
    data: object, check_object: Callable[[dict[str, Any], Messages], None]
) -> dict[str, Any]:
    """Envelope, ``payload.account_id`` and ``payload.object``, errors nested per level."""
    errors: Messages = {}
    out, payload = _fast_envelope(data, errors)
    if payload is not None:
        payload_errors: Messages = {}
        _set(payload, "account_id", _take(payload, "account_id", check_id, payload_errors))
        obj = _take_object(payload, "object", payload_errors)
        if obj is not None:
            payload["object"] = obj
            obj_errors: Messages = {}
            check_object(obj, obj_errors)
            if obj_errors:
                payload_errors["object"] = obj_errors
        if payload_errors:
            errors["payload"] = payload_errors
    if errors:
        raise ValidationError(errors)
    return out


def _check_sensor_object(obj: dict[str, Any], errors: Messages) -> None:
    """``zoomroom.sensor_data``: ids and room name checked, readings only as objects."""
    _set(obj, "device_id", _take(obj, "device_id", check_id, errors))
    _set(obj, "id", _take(obj, "id", check_id, errors))
    _set(obj, "room_name", _take(obj, "room_name", check_str, errors))
    readings = obj.get("sensor_data", MISSING)
    if readings is MISSING:
        errors["sensor_data"] = [REQUIRED]
    elif readings is None:
        errors["sensor_data"] = [NULL]
    elif not isinstance(readings, list | tuple):
        errors["sensor_data"] = [NOT_A_LIST]
    else:
        item_errors: Messages = {}
        copied: list[Any] = []
        for index, reading in enumerate(readings):
            if is_mapping(reading):
                copied.append(dict(reading))
            else:
                item_errors[index] = [NULL if reading is None else NOT_A_MAPPING]
        if item_errors:
            errors["sensor_data"] = item_errors
        obj["sensor_data"] = copied


def _check_alert_object(obj: dict[str, Any], errors: Messages) -> None:
    """``zoomroom.alert`` / ``delayed_alert``: room id, integer codes, alert time."""
    _set(obj, "id", _take(obj, "id", check_id, errors))
    for code in ALERT_CODES:
        _set(obj, code, _take(obj, code, check_code, errors))
    alert_ns = _take(obj, "alert_time", optional_ns, errors, required=False, allow_none=True)
    obj["alert_time_ns"] = None if alert_ns is MISSING else alert_ns


def _fast_sensor_data(data: object) -> dict[str, Any]:
    return _fast_event(data, _check_sensor_object)


def _fast_alert(data: object) -> dict[str, Any]:
    return _fast_event(data, _check_alert_object)


#: Event name -> its hand-written twin, which validate_event tries first.
HOT_TWINS: dict[str, Callable[[object], dict[str, Any]]] = {
    SENSOR_EVENT: _fast_sensor_data,
    **dict.fromkeys(ALERT_EVENTS, _fast_alert),
}


def check_reading(data: object) -> tuple[dict[str, Any] | None, Messages | None]:
    """Twin of ``ReadingSchema.load``, returning its messages instead of raising them.

    The intake checks every reading of an event one by one; for thousands of
    bad readings the exception alone would be a third of the cost.
    """
    if not is_mapping(data):
        return None, {"_schema": [INVALID_TYPE]}
    errors: Messages = {}
    time_ns = _take(data, "date_time", required_ns, errors)
    sensor_type = _take(data, "sensor_type", check_sensor_type, errors)
    value = _take(data, "sensor_value", check_sensor_value, errors)
    if errors:
        return None, errors
    out = dict(data)
    out["time_ns"] = time_ns
    out["sensor_type"] = sensor_type
    out["value"] = value
    return out, None

