"""Delivery against a real HTTP server: retries, permanent failures, order, the delivery
thread.

``now`` is injected, so back-off is stepped through without sleeping.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from support.alerts import T0, make_notification, room_notification
from support.outboxes import OutboxPlace
from support.sinks import HttpSink, free_port

from monitor.notify.channels.kind import DeliveryError, Sender, build_senders
from monitor.notify.channels.webhook import WebhookChannel
from monitor.notify.delivery import DeliveryWorker, RetryPolicy, deliver_due
from monitor.notify.message import Notification
from monitor.notify.outbox import Outbox
from monitor.store.statedb import PostgresDB


def test_a_500_is_retried_with_backoff_until_it_succeeds(outbox: Outbox, http_sink: HttpSink,
                                                         senders: dict[str, Sender]) -> None:
    http_sink.fail_next(2, 500, b"upstream down")
    outbox.enqueue([room_notification()], now=T0)

    assert deliver_due(outbox, senders, now=T0) == 0
    [item] = outbox.pending()
    assert (item.attempts, item.next_attempt_at) == (1, T0 + 10)
    assert item.last_error == "HTTP 500: upstream down"

    assert deliver_due(outbox, senders, now=T0 + 9) == 0          # not due yet: no request
    assert len(http_sink.requests) == 1
    assert deliver_due(outbox, senders, now=T0 + 10) == 0         # second 500
    assert outbox.pending()[0].next_attempt_at == T0 + 10 + 20   # back-off doubled
    assert deliver_due(outbox, senders, now=T0 + 30) == 1

    assert len(http_sink.requests) == 3
    assert outbox.pending() == [] and outbox.failed() == []
    [sent] = outbox.sent()
    assert (sent.attempts, sent.finished_at, sent.last_error) == (3, T0 + 30, None)


def test_backoff_is_capped_and_honours_retry_after() -> None:
    policy = RetryPolicy()
    assert [policy.delay(n) for n in (1, 2, 3, 6, 7, 20)] == [10, 20, 40, 320, 600, 600]
    assert policy.delay(1, retry_after_s=120) == 120
    assert policy.delay(1, retry_after_s=99_999) == 600
    assert policy.delay(3, retry_after_s=1) == 40


def test_429_is_retried_after_the_servers_retry_after(outbox: Outbox, http_sink: HttpSink,
                                                      senders: dict[str, Sender]) -> None:
    http_sink.fail_next(1, 429, b"slow down", {"Retry-After": "120"})
    outbox.enqueue([room_notification()], now=T0)
    assert deliver_due(outbox, senders, now=T0) == 0
    assert outbox.pending()[0].next_attempt_at == T0 + 120
    assert deliver_due(outbox, senders, now=T0 + 119) == 0
    assert deliver_due(outbox, senders, now=T0 + 120) == 1


def test_a_400_is_a_permanent_failure(outbox: Outbox, http_sink: HttpSink,
                                      senders: dict[str, Sender]) -> None:
    http_sink.fail_next(1, 400, b"invalid_payload")
    note = room_notification()
    outbox.enqueue([note], now=T0)
    assert deliver_due(outbox, senders, now=T0) == 0
    [failed] = outbox.failed()
    assert (failed.id, failed.attempts, failed.finished_at) == (note.id, 1, T0)
    assert failed.last_error == "HTTP 400: invalid_payload"
    assert outbox.pending() == []
    assert deliver_due(outbox, senders, now=T0 + 3600) == 0
    assert len(http_sink.requests) == 1


def test_gives_up_after_the_max_age(outbox: Outbox, http_sink: HttpSink,
                                    senders: dict[str, Sender]) -> None:
    retry = RetryPolicy(max_age_s=60)
    http_sink.fail_next(10, 503)
    outbox.enqueue([room_notification()], now=T0)
    for offset in (0, 10, 30):                   # the next retry (+40 s) would be past 60 s
        assert deliver_due(outbox, senders, now=T0 + offset, retry=retry) == 0
    [failed] = outbox.failed()
    assert failed.attempts == 3
    assert failed.last_error == "gave up after 3 attempts: HTTP 503"


def test_a_notification_older_than_the_max_age_is_never_sent(outbox: Outbox,
                                                             http_sink: HttpSink,
                                                             senders: dict[str, Sender]) -> None:
    outbox.enqueue([room_notification()], now=T0)
    assert deliver_due(outbox, senders, now=T0 + 86_401) == 0     # e.g. down for a day
    [failed] = outbox.failed()
    assert failed.last_error == "expired undelivered after max age"
    assert http_sink.requests == []


def test_a_crash_mid_send_is_retried_after_the_lease(outbox_place: OutboxPlace,
                                                     http_sink: HttpSink,
                                                     senders: dict[str, Sender]) -> None:
    def crash(_: Notification) -> None:
        raise KeyboardInterrupt                 # stands in for the process dying

    first = outbox_place.open()
    first.enqueue([room_notification()], now=T0)
    with pytest.raises(KeyboardInterrupt):
        deliver_due(first, {"hook": crash}, now=T0)
    first.close()
    second = outbox_place.open()                # another process, or another host
    assert deliver_due(second, senders, now=T0 + 60) == 0         # still leased
    assert deliver_due(second, senders, now=T0 + 120) == 1
    assert len(http_sink.requests) == 1


def test_a_channel_keeps_its_order_while_retrying(outbox: Outbox, http_sink: HttpSink,
                                                  senders: dict[str, Sender]) -> None:
    firing, resolved = room_notification(), room_notification(kind="resolved")
    http_sink.fail_next(1, 500)
    outbox.enqueue([firing], now=T0)
    assert deliver_due(outbox, senders, now=T0) == 0
    outbox.enqueue([resolved], now=T0 + 1)
    assert deliver_due(outbox, senders, now=T0 + 1) == 0          # would overtake the firing
    assert deliver_due(outbox, senders, now=T0 + 10) == 2
    assert [r.json()["status"] for r in http_sink.requests] == ["firing", "firing", "resolved"]


def test_channels_do_not_wait_for_each_other(outbox: Outbox, http_sink: HttpSink) -> None:
    senders = build_senders({
        "down": WebhookChannel("down", f"http://127.0.0.1:{free_port()}/x"),
        "hook": WebhookChannel("hook", http_sink.url("/hook")),
    })
    outbox.enqueue([room_notification(channel="down"), room_notification(channel="hook")], now=T0)
    assert deliver_due(outbox, senders, now=T0) == 1
    [waiting] = outbox.pending()
    assert waiting.channel == "down"


def test_connection_errors_are_retried_and_never_leak_the_url(outbox: Outbox) -> None:
    url = f"http://127.0.0.1:{free_port()}/services/T0/B0/very-secret-path?token=abc"
    senders = build_senders({"hook": WebhookChannel("hook", url)})
    outbox.enqueue([room_notification()], now=T0)
    assert deliver_due(outbox, senders, now=T0) == 0
    [item] = outbox.pending()
    assert item.last_error is not None
    assert "very-secret-path" not in item.last_error and "token=abc" not in item.last_error
    assert "Connection" in item.last_error or "refused" in item.last_error


def test_an_unknown_channel_waits_for_its_configuration(outbox: Outbox) -> None:
    outbox.enqueue([room_notification(channel="gone")], now=T0)
    assert deliver_due(outbox, {}, now=T0) == 0
    [item] = outbox.pending()
    assert item.last_error == "no channel named 'gone' is configured"


def test_a_crashing_sender_is_a_failed_attempt(outbox: Outbox) -> None:
    def broken(_: Notification) -> None:
        raise RuntimeError("template bug")

    def refused(_: Notification) -> None:
        raise DeliveryError("nope", permanent=True)

    outbox.enqueue([room_notification(channel="a"), room_notification(channel="b")], now=T0)
    assert deliver_due(outbox, {"a": broken, "b": refused}, now=T0) == 0
    assert [(i.channel, i.last_error) for i in outbox.pending()] == [
        ("a", "RuntimeError: template bug")]
    assert [(i.channel, i.last_error) for i in outbox.failed()] == [("b", "nope")]


def test_an_unreadable_row_fails_without_blocking_its_channel(
        outbox: Outbox, http_sink: HttpSink, senders: dict[str, Sender]) -> None:
    broken, fine = room_notification("room-1"), room_notification("room-2")
    outbox.enqueue([broken, fine], now=T0)
    with outbox.db.transaction() as tx:           # e.g. written by a future version
        tx.execute("UPDATE outbox SET notification = '{}' WHERE id = ?", (broken.id,))
    assert deliver_due(outbox, senders, now=T0) == 1
    [failed] = outbox.failed()
    assert (failed.id, failed.notification, failed.last_error) == (
        broken.id, None, "unreadable notification")
    assert [r.json()["id"] for r in http_sink.requests] == [fine.id]


def test_deliveries_are_counted_by_channel(outbox: Outbox, http_sink: HttpSink,
                                           senders: dict[str, Sender]) -> None:
    def value(name: str) -> float:
        return REGISTRY.get_sample_value(name, {"channel": "hook"}) or 0.0

    names = ("zrmon_notifications_sent_total", "zrmon_notification_retries_total",
             "zrmon_notifications_failed_total")
    before = [value(name) for name in names]
    http_sink.fail_next(1, 500)
    http_sink.fail_next(1, 400)
    outbox.enqueue([room_notification("room-1"), room_notification("room-2")], now=T0)
    assert deliver_due(outbox, senders, now=T0) == 0          # room-1: 500, retried; room-2 waits
    assert deliver_due(outbox, senders, now=T0 + 10) == 1     # room-1: 400, failed; room-2 sent
    after = [value(name) - start for name, start in zip(names, before, strict=True)]
    assert after == [1, 1, 1]


# ---------------------------------------------------------------------------
# The delivery thread


def test_worker_thread_delivers_what_evaluation_enqueues(outbox: Outbox,
                                                         http_sink: HttpSink) -> None:
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


def test_worker_survives_a_broken_database(outbox_place: OutboxPlace) -> None:
    outbox = outbox_place.open()
    outbox.close()                                  # every query now raises
    worker = DeliveryWorker(outbox, {}, threading.Event())
    assert worker.run_once() == 0


def test_worker_waits_out_postgresql_being_down(tmp_path: Path) -> None:
    """StateDBError, like a locked SQLite file: logged, retried on the next tick, no crash."""
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/zrmon"
    outbox = Outbox(PostgresDB(url, timeout_s=0.2))
    stop = threading.Event()
    worker = DeliveryWorker(outbox, {}, stop, poll_s=0.01)
    assert worker.run_once() == 0
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()                                   # recover_leases, then passes that fail
    time.sleep(0.5)
    assert thread.is_alive()
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    outbox.close()

