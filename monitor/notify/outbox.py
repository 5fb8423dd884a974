"""A durable outbox: notifications are committed to SQLite first and sent from another thread.

Why an outbox rather than sending inline: evaluation must never wait on
Slack or an SMTP server, and a notification accepted here must survive a
crash or restart. Rows are keyed by :attr:`Notification.id`, so enqueueing
the same transition again (every evaluation re-emits firing alerts; a
restart re-emits them all) is a no-op — including after it was sent.

Delivery is at-least-once: a crash between the server's 2xx and our
commit sends that one notification again after restart (with the same id,
which webhooks receive as ``Idempotency-Key``). Per channel,
notifications go out in the order they were enqueued: while the oldest
one of a channel waits for its retry, later ones wait too, so a RESOLVED
never overtakes its FIRING.

The same database holds the rule engine's state (``state`` table: rule and
dispatcher state as JSON) and the ``rule_state`` points not yet in InfluxDB
(``influx_points``), so :meth:`Outbox.commit` stores a transition, its
notifications and its history point in one SQLite transaction: a crash can
lose or repeat none of them separately.
"""

from __future__ import annotations

import fcntl
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, cast

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from monitor.core.metrics import NOTIFICATION_RETRIES, NOTIFICATIONS_FAILED, NOTIFICATIONS_SENT
from monitor.notify.channels.kind import DeliveryError, Sender
from monitor.notify.message import Notification

log = logging.getLogger("monitor.notify")

