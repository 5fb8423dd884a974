"""Teams: Adaptive Card and legacy MessageCard payloads, and what a real HTTP server receives."""

from __future__ import annotations

from pathlib import Path

from support.alerts import note, two_rooms
from support.delivery import deliver
from support.sinks import HttpSink

from monitor.notify.channels.teams import TeamsChannel, teams_payload


def test_teams_payloads() -> None:
    adaptive = teams_payload(note())
    [attachment] = adaptive["attachments"]
    assert adaptive["type"] == "message"
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["body"][0]["text"] == "[FIRING:1] co2-high — Everest"
    assert card["body"][1]["text"].startswith("Everest — critical: 1250 ppm")
    legacy = teams_payload(note(), "messagecard")
    assert legacy["@type"] == "MessageCard"
    assert legacy["title"] == legacy["summary"] == "[FIRING:1] co2-high — Everest"


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
