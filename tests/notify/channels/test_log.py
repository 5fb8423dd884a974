"""The log channel, end to end through the outbox: problems at WARNING, resolves at INFO."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from support.alerts import make_alert, make_notification

from monitor.notify.channels.kind import build_senders
from monitor.notify.channels.log import LogChannel
from monitor.notify.delivery import deliver_due
from monitor.notify.outbox import Outbox


def test_log_channel(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    outbox = Outbox.open(tmp_path)
    senders = build_senders({"log": LogChannel("log")})
    firing = make_notification(make_alert(notify=("log",)))
    resolved = make_notification(make_alert(status="resolved", notify=("log",)))
    outbox.enqueue([firing, resolved])
    with caplog.at_level(logging.INFO, logger="monitor.notify"):
        assert deliver_due(outbox, senders) == 2
    records = [(r.name, r.levelno, r.getMessage().splitlines()[0]) for r in caplog.records]
    assert records == [
        ("monitor.notify", logging.WARNING, "[FIRING:1] co2-high — Everest"),
        ("monitor.notify", logging.INFO, "[RESOLVED] co2-high — Everest"),
    ]
