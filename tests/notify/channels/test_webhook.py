"""The generic webhook: its versioned JSON, headers, and what a real HTTP server receives."""

from __future__ import annotations

from pathlib import Path

from support.alerts import make_alert, note, two_rooms
from support.delivery import deliver
from support.sinks import HttpSink

from monitor.notify.channels.webhook import WebhookChannel, webhook_payload


def test_webhook_payload_schema() -> None:
    notification = note(make_alert(value=float("nan")))
    payload = webhook_payload(notification)
    assert payload == {
        "version": "1", "id": notification.id, "status": "firing",
        "group_key": "air/co2-high{building=HQ}", "title": "[FIRING:1] co2-high — Everest",
        "alerts": [{
            "rule": "air/co2-high", "room_id": "room-1", "status": "firing",
            "level": "critical", "value": None, "threshold": "above 1000",
            "starts_at": "2027-01-15T07:48:00.000Z", "at": "2027-01-15T08:00:00.000Z",
            "labels": {"room_name": "Everest", "sensor_type": "CO2", "building": "HQ"},
            "annotations": {"summary": "CO2 is high"},
        }],
    }


def test_generic_webhook_json_and_headers(tmp_path: Path, http_sink: HttpSink) -> None:
    channel = WebhookChannel("ops", http_sink.url("/ops"), {"Authorization": "Bearer tok"})
    notification = two_rooms("ops")
    assert deliver(tmp_path, channel, notification) == 1
    [request] = http_sink.requests
    assert request.headers["Authorization"] == "Bearer tok"
    assert request.headers["Idempotency-Key"] == notification.id
    body = request.json()
    assert set(body) == {"version", "id", "status", "group_key", "title", "alerts"}
    assert (body["version"], body["id"], body["status"]) == ("1", notification.id, "firing")
    assert body["group_key"] == "air/co2-high{building=HQ}"
    first = body["alerts"][0]
    assert set(first) == {"rule", "room_id", "status", "level", "value", "threshold",
                          "starts_at", "at", "labels", "annotations"}
    assert (first["rule"], first["room_id"], first["value"]) == ("air/co2-high", "r1", 1250.0)
    assert first["starts_at"] == "2027-01-15T07:48:00.000Z"
    assert first["labels"]["building"] == "HQ"
    assert first["annotations"] == {"summary": "CO2 is high"}
