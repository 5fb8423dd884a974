"""``type: log``: the message on the ``monitor.notify`` logger; needs no configuration.

The channel the shipped ``rules/channels.yaml`` defines, so alerts show
somewhere before any service is set up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import urllib3

from monitor.notify import render
from monitor.notify.channels.kind import ChannelSchema, Kind, Sender
from monitor.notify.message import Notification

log = logging.getLogger("monitor.notify")


@dataclass(frozen=True)
class LogChannel:
    """Writes the message to the ``monitor.notify`` logger; needs no configuration."""

    name: str

    def sender(self, http: urllib3.PoolManager) -> Sender:
        return LogSender()


class LogSender:
    """Problems at WARNING, resolves at INFO, so a quiet log level still shows what fires."""

    def __call__(self, notification: Notification) -> None:
        level = logging.INFO if notification.kind == "resolved" else logging.WARNING
        log.log(level, "%s", render.text(notification).rstrip("\n"),
                extra={"notification_id": notification.id, "channel": notification.channel})


class _LogSchema(ChannelSchema):
    pass


def _build(name: str, data: dict[str, Any]) -> LogChannel:
    return LogChannel(name)


KIND = Kind(_LogSchema, _build)
