"""One pass of a real outbox over one channel, as the delivery worker makes it."""

from __future__ import annotations

from pathlib import Path

from monitor.notify.channels.kind import Channel, build_senders
from monitor.notify.delivery import deliver_due
from monitor.notify.message import Notification
from monitor.notify.outbox import Outbox
from support.alerts import T0


def deliver(tmp_path: Path, channel: Channel, *notifications: Notification) -> int:
    """Enqueue ``notifications`` in a new outbox under ``tmp_path``; how many were sent."""
    outbox = Outbox.open(tmp_path / "state")
    try:
        outbox.enqueue(notifications, now=T0)
        return deliver_due(outbox, build_senders({channel.name: channel}), now=T0)
    finally:
        outbox.close()
