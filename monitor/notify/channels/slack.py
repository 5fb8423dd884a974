"""``type: slack``: an incoming-webhook URL, and the Block Kit message posted to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import urllib3

from monitor.notify.channels.http import JsonPoster, http_url
from monitor.notify.channels.kind import ChannelSchema, Kind, Sender
from monitor.notify.message import Notification
from monitor.notify.render import lines, title


@dataclass(frozen=True)
class SlackChannel:
    name: str
    url: str = field(repr=False)          # the URL is the secret

    def sender(self, http: urllib3.PoolManager) -> Sender:
        return JsonPoster(http, self.url, slack_payload)


def slack_payload(notification: Notification) -> dict[str, Any]:
    """Incoming-webhook body: ``text`` is the fallback for notifications, ``blocks`` the view."""
    heading = title(notification)
    body = "\n".join(f"• {_slack_escape(line)}" for line in lines(notification))
    return {
        "text": _slack_escape(heading),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": heading[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": body[:3000]}},
            {"type": "context", "elements": [
                {"type": "mrkdwn", "text": _slack_escape(f"rule {notification.rule_id}")}]},
        ],
    }


def _slack_escape(value: str) -> str:
    """Slack treats ``<…>`` as links and mentions; room names must not ping @channel."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _SlackSchema(ChannelSchema):
    url = http_url()


def _build(name: str, data: dict[str, Any]) -> SlackChannel:
    return SlackChannel(name, data["url"])


KIND = Kind(_SlackSchema, _build)
