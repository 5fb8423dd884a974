"""``type: webhook``: any URL, optional headers, and the generic JSON posted to it.

The payload is the versioned schema documented in docs/notifications.md;
each POST carries ``Idempotency-Key: <notification id>`` so a receiver can
drop the repeat of a delivery whose answer was lost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import urllib3
from marshmallow import fields, validate

from monitor.core.timeutil import ns_to_iso
from monitor.notify.channels.http import JsonPoster, http_url
from monitor.notify.channels.kind import ChannelSchema, Kind, Sender
from monitor.notify.message import Notification
from monitor.notify.render import title
from monitor.rules.model import Alert

WEBHOOK_VERSION = "1"


@dataclass(frozen=True)
class WebhookChannel:
    name: str
    url: str = field(repr=False)
    headers: dict[str, str] = field(default_factory=dict, repr=False)

    def sender(self, http: urllib3.PoolManager) -> Sender:
        return JsonPoster(http, self.url, webhook_payload, self.headers, idempotency_key=True)


def webhook_payload(notification: Notification) -> dict[str, Any]:
    """The generic JSON documented in docs/notifications.md (version "1")."""
    return {
        "version": WEBHOOK_VERSION,
        "id": notification.id,
        "status": notification.kind,
        "group_key": notification.group_key,
        "title": title(notification),
        "alerts": [_webhook_alert(alert) for alert in notification.alerts],
    }


def _webhook_alert(alert: Alert) -> dict[str, Any]:
    return {
        "rule": alert.rule_id,
        "room_id": alert.room_id,
        "status": alert.status,
        "level": alert.level,
        "value": alert.value if alert.value is not None and math.isfinite(alert.value) else None,
        "threshold": alert.threshold,
        "starts_at": ns_to_iso(alert.starts_at_ns),
        "at": ns_to_iso(alert.at_ns),
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
    }


class _WebhookSchema(ChannelSchema):
    url = http_url()
    headers = fields.Dict(
        keys=fields.String(validate=validate.Regexp(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$",
                                                    error="not a valid header name")),
        values=fields.String(validate=validate.Regexp(r"^[^\r\n]*$",
                                                      error="header values must be one line")),
        load_default=dict)


def _build(name: str, data: dict[str, Any]) -> WebhookChannel:
    return WebhookChannel(name, data["url"], dict(data["headers"]))


KIND = Kind(_WebhookSchema, _build)
