"""The delivery thread, end to end."""

from __future__ import annotations

import threading
from pathlib import Path

from support.alerts import make_notification
from support.sinks import HttpSink

from monitor.notify.channels.kind import build_senders
from monitor.notify.channels.webhook import WebhookChannel
from monitor.notify.outbox import DeliveryWorker, Outbox


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
