"""Zoom webhook events as Zoom sends them, their JSON bytes and their signature headers."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from monitor.webhooks.signature import sign

SECRET = "test-secret-Ω"
QUESTIONNAIRE = "workspace.reservation_questionnaire_response_created"


def signed_headers(body: bytes, *, secret: str = SECRET, timestamp: int | None = None,
                   retry: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    headers = {"x-zm-request-timestamp": ts, "x-zm-signature": sign(secret.encode(), ts, body),
               "Content-Type": "application/json"}
    if retry is not None:
        headers["x-zoom-retry-num"] = str(retry)
    return headers


def encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode("utf-8")


Post = Callable[..., Any]


def sensor_event(room: str = "room-1", *, readings: list[dict[str, Any]] | None = None,
                 when: str = "2026-11-01T10:00:00Z", event_ts: Any = 1793527200000,
                 room_name: str = "Everest", device: str = "dev-1") -> dict[str, Any]:
    if readings is None:
        readings = [
            {"date_time": when, "sensor_type": kind, "sensor_value": value}
            for kind, value in (("CO2", "812"), ("TEMPERATURE", "21.5"), ("HUMIDITY", "44"),
                                ("VOC", "120"), ("AQI", "35"), ("PM25", "7.5"), ("PM10", "12"),
                                ("AIR_PRESSURE", "1013.2"), ("REAL_TIME_PEOPLE_COUNT", "4"))
        ]
    return {"event": "zoomroom.sensor_data", "event_ts": event_ts,
            "payload": {"account_id": "acct-1",
                        "object": {"id": room, "room_name": room_name, "device_id": device,
                                   "sensor_data": readings}}}


def alert_event(kind: int, alert_time: Any, *, room: str = "room-1", alert_type: int = 3,
                component: int = 1, name: str = "zoomroom.alert",
                event_ts: Any = 1793527200000) -> dict[str, Any]:
    return {"event": name, "event_ts": event_ts,
            "payload": {"account_id": "acct-1",
                        "object": {"id": room, "room_name": "Everest", "calendar_name": "cal",
                                   "email": "everest@example.com", "issue": "Zoom room is offline",
                                   "alert_type": alert_type, "component": component,
                                   "alert_time": alert_time, "alert_kind": kind}}}


def questionnaire(items: int, questions: int, question: dict[str, Any] | None = None) -> bytes:
    """The shape of the body that once held a worker for over ten seconds."""
    return encode({
        "event": QUESTIONNAIRE, "event_ts": 1793527200000,
        "payload": {"account_id": "a", "operator": "x@example.com", "operator_id": "u",
                    "object": {"desk_id": "d", "event_id": "e", "location_id": "l",
                               "start_time": "2026-11-01T10:00:00Z", "user_name": "u",
                               "workspace_name": "w",
                               "questionnaire_response": [
                                   {"id": str(i), "subject": "", "title": "",
                                    "list": [dict(question or {}) for _ in range(questions)]}
                                   for i in range(items)]}}})
