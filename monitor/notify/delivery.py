"""Delivery: sending the outbox's due notifications, with back-off, from a thread of its own.

Apart from the store (:mod:`monitor.notify.outbox`) because this is the policy
of sending, not of keeping: which row goes next, what a failure costs, when to
give up.

Delivery is at-least-once: a crash between the server's 2xx and our
commit sends that one notification again after restart (with the same id,
which webhooks receive as ``Idempotency-Key``). Per channel,
notifications go out in the order they were enqueued: while the oldest
one of a channel waits for its retry, later ones wait too, so a RESOLVED
never overtakes its FIRING.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from monitor.core.metrics import NOTIFICATION_RETRIES, NOTIFICATIONS_FAILED, NOTIFICATIONS_SENT
from monitor.core.timeutil import NS_PER_S
from monitor.notify.channels.kind import DeliveryError, Sender
from monitor.notify.message import Notification
from monitor.notify.outbox import Outbox, seconds_to_ns
from monitor.store.statedb import StateDBError

log = logging.getLogger("monitor.notify")


@dataclass(frozen=True)
class RetryPolicy:
    """Back-off 10 s, 20 s, 40 s … capped at 10 min; give up 24 h after enqueueing.

    ``lease_s`` is how long a notification being sent is hidden from other
    deliverers, on this host or another (and, after a crash mid-send, how long
    until it is retried: on PostgreSQL by any deliverer, by the lease's end).
    """

    base_delay_s: float = 10.0
    max_delay_s: float = 600.0
    max_age_s: float = 86_400.0
    lease_s: float = 120.0

    def delay(self, attempts: int, retry_after_s: float | None = None) -> float:
        """Wait before attempt ``attempts + 1``; a server's Retry-After counts, up to the cap."""
        backoff = min(self.base_delay_s * 2.0 ** max(0, attempts - 1), self.max_delay_s)
        if retry_after_s is not None:
            backoff = max(backoff, min(retry_after_s, self.max_delay_s))
        return backoff



def deliver_due(outbox: Outbox, senders: Mapping[str, Sender], now: float | None = None, *,
                retry: RetryPolicy | None = None) -> int:
    """Attempt every due notification once; how many were delivered.

    ``now`` (epoch seconds) is injectable so tests can step through
    back-off without sleeping.
    """
    policy = retry or RetryPolicy()
    now_ns = seconds_to_ns(time.time() if now is None else now)
    _expire(outbox, policy, now_ns)
    delivered = 0
    blocked: set[str] = set()
    for seq, channel, due_ns in outbox.pending_rows():
        if channel in blocked:
            continue
        if due_ns > now_ns:
            blocked.add(channel)        # keep the channel's order: wait for the oldest
            continue
        claimed = outbox.claim(seq, now_ns, now_ns + seconds_to_ns(policy.lease_s))
        if claimed is None:
            blocked.add(channel)
            continue
        notification = claimed.notification
        if notification is None:
            # A row this version cannot parse must not block its channel or crash every pass.
            log.error("outbox row %d cannot be read back; marked failed", seq)
            outbox.mark_failed(seq, now_ns, "unreadable notification")
            NOTIFICATIONS_FAILED.labels(channel).inc()
            continue
        error = _attempt(senders, notification)
        if error is None:
            outbox.mark_sent(seq, now_ns)
            NOTIFICATIONS_SENT.labels(channel).inc()
            delivered += 1
            continue
        _record_failure(outbox, policy, seq, notification, error, attempts=claimed.attempts + 1,
                        created_ns=claimed.created_ns, now_ns=now_ns)
        if not error.permanent:
            blocked.add(channel)
    return delivered


def _record_failure(outbox: Outbox, policy: RetryPolicy, seq: int, notification: Notification,
                    error: DeliveryError, *, attempts: int, created_ns: int,
                    now_ns: int) -> None:
    retry_ns = now_ns + seconds_to_ns(policy.delay(attempts, error.retry_after_s))
    message = str(error)
    if error.permanent or retry_ns - created_ns > seconds_to_ns(policy.max_age_s):
        if not error.permanent:
            message = f"gave up after {attempts} attempts: {message}"
        log.error("notification %s to %s failed for good: %s", notification.id,
                  notification.channel, message)
        outbox.mark_failed(seq, now_ns, message, attempts=attempts)
        NOTIFICATIONS_FAILED.labels(notification.channel).inc()
        return
    log.warning("notification %s to %s failed (attempt %d), retrying in %.0f s: %s",
                notification.id, notification.channel, attempts,
                (retry_ns - now_ns) / NS_PER_S, message)
    outbox.schedule_retry(seq, attempts, retry_ns, message)
    NOTIFICATION_RETRIES.labels(notification.channel).inc()


def _expire(outbox: Outbox, policy: RetryPolicy, now_ns: int) -> None:
    """Stale alerts are worse than none: past the max age, pending becomes failed."""
    channels = outbox.expire(now_ns - seconds_to_ns(policy.max_age_s), now_ns)
    for channel in channels:
        NOTIFICATIONS_FAILED.labels(channel).inc()
    if channels:
        log.error("%d notification(s) expired undelivered", len(channels))


def _attempt(senders: Mapping[str, Sender], notification: Notification) -> DeliveryError | None:
    sender = senders.get(notification.channel)
    if sender is None:
        # Retried, not failed: the channel may come back with the next config reload.
        return DeliveryError(f"no channel named {notification.channel!r} is configured")
    try:
        sender(notification)
    except DeliveryError as exc:
        return exc
    except Exception as exc:
        log.exception("sender for %s crashed", notification.channel)
        return DeliveryError(f"{type(exc).__name__}: {exc}")
    return None


class DeliveryWorker:
    """The delivery loop, for its own thread: ``threading.Thread(target=worker.run)``.

    It polls rather than being woken by ``enqueue`` so the outbox stays a
    plain object any process can write to; a second of latency is nothing
    next to a rule's evaluation interval. It never dies of an exception:
    a broken sender is a failed attempt, a database error (SQLite's, or
    ``StateDBError`` while PostgreSQL is down) is logged and retried on the
    next tick.
    """

    def __init__(self, outbox: Outbox, senders: Mapping[str, Sender],
                 stop_event: threading.Event, *, retry: RetryPolicy | None = None,
                 poll_s: float = 1.0, retention_s: float = 30 * 86_400.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.outbox = outbox
        self.senders = senders
        self.stop_event = stop_event
        self.retry = retry or RetryPolicy()
        self.poll_s = poll_s
        self.retention_s = retention_s
        self.clock = clock
        self._next_cleanup = 0.0

    def run(self) -> None:
        try:
            self.outbox.recover_leases()
        except (OSError, sqlite3.Error, StateDBError):
            log.exception("cannot recover leases of a previous process; they run out instead")
        while not self.stop_event.is_set():
            self.run_once()
            self.stop_event.wait(self.poll_s)

    def run_once(self) -> int:
        now = self.clock()
        try:
            delivered = deliver_due(self.outbox, self.senders, now, retry=self.retry)
            if now >= self._next_cleanup:
                self.outbox.forget_before(now - self.retention_s)
                self._next_cleanup = now + 3600.0
        except Exception:
            log.exception("notification delivery pass failed; retrying")
            return 0
        return delivered
