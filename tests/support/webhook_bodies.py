"""Webhook bodies for the validators, and how to read what the validators answer.

Shared by the tests of :mod:`monitor.webhooks.validation` and of the schemas
and twins behind it, which check the same bodies from different sides.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from marshmallow import ValidationError

from monitor.datamodel.measurements import ALERT_EVENTS, SENSOR_EVENT
from monitor.webhooks.catalog import load_catalog
from monitor.webhooks.validation import flatten_errors, validate_event

CATALOG = load_catalog()
S = 1_000_000_000  # ns per second
MS = 1_000_000  # ns per millisecond
JUNE_19 = 1_718_755_200  # 2024-06-19T00:00:00Z in seconds
SENSOR_TYPES = [
    "CO2",
    "TEMPERATURE",
    "REAL_TIME_PEOPLE_COUNT",
    "HUMIDITY",
    "VOC",
    "AQI",
    "PM25",
    "PM10",
    "AIR_PRESSURE",
]
HOT = sorted({SENSOR_EVENT, *ALERT_EVENTS})


def sensor_body(**object_changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": "room-1",
        "room_name": "Everest",
        "device_id": "dev-1",
        "sensor_data": [
            {
                "date_time": "2024-06-19T00:00:00Z",
                "sensor_type": kind,
                "sensor_value": str(400 + i),
            }
            for i, kind in enumerate(SENSOR_TYPES)
        ],
    }
    obj.update(object_changes)
    return {
        "event": SENSOR_EVENT,
        "event_ts": JUNE_19 * 1000 + 123,
        "payload": {"account_id": "acct-1", "object": obj},
    }


def alert_body(event: str = "zoomroom.alert", **object_changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": "room-1",
        "room_name": "Everest",
        "calendar_name": "",
        "email": "everest@example.com",
        "issue": "Zoom room is offline",
        "alert_type": 3,
        "component": 1,
        "alert_time": JUNE_19,
        "alert_kind": 1,
    }
    obj.update(object_changes)
    for key in [k for k, v in obj.items() if v is DELETE]:
        del obj[key]
    return {
        "event": event,
        "event_ts": JUNE_19 * 1000,
        "payload": {"account_id": "a", "object": obj},
    }


def reading(**changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "date_time": "2024-06-19T00:00:00Z",
        "sensor_type": "CO2",
        "sensor_value": "812",
    }
    out.update(changes)
    for key in [k for k, v in out.items() if v is DELETE]:
        del out[key]
    return out


DELETE: Any = object()


def messages(call: Callable[[], object]) -> dict[str, Any]:
    with pytest.raises(ValidationError) as info:
        call()
    assert isinstance(info.value.messages, dict)
    return info.value.messages


def flat_errors(event: str, data: object) -> dict[str, list[str]]:
    return flatten_errors(messages(lambda: validate_event(event, data)))


def outcome(call: Callable[[], dict[str, Any]]) -> tuple[str, Any]:
    try:
        return "ok", call()
    except ValidationError as exc:
        return "error", exc.messages


def variants(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The body with each documented path deleted, nulled and made a wrong type."""
    out = [body]
    paths: list[list[str]] = []

    def walk(node: Any, path: list[str]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                paths.append([*path, key])
                walk(value, [*path, key])

    walk(body, [])
    for path in paths:
        replacements: list[object] = [
            DELETE,
            None,
            True,
            "12",
            12,
            "",
            [],
            {},
            "2024-06-19T00:00:00Z",
        ]
        for replacement in replacements:
            variant = copy.deepcopy(body)
            node = variant
            for part in path[:-1]:
                node = node[part]
            if replacement is DELETE:
                del node[path[-1]]
            else:
                node[path[-1]] = replacement
            out.append(variant)
    return out
