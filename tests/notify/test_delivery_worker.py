"""The delivery thread and the log channel, end to end."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
from support.alerts import make_alert, make_notification
from support.sinks import HttpSink

from monitor.notify.channels import LogChannel, WebhookChannel
from monitor.notify.outbox import DeliveryWorker, Outbox
from monitor.notify.senders import build_senders


def test_worker_thread_delivers_what_evaluation_enqueues(tmp_path: Path,
                                                         http_sink: HttpSink) -> None:
    outbox = Outbox(tmp_path / "state")
    senders = build_senders({"hook": WebhookChannel("hook", http_sink.url("/hook"))})
    stop = threading.Event()
    worker = DeliveryWorker(outbox, senders, stop, poll_s=0.02)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        outbox.enqueue([make_notification()])       # the evaluator's only job
        [request] = http_sink.wait_for(1)
        assert request.json()["status"] == "firing"
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
    assert outbox.pending() == [] and len(outbox.sent()) == 1


def test_worker_survives_a_broken_database(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)
    outbox.close()                                  # every query now raises
    worker = DeliveryWorker(outbox, {}, threading.Event())
    assert worker.run_once() == 0


def test_log_channel(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    outbox = Outbox(tmp_path)
    senders = build_senders({"log": LogChannel("log")})
    firing = make_notification(make_alert(notify=("log",)))
    resolved = make_notification(make_alert(status="resolved", notify=("log",)))
    outbox.enqueue([firing, resolved])
    with caplog.at_level(logging.INFO, logger="monitor.notify"):
        assert outbox.deliver_due(senders) == 2
    records = [(r.name, r.levelno, r.getMessage().splitlines()[0]) for r in caplog.records]
    assert records == [
        ("monitor.notify", logging.WARNING, "[FIRING:1] co2-high — Everest"),
        ("monitor.notify", logging.INFO, "[RESOLVED] co2-high — Everest"),
    ]
