"""The outbox against a real HTTP server: retries, permanent failures, idempotency, restarts.

``now`` is injected, so back-off is stepped through without sleeping.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from support.alerts import T0, make_alert
from support.sinks import HttpSink, free_port

from monitor.notify.channels.kind import DeliveryError, Sender, build_senders
from monitor.notify.channels.webhook import WebhookChannel
from monitor.notify.message import Notification
from monitor.notify.outbox import Outbox, OutboxStatus, RetryPolicy, _ns, outbox_status


def notification(room_id: str = "room-1", *, kind: str = "firing",
                 channel: str = "hook") -> Notification:
    alert = make_alert(room_id, status=kind, notify=(channel,))
    return Notification(channel, "air/co2-high{building=HQ}", (alert,),
                        kind, {"building": "HQ"})  # type: ignore[arg-type]


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def outbox(state_dir: Path) -> Outbox:
    return Outbox(state_dir)


@pytest.fixture
def senders(http_sink: HttpSink) -> dict[str, Sender]:
    return build_senders({"hook": WebhookChannel("hook", http_sink.url("/hook"))})


def test_the_file_lives_in_the_state_dir(tmp_path: Path) -> None:
    Outbox(tmp_path / "var" / "state").close()
    assert (tmp_path / "var" / "state" / "outbox.sqlite").is_file()


def test_a_500_is_retried_with_backoff_until_it_succeeds(outbox: Outbox, http_sink: HttpSink,
                                                         senders: dict[str, Sender]) -> None:
    http_sink.fail_next(2, 500, b"upstream down")
    outbox.enqueue([notification()], now=T0)

    assert outbox.deliver_due(senders, now=T0) == 0
    [item] = outbox.pending()
    assert (item.attempts, item.next_attempt_at) == (1, T0 + 10)
    assert item.last_error == "HTTP 500: upstream down"

    assert outbox.deliver_due(senders, now=T0 + 9) == 0          # not due yet: no request
    assert len(http_sink.requests) == 1
    assert outbox.deliver_due(senders, now=T0 + 10) == 0         # second 500
    assert outbox.pending()[0].next_attempt_at == T0 + 10 + 20   # back-off doubled
    assert outbox.deliver_due(senders, now=T0 + 30) == 1

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
    outbox.enqueue([notification()], now=T0)
    assert outbox.deliver_due(senders, now=T0) == 0
    assert outbox.pending()[0].next_attempt_at == T0 + 120
    assert outbox.deliver_due(senders, now=T0 + 119) == 0
    assert outbox.deliver_due(senders, now=T0 + 120) == 1


def test_a_400_is_a_permanent_failure(outbox: Outbox, http_sink: HttpSink,
                                      senders: dict[str, Sender]) -> None:
    http_sink.fail_next(1, 400, b"invalid_payload")
    note = notification()
    outbox.enqueue([note], now=T0)
    assert outbox.deliver_due(senders, now=T0) == 0
    [failed] = outbox.failed()
    assert (failed.id, failed.attempts, failed.finished_at) == (note.id, 1, T0)
    assert failed.last_error == "HTTP 400: invalid_payload"
    assert outbox.pending() == []
    assert outbox.deliver_due(senders, now=T0 + 3600) == 0
    assert len(http_sink.requests) == 1


def test_gives_up_after_the_max_age(tmp_path: Path, http_sink: HttpSink,
                                    senders: dict[str, Sender]) -> None:
    outbox = Outbox(tmp_path, RetryPolicy(max_age_s=60))
    http_sink.fail_next(10, 503)
    outbox.enqueue([notification()], now=T0)
    for offset in (0, 10, 30):                   # the next retry (+40 s) would be past 60 s
        assert outbox.deliver_due(senders, now=T0 + offset) == 0
    [failed] = outbox.failed()
    assert failed.attempts == 3
    assert failed.last_error == "gave up after 3 attempts: HTTP 503"


def test_a_notification_older_than_the_max_age_is_never_sent(outbox: Outbox,
                                                             http_sink: HttpSink,
                                                             senders: dict[str, Sender]) -> None:
    outbox.enqueue([notification()], now=T0)
    assert outbox.deliver_due(senders, now=T0 + 86_401) == 0     # e.g. down for a day
    [failed] = outbox.failed()
    assert failed.last_error == "expired undelivered after max age"
    assert http_sink.requests == []


def test_enqueue_twice_delivers_once(outbox: Outbox, http_sink: HttpSink,
                                     senders: dict[str, Sender]) -> None:
    assert outbox.enqueue([notification(), notification()], now=T0) == 1
    assert outbox.enqueue([notification()], now=T0 + 1) == 0
    assert outbox.deliver_due(senders, now=T0 + 1) == 1
    assert outbox.enqueue([notification()], now=T0 + 60) == 0    # re-emitted after sending
    assert outbox.deliver_due(senders, now=T0 + 60) == 0
    assert len(http_sink.requests) == 1


def test_restart_resends_pending_but_never_sent(tmp_path: Path, http_sink: HttpSink,
                                                senders: dict[str, Sender]) -> None:
    sent, waiting = notification("room-1"), notification("room-2")
    first = Outbox(tmp_path / "state")
    first.enqueue([sent], now=T0)
    assert first.deliver_due(senders, now=T0) == 1
    http_sink.fail_next(1, 502)
    first.enqueue([waiting], now=T0 + 1)
    assert first.deliver_due(senders, now=T0 + 1) == 0
    first.close()

    second = Outbox(tmp_path / "state")                # the process restarted
    assert second.enqueue([sent, waiting], now=T0 + 2) == 0   # the evaluator re-emits all
    assert [item.id for item in second.pending()] == [waiting.id]
    assert second.deliver_due(senders, now=T0 + 11) == 1

    bodies = [request.json()["id"] for request in http_sink.requests]
    assert bodies == [sent.id, waiting.id, waiting.id]   # sent once; waiting: 502, then ok


def test_a_crash_mid_send_is_retried_after_the_lease(tmp_path: Path, http_sink: HttpSink,
                                                     senders: dict[str, Sender]) -> None:
    def crash(_: Notification) -> None:
        raise KeyboardInterrupt                 # stands in for the process dying

    first = Outbox(tmp_path)
    first.enqueue([notification()], now=T0)
    with pytest.raises(KeyboardInterrupt):
        first.deliver_due({"hook": crash}, now=T0)
    first.close()
    second = Outbox(tmp_path)
    assert second.deliver_due(senders, now=T0 + 60) == 0         # still leased
    assert second.deliver_due(senders, now=T0 + 120) == 1
    assert len(http_sink.requests) == 1


def test_a_channel_keeps_its_order_while_retrying(outbox: Outbox, http_sink: HttpSink,
                                                  senders: dict[str, Sender]) -> None:
    firing, resolved = notification(), notification(kind="resolved")
    http_sink.fail_next(1, 500)
    outbox.enqueue([firing], now=T0)
    assert outbox.deliver_due(senders, now=T0) == 0
    outbox.enqueue([resolved], now=T0 + 1)
    assert outbox.deliver_due(senders, now=T0 + 1) == 0          # would overtake the firing
    assert outbox.deliver_due(senders, now=T0 + 10) == 2
    assert [r.json()["status"] for r in http_sink.requests] == ["firing", "firing", "resolved"]


def test_channels_do_not_wait_for_each_other(outbox: Outbox, http_sink: HttpSink) -> None:
    senders = build_senders({
        "down": WebhookChannel("down", f"http://127.0.0.1:{free_port()}/x"),
        "hook": WebhookChannel("hook", http_sink.url("/hook")),
    })
    outbox.enqueue([notification(channel="down"), notification(channel="hook")], now=T0)
    assert outbox.deliver_due(senders, now=T0) == 1
    [waiting] = outbox.pending()
    assert waiting.channel == "down"


def test_connection_errors_are_retried_and_never_leak_the_url(outbox: Outbox) -> None:
    url = f"http://127.0.0.1:{free_port()}/services/T0/B0/very-secret-path?token=abc"
    senders = build_senders({"hook": WebhookChannel("hook", url)})
    outbox.enqueue([notification()], now=T0)
    assert outbox.deliver_due(senders, now=T0) == 0
    [item] = outbox.pending()
    assert item.last_error is not None
    assert "very-secret-path" not in item.last_error and "token=abc" not in item.last_error
    assert "Connection" in item.last_error or "refused" in item.last_error


def test_an_unknown_channel_waits_for_its_configuration(outbox: Outbox) -> None:
    outbox.enqueue([notification(channel="gone")], now=T0)
    assert outbox.deliver_due({}, now=T0) == 0
    [item] = outbox.pending()
    assert item.last_error == "no channel named 'gone' is configured"


def test_a_crashing_sender_is_a_failed_attempt(outbox: Outbox) -> None:
    def broken(_: Notification) -> None:
        raise RuntimeError("template bug")

    def refused(_: Notification) -> None:
        raise DeliveryError("nope", permanent=True)

    outbox.enqueue([notification(channel="a"), notification(channel="b")], now=T0)
    assert outbox.deliver_due({"a": broken, "b": refused}, now=T0) == 0
    assert [(i.channel, i.last_error) for i in outbox.pending()] == [
        ("a", "RuntimeError: template bug")]
    assert [(i.channel, i.last_error) for i in outbox.failed()] == [("b", "nope")]


def test_forget_before_keeps_pending_rows(outbox: Outbox, senders: dict[str, Sender]) -> None:
    outbox.enqueue([notification("room-1")], now=T0)
    outbox.deliver_due(senders, now=T0)
    outbox.enqueue([notification("room-2", channel="gone")], now=T0)
    assert outbox.forget_before(T0 + 1) == 1
    assert outbox.sent() == []
    assert len(outbox.pending()) == 1


def test_an_unreadable_row_fails_without_blocking_its_channel(
        outbox: Outbox, http_sink: HttpSink, senders: dict[str, Sender]) -> None:
    broken, fine = notification("room-1"), notification("room-2")
    outbox.enqueue([broken, fine], now=T0)
    with outbox.db:                               # e.g. written by a future version
        outbox.db.execute("UPDATE outbox SET notification = '{}' WHERE id = ?", (broken.id,))
    assert outbox.deliver_due(senders, now=T0) == 1
    [failed] = outbox.failed()
    assert (failed.id, failed.notification, failed.last_error) == (
        broken.id, None, "unreadable notification")
    assert [r.json()["id"] for r in http_sink.requests] == [fine.id]


def test_the_sole_deliverer_resends_what_a_killed_one_left_leased(
        tmp_path: Path, http_sink: HttpSink, senders: dict[str, Sender]) -> None:
    """No 2-minute wait after a crash mid-send: the lock file proves the old process is gone."""
    def crash(_: Notification) -> None:
        raise KeyboardInterrupt                 # stands in for the process dying

    first = Outbox(tmp_path)
    first.enqueue([notification()], now=T0)
    with pytest.raises(KeyboardInterrupt):
        first.deliver_due({"hook": crash}, now=T0)
    first.close()                               # its flock (never taken here) is gone too
    second = Outbox(tmp_path)
    assert second.recover_leases() == 1
    assert second.deliver_due(senders) == 1
    [request] = http_sink.requests
    assert request.headers["Idempotency-Key"] == notification().id


def test_leases_are_left_alone_while_another_deliverer_lives(tmp_path: Path) -> None:
    alive, other = Outbox(tmp_path), Outbox(tmp_path)
    assert alive.recover_leases() == 0          # takes the lock, nothing leased
    alive.enqueue([notification()], now=T0)
    alive._claim(1, _ns(T0))
    assert other.recover_leases() == 0          # the lock is held: the lease may be live
    assert other.pending()[0].next_attempt_at == T0 + 120
    alive.close()
    assert other.recover_leases() == 1          # its holder is gone


def test_a_back_off_wait_is_not_a_lease(outbox: Outbox, http_sink: HttpSink,
                                        senders: dict[str, Sender]) -> None:
    http_sink.fail_next(1, 503, headers={"Retry-After": "300"})
    outbox.enqueue([notification()], now=T0)
    assert outbox.deliver_due(senders, now=T0) == 0
    assert outbox.recover_leases() == 0
    assert outbox.pending()[0].next_attempt_at == T0 + 300


def test_deliveries_are_counted_by_channel(outbox: Outbox, http_sink: HttpSink,
                                           senders: dict[str, Sender]) -> None:
    def value(name: str) -> float:
        return REGISTRY.get_sample_value(name, {"channel": "hook"}) or 0.0

    names = ("zrmon_notifications_sent_total", "zrmon_notification_retries_total",
             "zrmon_notifications_failed_total")
    before = [value(name) for name in names]
    http_sink.fail_next(1, 500)
    http_sink.fail_next(1, 400)
    outbox.enqueue([notification("room-1"), notification("room-2")], now=T0)
    assert outbox.deliver_due(senders, now=T0) == 0          # room-1: 500, retried; room-2 waits
    assert outbox.deliver_due(senders, now=T0 + 10) == 1     # room-1: 400, failed; room-2 sent
    after = [value(name) - start for name, start in zip(names, before, strict=True)]
    assert after == [1, 1, 1]


def test_status_reports_depth_age_and_points_without_a_writer(outbox: Outbox,
                                                               state_dir: Path) -> None:
    assert outbox_status(state_dir / "nowhere") == OutboxStatus(0, None, 0)
    outbox.commit([notification("room-1"), notification("room-2")], points=["x v=1 1"],
                  now=T0)
    status = outbox_status(outbox.path.parent)
    assert (status.depth, status.oldest_created_ns, status.points) == (2, _ns(T0), 1)
    assert status.oldest_age_s(_ns(T0 + 90)) == 90