FILENAME = "outbox.sqlite"
LOCK_FILENAME = "outbox.lock"   # held by the process whose worker delivers (see recover_leases)
BUSY_TIMEOUT_S = 5.0            # every transaction here takes milliseconds: 5 s is a fault
NS = 1_000_000_000
ItemStatus = Literal["pending", "sent", "failed"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    channel         TEXT NOT NULL,
    group_key       TEXT NOT NULL,
    kind            TEXT NOT NULL,
    notification    TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_ns      INTEGER NOT NULL,
    next_attempt_ns INTEGER NOT NULL,
    finished_ns     INTEGER,
    last_error      TEXT,
    leased          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_status ON outbox (status, seq);
CREATE TABLE IF NOT EXISTS state (
    key             TEXT PRIMARY KEY,
    value           TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS influx_points (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    lines           TEXT NOT NULL
);
"""
_COLUMNS = ("id, channel, group_key, kind, notification, status, attempts, created_ns, "
            "next_attempt_ns, finished_ns, last_error")


@dataclass(frozen=True)
class RetryPolicy:
    """Back-off 10 s, 20 s, 40 s … capped at 10 min; give up 24 h after enqueueing.

    ``lease_s`` is how long a notification being sent is hidden from other
    deliverers (and, after a crash mid-send, how long until it is retried).
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


@dataclass(frozen=True)
class OutboxItem:
    """One row, for inspection (``zrmon`` commands, tests).

    ``notification`` is None only for a row this version cannot read back.
    """

    id: str
    channel: str
    group_key: str
    kind: str
    status: ItemStatus
    attempts: int
    created_at: float
    next_attempt_at: float | None      # pending only
    finished_at: float | None          # sent or failed
    last_error: str | None
    notification: Notification | None


class Outbox:
    """One SQLite file under the state dir; safe to share between the evaluator and the worker.

    Every method takes a short lock around its own transaction; no lock is
    held while a sender talks to the network.
    """

    def __init__(self, state_dir: Path, policy: RetryPolicy | None = None, *,
                 busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / FILENAME
        self.policy = policy or RetryPolicy()
        self._lock = threading.Lock()
        self._owner: IO[bytes] | None = None
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                  timeout=busy_timeout_s)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)
        _add_column(self.db, "outbox", "leased", "INTEGER NOT NULL DEFAULT 0")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self.db:
            self.db.execute("BEGIN IMMEDIATE")
            yield self.db

    def enqueue(self, notifications: Iterable[Notification], now: float | None = None) -> int:
        """Store new notifications, due at once; how many were new (known ids are ignored)."""
        return self.commit(notifications, now=now)

    def commit(self, notifications: Iterable[Notification] = (), *,
               state: Mapping[str, str | None] | None = None, points: Iterable[str] = (),
               now: float | None = None) -> int:
        """Notifications, state rows (``None`` deletes one) and points in ONE transaction.

        Either all of it is stored or none (an exception, e.g. ``sqlite3.OperationalError:
        database is locked``, leaves the database as it was). Returns how many
        notifications were new.
        """
        now_ns = _ns(time.time() if now is None else now)
        rows = [(n.id, n.channel, n.group_key, n.kind,
                 json.dumps(n.to_dict(), ensure_ascii=False, separators=(",", ":")),
                 now_ns, now_ns) for n in notifications]
        added = 0
        with self._transaction() as db:
            for row in rows:
                added += db.execute(
                    "INSERT OR IGNORE INTO outbox (id, channel, group_key, kind, notification,"
                    " created_ns, next_attempt_ns) VALUES (?, ?, ?, ?, ?, ?, ?)", row).rowcount
            for key, value in (state or {}).items():
                if value is None:
                    db.execute("DELETE FROM state WHERE key = ?", (key,))
                else:
                    db.execute("INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key)"
                               " DO UPDATE SET value = excluded.value", (key, value))
            db.executemany("INSERT INTO influx_points (lines) VALUES (?)",
                           [(text,) for text in points if text])
        return added

    def load_state(self) -> dict[str, str]:
        """Every state row, as committed last."""
        with self._lock:
            return dict(self.db.execute("SELECT key, value FROM state").fetchall())

    def pending_points(self, limit: int = 100) -> list[tuple[int, str]]:
        """The oldest committed point batches not yet written to InfluxDB: (seq, lines)."""
        with self._lock:
            return [(int(seq), str(lines)) for seq, lines in self.db.execute(
                "SELECT seq, lines FROM influx_points ORDER BY seq LIMIT ?", (limit,))]

    def drop_points(self, through_seq: int) -> None:
        """Forget batches InfluxDB has accepted (a repeat would only overwrite the same points)."""
        with self._transaction() as db:
            db.execute("DELETE FROM influx_points WHERE seq <= ?", (through_seq,))

    def recover_leases(self) -> int:
        """Make rows leased by a dead process due again; how many. Only as the sole deliverer.

        A lease hides a row being sent from other deliverers. When the process
        holding it was killed mid-send, waiting out the lease (2 min) only
        delays the message. The deliverer holds an exclusive ``flock`` on
        ``outbox.lock`` for its lifetime (the kernel drops it when the process
        dies, even on SIGKILL): whoever gets it knows no other deliverer is
        alive, so every lease is stale. Without the lock, leases run out as usual.
        """
        if self._owner is None:
            handle = (self.path.parent / LOCK_FILENAME).open("ab")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                return 0
            self._owner = handle
        now_ns = time.time_ns()
        with self._transaction() as db:
            count = db.execute("UPDATE outbox SET next_attempt_ns = ?, leased = 0 "
                               "WHERE status = 'pending' AND leased = 1", (now_ns,)).rowcount
        if count:
            log.warning("%d notification(s) were being sent when the last process stopped; "
                        "sending them again (same id, Idempotency-Key)", count)
        return int(count)

    def deliver_due(self, senders: Mapping[str, Sender], now: float | None = None) -> int:
        """Attempt every due notification once; how many were delivered.

        ``now`` (epoch seconds) is injectable so tests can step through
        back-off without sleeping.
        """
        now_ns = _ns(time.time() if now is None else now)
        self._expire(now_ns)
        delivered = 0
        blocked: set[str] = set()
        for seq, channel, due_ns in self._pending():
            if channel in blocked:
                continue
            if due_ns > now_ns:
                blocked.add(channel)        # keep the channel's order: wait for the oldest
                continue
            claimed = self._claim(seq, now_ns)
            if claimed is None:
                blocked.add(channel)
                continue
            text, attempts, created_ns = claimed
            notification = _parse(text)
            if notification is None:
                self._mark_unreadable(seq, channel, now_ns)
                continue
            error = _attempt(senders, notification)
            if error is None:
                self._mark_sent(seq, now_ns)
                NOTIFICATIONS_SENT.labels(channel).inc()
                delivered += 1
                continue
            self._record_failure(seq, notification, error, attempts=attempts + 1,
                                 created_ns=created_ns, now_ns=now_ns)
            if not error.permanent:
                blocked.add(channel)
        return delivered

    def _pending(self) -> list[tuple[int, str, int]]:
        with self._lock:
            return self.db.execute(
                "SELECT seq, channel, next_attempt_ns FROM outbox WHERE status = 'pending' "
                "ORDER BY seq").fetchall()

    def _claim(self, seq: int, now_ns: int) -> tuple[str, int, int] | None:
        """Lease one due row so no other deliverer sends it meanwhile."""
        lease_ns = now_ns + _ns(self.policy.lease_s)
        with self._transaction() as db:
            row = db.execute(
                "UPDATE outbox SET next_attempt_ns = ?, leased = 1 WHERE seq = ? AND "
                "status = 'pending' AND next_attempt_ns <= ? "
                "RETURNING notification, attempts, created_ns",
                (lease_ns, seq, now_ns)).fetchone()
        if row is None:
            return None
        return str(row[0]), int(row[1]), int(row[2])

    def _mark_sent(self, seq: int, now_ns: int) -> None:
        with self._transaction() as db:
            db.execute("UPDATE outbox SET status = 'sent', attempts = attempts + 1, leased = 0, "
                       "finished_ns = ?, last_error = NULL WHERE seq = ?", (now_ns, seq))

    def _mark_unreadable(self, seq: int, channel: str, now_ns: int) -> None:
        """A row this version cannot parse must not block its channel or crash every pass."""
        log.error("outbox row %d cannot be read back; marked failed", seq)
        with self._transaction() as db:
            db.execute("UPDATE outbox SET status = 'failed', finished_ns = ?, leased = 0, "
                       "last_error = 'unreadable notification' WHERE seq = ?", (now_ns, seq))
        NOTIFICATIONS_FAILED.labels(channel).inc()

    def _record_failure(self, seq: int, notification: Notification, error: DeliveryError, *,
                        attempts: int, created_ns: int, now_ns: int) -> None:
        retry_ns = now_ns + _ns(self.policy.delay(attempts, error.retry_after_s))
        message = str(error)
        if error.permanent or retry_ns - created_ns > _ns(self.policy.max_age_s):
            if not error.permanent:
                message = f"gave up after {attempts} attempts: {message}"
            log.error("notification %s to %s failed for good: %s", notification.id,
                      notification.channel, message)
            with self._transaction() as db:
                db.execute("UPDATE outbox SET status = 'failed', attempts = ?, finished_ns = ?,"
                           " leased = 0, last_error = ? WHERE seq = ?",
                           (attempts, now_ns, message, seq))
            NOTIFICATIONS_FAILED.labels(notification.channel).inc()
            return
        log.warning("notification %s to %s failed (attempt %d), retrying in %.0f s: %s",
                    notification.id, notification.channel, attempts,
                    (retry_ns - now_ns) / NS, message)
        with self._transaction() as db:
            db.execute("UPDATE outbox SET attempts = ?, next_attempt_ns = ?, leased = 0, "
                       "last_error = ? WHERE seq = ?", (attempts, retry_ns, message, seq))
        NOTIFICATION_RETRIES.labels(notification.channel).inc()

    def _expire(self, now_ns: int) -> None:
        """Stale alerts are worse than none: past the max age, pending becomes failed."""
        cutoff = now_ns - _ns(self.policy.max_age_s)
        with self._transaction() as db:
            channels = [str(row[0]) for row in db.execute(
                "UPDATE outbox SET status = 'failed', finished_ns = ?, leased = 0, last_error = "
                "'expired undelivered after max age' || COALESCE(' (last error: ' || "
                "last_error || ')', '') WHERE status = 'pending' AND created_ns < ? "
                "RETURNING channel", (now_ns, cutoff)).fetchall()]
        for channel in channels:
            NOTIFICATIONS_FAILED.labels(channel).inc()
        if channels:
            log.error("%d notification(s) expired undelivered", len(channels))

    def pending(self) -> list[OutboxItem]:
        return self._items("pending")

    def failed(self) -> list[OutboxItem]:
        return self._items("failed")

    def sent(self) -> list[OutboxItem]:
        return self._items("sent")

    def get(self, notification_id: str) -> OutboxItem | None:
        with self._lock:
            row = self.db.execute(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?",
                                  (notification_id,)).fetchone()
        return None if row is None else _item(row)

    def _items(self, status: ItemStatus) -> list[OutboxItem]:
        with self._lock:
            rows = self.db.execute(f"SELECT {_COLUMNS} FROM outbox WHERE status = ? "
                                   "ORDER BY seq", (status,)).fetchall()
        return [_item(row) for row in rows]

    def forget_before(self, cutoff: float) -> int:
        """Drop sent and failed rows finished before ``cutoff`` (epoch seconds).

        A forgotten id can be sent again if the same transition is enqueued
        anew, so keep rows longer than any alert stays unchanged (the worker
        uses 30 days).
        """
        with self._transaction() as db:
            return db.execute("DELETE FROM outbox WHERE status != 'pending' AND finished_ns < ?",
                              (_ns(cutoff),)).rowcount

    def close(self) -> None:
        with self._lock:
            self.db.close()
            if self._owner is not None:
                self._owner.close()
                self._owner = None


class DeliveryWorker:
    """The delivery loop, for its own thread: ``threading.Thread(target=worker.run)``.

    It polls rather than being woken by ``enqueue`` so the outbox stays a
    plain object any process can write to; a second of latency is nothing
    next to a rule's evaluation interval. It never dies of an exception:
    a broken sender is a failed attempt, a database error is logged and
    retried on the next tick.
    """

    def __init__(self, outbox: Outbox, senders: Mapping[str, Sender],
                 stop_event: threading.Event, *, poll_s: float = 1.0,
                 retention_s: float = 30 * 86_400.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.outbox = outbox
        self.senders = senders
        self.stop_event = stop_event
        self.poll_s = poll_s
        self.retention_s = retention_s
        self.clock = clock
        self._next_cleanup = 0.0

    def run(self) -> None:
        try:
            self.outbox.recover_leases()
        except (OSError, sqlite3.Error):
            log.exception("cannot recover leases of a previous process; they run out instead")
        while not self.stop_event.is_set():
            self.run_once()
            self.stop_event.wait(self.poll_s)

    def run_once(self) -> int:
        now = self.clock()
        try:
            delivered = self.outbox.deliver_due(self.senders, now)
            if now >= self._next_cleanup:
                self.outbox.forget_before(now - self.retention_s)
                self._next_cleanup = now + 3600.0
        except Exception:
            log.exception("notification delivery pass failed; retrying")
            return 0
        return delivered


@dataclass(frozen=True)
class OutboxStatus:
    depth: int                        # pending notifications
    oldest_created_ns: int | None     # the oldest pending one's enqueue time
    points: int                       # rule_state point batches not yet in InfluxDB

    def oldest_age_s(self, now_ns: int) -> float:
        return 0.0 if self.oldest_created_ns is None else max(
            0.0, (now_ns - self.oldest_created_ns) / NS)


def outbox_status(state_dir: Path) -> OutboxStatus:
    """Read-only, from any process: what the metrics and health checks report."""
    path = state_dir / FILENAME
    if not path.exists():
        return OutboxStatus(0, None, 0)
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=2.0)
    try:
        depth, oldest = db.execute("SELECT COUNT(*), MIN(created_ns) FROM outbox "
                                   "WHERE status = 'pending'").fetchone()
        (points,) = db.execute("SELECT COUNT(*) FROM influx_points").fetchone()
    finally:
        db.close()
    return OutboxStatus(int(depth), None if oldest is None else int(oldest), int(points))


class OutboxCollector(Collector):
    """Outbox gauges read from the database at scrape time (like the spool's), never stale."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            status = outbox_status(self.state_dir)
        except sqlite3.Error as exc:         # a scrape must not fail on a busy database
            log.warning("outbox metrics unavailable: %s", exc)
            return
        yield GaugeMetricFamily("zrmon_outbox_depth", "Notifications waiting to be delivered.",
                                value=status.depth)
        yield GaugeMetricFamily("zrmon_outbox_oldest_age_seconds",
                                "Age of the oldest notification waiting to be delivered.",
                                value=status.oldest_age_s(time.time_ns()))
        yield GaugeMetricFamily("zrmon_rule_points_pending",
                                "Batches of rule_state points committed but not yet in InfluxDB.",
                                value=status.points)


def _add_column(db: sqlite3.Connection, table: str, column: str, definition: str) -> None:
    """Schema upgrade in place: an outbox written by an older version gains the column."""
    names = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    if column not in names:
        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")


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


def _item(row: tuple[Any, ...]) -> OutboxItem:
    (item_id, channel, key, kind, text, status, attempts, created_ns, next_ns, finished_ns,
     error) = row
    return OutboxItem(id=item_id, channel=channel, group_key=key, kind=kind,
                      status=cast(ItemStatus, status), attempts=attempts,
                      created_at=created_ns / NS,
                      next_attempt_at=next_ns / NS if status == "pending" else None,
                      finished_at=None if finished_ns is None else finished_ns / NS,
                      last_error=error, notification=_parse(text))


def _parse(text: str) -> Notification | None:
    try:
        return Notification.from_dict(json.loads(text))
    except (ValueError, KeyError, TypeError):
        return None


def _ns(seconds: float) -> int:
    return round(seconds * NS)
