"""What every channel kind provides, and what its sender promises the outbox.

A kind is a config schema (``type: slack`` and the keys beside it, checked
at load time), a frozen channel built from what the schema loaded, and the
channel's own :meth:`Channel.sender`. The loader and :func:`build_senders`
know kinds only through this contract, so a new kind touches nothing here.

The outbox owns retries; a sender makes exactly one attempt and raises
:class:`DeliveryError` with ``permanent=True`` when repeating the same
request cannot help (a 4xx other than 429, an SMTP 5xx, a server that
refuses STARTTLS). Everything else — 5xx, 429, timeouts, refused
connections — is retried with back-off.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import urllib3
from marshmallow import RAISE, Schema, fields

from monitor.core.errors import ServiceError
from monitor.notify.message import Notification


class DeliveryError(ServiceError):
    """One failed attempt; ``retry_after_s`` is the server's own hint (HTTP 429/503)."""

    def __init__(self, message: str, *, permanent: bool = False,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after_s = retry_after_s


Sender = Callable[[Notification], None]
"""Delivers one notification or raises :class:`DeliveryError`."""


class Channel(Protocol):
    """One named channel from ``channels.yaml``; secrets stay out of its ``repr``."""

    @property
    def name(self) -> str: ...

    def sender(self, http: urllib3.PoolManager) -> Sender:
        """Its sender; HTTP kinds post through ``http``, the pool all channels share."""
        ...


class ChannelSchema(Schema):
    """The keys every kind accepts (``type``); any key a kind does not declare is an error."""

    class Meta:
        unknown = RAISE

    type = fields.String(required=True)


@dataclass(frozen=True)
class Kind:
    """A ``type:`` of channel: its schema, and its channel from a name and the loaded keys."""

    schema: type[ChannelSchema]
    build: Callable[[str, dict[str, Any]], Channel]


def build_senders(channels: Mapping[str, Channel], *,
                  http: urllib3.PoolManager | None = None) -> dict[str, Sender]:
    """A sender per channel; HTTP channels share one pool (made here, not at import)."""
    pool = http or urllib3.PoolManager(num_pools=8, maxsize=2, retries=False)
    return {name: channel.sender(pool) for name, channel in channels.items()}
