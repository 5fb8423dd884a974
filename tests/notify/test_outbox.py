"""The outbox store: its file, idempotent enqueueing, restarts, upkeep and leases.

Rows are delivered to a real HTTP server (fixtures in conftest.py); ``now`` is injected.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.alerts import T0, room_notification
from support.sinks import HttpSink

from monitor.notify.channels.kind import Sender
from monitor.notify.delivery import deliver_due
from monitor.notify.message import Notification
from monitor.notify.outbox import Outbox, seconds_to_ns


def test_the_file_lives_in_the_state_dir(tmp_path: Path) -> None:
    Outbox(tmp_path / "var" / "state").close()
    assert (tmp_path / "var" / "state" / "outbox.sqlite").is_file()


def test_enqueue_twice_delivers_once(outbox: Outbox, http_sink: HttpSink,
                                     senders: dict[str, Sender]) -> None:
    assert outbox.enqueue([room_notification(), room_notification()], now=T0) == 1
    assert outbox.enqueue([room_notification()], now=T0 + 1) == 0
    assert deliver_due(outbox, senders, now=T0 + 1) == 1
    assert outbox.enqueue([room_notification()], now=T0 + 60) == 0    # re-emitted after sending
    assert deliver_due(outbox, senders, now=T0 + 60) == 0
    assert len(http_sink.requests) == 1


def test_restart_resends_pending_but_never_sent(tmp_path: Path, http_sink: HttpSink,
                                                senders: dict[str, Sender]) -> None:
    sent, waiting = room_notification("room-1"), room_notification("room-2")
    first = Outbox(tmp_path / "state")
    first.enqueue([sent], now=T0)
    assert deliver_due(first, senders, now=T0) == 1
    http_sink.fail_next(1, 502)
    first.enqueue([waiting], now=T0 + 1)
    assert deliver_due(first, senders, now=T0 + 1) == 0
    first.close()

    second = Outbox(tmp_path / "state")                # the process restarted
    assert second.enqueue([sent, waiting], now=T0 + 2) == 0   # the evaluator re-emits all
    assert [item.id for item in second.pending()] == [waiting.id]
    assert deliver_due(second, senders, now=T0 + 11) == 1

    bodies = [request.json()["id"] for request in http_sink.requests]
    assert bodies == [sent.id, waiting.id, waiting.id]   # sent once; waiting: 502, then ok


def test_forget_before_keeps_pending_rows(outbox: Outbox, senders: dict[str, Sender]) -> None:
    outbox.enqueue([room_notification("room-1")], now=T0)
    deliver_due(outbox, senders, now=T0)
    outbox.enqueue([room_notification("room-2", channel="gone")], now=T0)
    assert outbox.forget_before(T0 + 1) == 1
    assert outbox.sent() == []
    assert len(outbox.pending()) == 1


def test_the_sole_deliverer_resends_what_a_killed_one_left_leased(
        tmp_path: Path, http_sink: HttpSink, senders: dict[str, Sender]) -> None:
    """No 2-minute wait after a crash mid-send: the lock file proves the old process is gone."""
    def crash(_: Notification) -> None:
        raise KeyboardInterrupt                 # stands in for the process dying

    first = Outbox(tmp_path)
    first.enqueue([room_notification()], now=T0)
    with pytest.raises(KeyboardInterrupt):
        deliver_due(first, {"hook": crash}, now=T0)
    first.close()                               # its flock (never taken here) is gone too
    second = Outbox(tmp_path)
    assert second.recover_leases() == 1
    assert deliver_due(second, senders) == 1
    [request] = http_sink.requests
    assert request.headers["Idempotency-Key"] == room_notification().id


def test_leases_are_left_alone_while_another_deliverer_lives(tmp_path: Path) -> None:
    alive, other = Outbox(tmp_path), Outbox(tmp_path)
    assert alive.recover_leases() == 0          # takes the lock, nothing leased
    alive.enqueue([room_notification()], now=T0)
    alive.claim(1, seconds_to_ns(T0), seconds_to_ns(T0 + 120))   # a deliverer's lease
    assert other.recover_leases() == 0          # the lock is held: the lease may be live
    assert other.pending()[0].next_attempt_at == T0 + 120
    alive.close()
    assert other.recover_leases() == 1          # its holder is gone


def test_a_back_off_wait_is_not_a_lease(outbox: Outbox, http_sink: HttpSink,
                                        senders: dict[str, Sender]) -> None:
    http_sink.fail_next(1, 503, headers={"Retry-After": "300"})
    outbox.enqueue([room_notification()], now=T0)
    assert deliver_due(outbox, senders, now=T0) == 0
    assert outbox.recover_leases() == 0
    assert outbox.pending()[0].next_attempt_at == T0 + 300
