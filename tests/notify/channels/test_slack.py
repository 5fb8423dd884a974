"""Slack: the Block Kit payload, and what a real HTTP server receives."""

from __future__ import annotations

from pathlib import Path

from support.alerts import make_alert, note, two_rooms
from support.delivery import deliver
from support.sinks import HttpSink

from monitor.notify.channels.slack import SlackChannel, slack_payload


def test_slack_payload_escapes_and_has_text_and_blocks() -> None:
    payload = slack_payload(note(make_alert(room="<!channel> & co")))
    assert payload["text"] == "[FIRING:1] co2-high — &lt;!channel&gt; &amp; co"
    header, section, _context = payload["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text",
                                                 "text": "[FIRING:1] co2-high — <!channel> & co"}}
    assert section["text"]["type"] == "mrkdwn"
    assert section["text"]["text"].startswith("• &lt;!channel&gt; &amp; co — critical: 1250 ppm")


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
