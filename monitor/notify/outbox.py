"""A durable outbox: notifications are committed to SQLite first and sent from another thread.

Why an outbox rather than sending inline: evaluation must never wait on
Slack or an SMTP server, and a notification accepted here must survive a
crash or restart. Rows are keyed by :attr:`Notification.id`, so enqueueing
the same transition again (every evaluation re-emits firing alerts; a
restart re-emits them all) is a no-op — including after it was sent.

This module is the store: rows, their states (pending, sent, failed) and the
lease that hides a row being sent. Sending them — order, back-off, giving up —
is :mod:`monitor.notify.delivery`; the gauges read from the same file are
:mod:`monitor.notify.outbox_metrics`.

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
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, cast

from monitor.core.timeutil import NS_PER_S
from monitor.notify.message import Notification

log = logging.getLogger("monitor.notify")

FILENAME = "outbox.sqlite"
LOCK_FILENAME = "outbox.lock"   # held by the process whose worker delivers (see recover_leases)
BUSY_TIMEOUT_S = 5.0            # every transaction here takes milliseconds: 5 s is a fault
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


@dataclass(frozen=True)
class Claim:
    """A due row leased to one deliverer; ``notification`` is None if it cannot be read back."""

    seq: int
    notification: Notification | None
    attempts: int
    created_ns: int


class Outbox:
    """One SQLite file under the state dir; safe to share between the evaluator and the worker.

    Every method takes a short lock around its own transaction; no lock is
    held while a sender talks to the network.
    """

    def __init__(self, state_dir: Path, *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / FILENAME
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
        now_ns = seconds_to_ns(time.time() if now is None else now)
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

    # -- the life of a row, for deliverers (see monitor.notify.delivery) ----

    def pending_rows(self) -> list[tuple[int, str, int]]:
        """Every pending row as (seq, channel, next_attempt_ns), oldest first."""
        with self._lock:
            return self.db.execute(
                "SELECT seq, channel, next_attempt_ns FROM outbox WHERE status = 'pending' "
                "ORDER BY seq").fetchall()

    def claim(self, seq: int, now_ns: int, lease_until_ns: int) -> Claim | None:
        """Lease one due row so no other deliverer sends it meanwhile; None if it is not due."""
        with self._transaction() as db:
            row = db.execute(
                "UPDATE outbox SET next_attempt_ns = ?, leased = 1 WHERE seq = ? AND "
                "status = 'pending' AND next_attempt_ns <= ? "
                "RETURNING notification, attempts, created_ns",
                (lease_until_ns, seq, now_ns)).fetchone()
        if row is None:
            return None
        return Claim(seq, _parse(str(row[0])), int(row[1]), int(row[2]))

    def mark_sent(self, seq: int, now_ns: int) -> None:
        with self._transaction() as db:
            db.execute("UPDATE outbox SET status = 'sent', attempts = attempts + 1, leased = 0, "
                       "finished_ns = ?, last_error = NULL WHERE seq = ?", (now_ns, seq))

    def mark_failed(self, seq: int, now_ns: int, error: str, *,
                    attempts: int | None = None) -> None:
        """Failed for good; ``attempts`` None keeps the count (a row never attempted)."""
        with self._transaction() as db:
            if attempts is None:
                db.execute("UPDATE outbox SET status = 'failed', finished_ns = ?, leased = 0, "
                           "last_error = ? WHERE seq = ?", (now_ns, error, seq))
            else:
                db.execute("UPDATE outbox SET status = 'failed', attempts = ?, finished_ns = ?,"
                           " leased = 0, last_error = ? WHERE seq = ?",
                           (attempts, now_ns, error, seq))

    def schedule_retry(self, seq: int, attempts: int, retry_ns: int, error: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE outbox SET attempts = ?, next_attempt_ns = ?, leased = 0, "
                       "last_error = ? WHERE seq = ?", (attempts, retry_ns, error, seq))

    def expire(self, cutoff_ns: int, now_ns: int) -> list[str]:
        """Pending rows enqueued before ``cutoff_ns`` become failed; the channel of each."""
        with self._transaction() as db:
            return [str(row[0]) for row in db.execute(
                "UPDATE outbox SET status = 'failed', finished_ns = ?, leased = 0, last_error = "
                "'expired undelivered after max age' || COALESCE(' (last error: ' || "
                "last_error || ')', '') WHERE status = 'pending' AND created_ns < ? "
                "RETURNING channel", (now_ns, cutoff_ns)).fetchall()]

    # -- inspection and upkeep ----------------------------------------------

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
                              (seconds_to_ns(cutoff),)).rowcount

    def close(self) -> None:
        with self._lock:
            self.db.close()
            if self._owner is not None:
                self._owner.close()
                self._owner = None


def _add_column(db: sqlite3.Connection, table: str, column: str, definition: str) -> None:
    """Schema upgrade in place: an outbox written by an older version gains the column."""
    names = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    if column not in names:
        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")


def _item(row: tuple[Any, ...]) -> OutboxItem:
    (item_id, channel, key, kind, text, status, attempts, created_ns, next_ns, finished_ns,
     error) = row
    return OutboxItem(id=item_id, channel=channel, group_key=key, kind=kind,
                      status=cast(ItemStatus, status), attempts=attempts,
                      created_at=created_ns / NS_PER_S,
                      next_attempt_at=next_ns / NS_PER_S if status == "pending" else None,
                      finished_at=None if finished_ns is None else finished_ns / NS_PER_S,
                      last_error=error, notification=_parse(text))


def _parse(text: str) -> Notification | None:
    try:
        return Notification.from_dict(json.loads(text))
    except (ValueError, KeyError, TypeError):
        return None




def seconds_to_ns(seconds: float) -> int:
    """Epoch seconds (``now`` arguments, policies) as the nanoseconds rows store."""
    return round(seconds * NS_PER_S)
