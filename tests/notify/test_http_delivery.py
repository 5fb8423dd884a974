"""Slack, Teams and generic webhook payloads, as a real HTTP server receives them."""

from __future__ import annotations

from pathlib import Path

from support.alerts import T0, make_alert, make_notification
from support.sinks import HttpSink

from monitor.notify.channels import SlackChannel, TeamsChannel, WebhookChannel
from monitor.notify.delivery import deliver_due
from monitor.notify.message import Notification
from monitor.notify.outbox import Outbox
from monitor.notify.senders import build_senders


def deliver(tmp_path: Path, channel: SlackChannel | TeamsChannel | WebhookChannel,
            *notifications: Notification) -> int:
    outbox = Outbox(tmp_path / "state")
    try:
        outbox.enqueue(notifications, now=T0)
        return deliver_due(outbox, build_senders({channel.name: channel}), now=T0)
    finally:
        outbox.close()


def two_rooms(channel: str) -> Notification:
    return make_notification(make_alert("r1", room="Everest", notify=(channel,)),
                             make_alert("r2", room="K2", value=1100.0, notify=(channel,)))


def test_slack_incoming_webhook_payload(tmp_path: Path, http_sink: HttpSink) -> None:
    channel = SlackChannel("slack", http_sink.url("/services/T0/B0/XYZ"))
    assert deliver(tmp_path, channel, two_rooms("slack")) == 1
    [request] = http_sink.requests
    assert (request.method, request.path) == ("POST", "/services/T0/B0/XYZ")
    assert request.headers["Content-Type"].startswith("application/json")
    body = request.json()
    assert body["text"] == "[FIRING:2] co2-high — HQ"
    assert [block["type"] for block in body["blocks"]] == ["header", "section", "context"]
    section = body["blocks"][1]["text"]["text"]
    assert "Everest — critical: 1250 ppm" in section
    assert "K2 — critical: 1100 ppm" in section


def test_teams_adaptive_card_and_message_card(tmp_path: Path, http_sink: HttpSink) -> None:
    assert deliver(tmp_path / "a", TeamsChannel("teams", http_sink.url("/wf")),
                   two_rooms("teams")) == 1
    assert deliver(tmp_path / "b", TeamsChannel("teams", http_sink.url("/o365"), "messagecard"),
                   two_rooms("teams")) == 1
    adaptive, legacy = (request.json() for request in http_sink.requests)
    card = adaptive["attachments"][0]["content"]
    assert adaptive["type"] == "message"
    assert card["type"] == "AdaptiveCard"
    assert card["body"][0]["text"] == "[FIRING:2] co2-high — HQ"
    assert legacy["@type"] == "MessageCard"
    assert legacy["title"] == "[FIRING:2] co2-high — HQ"
    assert legacy["sections"][1]["text"].startswith("K2 — critical: 1100 ppm")


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
