"""``type: teams``: a Workflows or O365-connector webhook URL, and the card posted to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import urllib3
from marshmallow import fields, validate

from monitor.notify.channels.http import JsonPoster, http_url
from monitor.notify.channels.kind import ChannelSchema, Kind, Sender
from monitor.notify.message import Notification
from monitor.notify.render import lines, title

_TEAMS_COLOR = {"firing": "attention", "resolved": "good", "no_data": "warning"}
_HEX_COLOR = {"firing": "D13438", "resolved": "2EB886", "no_data": "FFB900"}


@dataclass(frozen=True)
class TeamsChannel:
    name: str
    url: str = field(repr=False)
    card: Literal["adaptive", "messagecard"] = "adaptive"

    def sender(self, http: urllib3.PoolManager) -> Sender:
        card = self.card
        return JsonPoster(http, self.url, lambda n: teams_payload(n, card))


def teams_payload(notification: Notification, card: str = "adaptive") -> dict[str, Any]:
    """An Adaptive Card (Workflows webhooks) or a legacy MessageCard (O365 connectors)."""
    heading, body = title(notification), lines(notification)
    if card == "messagecard":
        return {"@type": "MessageCard", "@context": "https://schema.org/extensions",
                "summary": heading, "themeColor": _HEX_COLOR[notification.kind],
                "title": heading, "sections": [{"text": line} for line in body]}
    blocks: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": heading, "weight": "Bolder", "size": "Medium",
         "color": _TEAMS_COLOR[notification.kind], "wrap": True}]
    blocks.extend({"type": "TextBlock", "text": line, "wrap": True, "spacing": "Small"}
                  for line in body)
    return {"type": "message", "attachments": [{
        "contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
        "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard", "version": "1.4", "body": blocks}}]}


class _TeamsSchema(ChannelSchema):
    url = http_url()
    card = fields.String(load_default="adaptive",
                         validate=validate.OneOf(["adaptive", "messagecard"]))


def _build(name: str, data: dict[str, Any]) -> TeamsChannel:
    return TeamsChannel(name, data["url"], data["card"])


KIND = Kind(_TeamsSchema, _build)
