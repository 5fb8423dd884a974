"""A durable outbox: notifications are committed to the state database first and sent from
another thread.

Why an outbox rather than sending inline: evaluation must never wait on
Slack or an SMTP server, and a notification accepted here must survive a
crash or restart. Rows are keyed by :attr:`Notification.id`, so enqueueing
the same transition again (every evaluation re-emits firing alerts; a
restart re-emits them all) is a no-op — including after it was sent.

This module is the store: rows, their states (pending, sent, failed) and the
lease that hides a row being sent. Sending them — order, back-off, giving up —
is :mod:`monitor.notify.delivery`; the gauges read from the same database are
:mod:`monitor.notify.outbox_metrics`.

The same database holds the rule engine's state (``state`` table: rule and
dispatcher state as JSON) and the ``rule_state`` points not yet in InfluxDB
(``influx_points``), so :meth:`Outbox.commit` stores a transition, its
notifications and its history point in one transaction: a crash can lose or
repeat none of them separately.

The database is the state directory's ``outbox.sqlite`` on one machine, or the
shared PostgreSQL database (:mod:`monitor.store.statedb`, schema component
``evaluator``) when several hosts run the monitor. There a row is claimed with
``FOR UPDATE SKIP LOCKED``, so two deliverers never send one row, and a lease
left by a process that died runs out after its time like any other.
"""

from __future__ import annotations

import fcntl
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, cast

from monitor.core.timeutil import NS_PER_S
from monitor.notify.message import Notification
from monitor.store.migrations import create_sqlite, migrate
from monitor.store.statedb import (
    BUSY_TIMEOUT_S,
    SQLiteDB,
    StateDB,
    Tx,
    is_postgres_url,
    open_state_db,
)

log = logging.getLogger("monitor.notify")

FILENAME = "outbox.sqlite"
LOCK_FILENAME = "outbox.lock"   # held by the process whose worker delivers (see recover_leases)
ItemStatus = Literal["pending", "sent", "failed"]
Fence = Callable[[Tx], None]    # raises when this process may no longer write (see Outbox)

_COLUMNS = ("id, channel, group_key, kind, notification, status, attempts, created_ns, "
            "next_attempt_ns, finished_ns, last_error")
_CLAIM = {
    "sqlite": "UPDATE outbox SET next_attempt_ns = ?, leased = 1 WHERE seq = ? AND "
              "status = 'pending' AND next_attempt_ns <= ? "
              "RETURNING notification, attempts, created_ns",
    # A row another deliverer is claiming right now is skipped, not waited for.
    "postgresql": "UPDATE outbox SET next_attempt_ns = ?, leased = 1 WHERE seq = (SELECT seq "
                  "FROM outbox WHERE seq = ? AND status = 'pending' AND next_attempt_ns <= ? "
                  "FOR UPDATE SKIP LOCKED) RETURNING notification, attempts, created_ns",
}


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
    """The outbox tables of one state database; safe to share between the evaluator and the
    worker.

    Each method is one short transaction; none is open while a sender talks to
    the network. ``fence``, when given, is called inside every transaction that
    writes, before it writes: if it raises, nothing of that transaction is
    stored and the exception propagates (a replica that lost the lead must not
    commit or send).
    """

    def __init__(self, db: StateDB, fence: Fence | None = None) -> None:
        self.db = db
        self.fence = fence
        self.path: Path | None = db.path if isinstance(db, SQLiteDB) else None
        self.where = str(self.path) if self.path is not None else "the PostgreSQL state database"
        self._owner: IO[bytes] | None = None

    @classmethod
    def open(cls, state_dir: Path, url: str = "", *, fence: Fence | None = None,
             busy_timeout_s: float = BUSY_TIMEOUT_S) -> Outbox:
        """PostgreSQL at ``url`` if it names one, else ``outbox.sqlite`` in ``state_dir``;
        its schema brought up to date."""
        if not is_postgres_url(url):
            create_sqlite(state_dir / FILENAME, "evaluator", time.time_ns())
        db = open_state_db(url, state_dir / FILENAME, busy_timeout_s=busy_timeout_s)
        try:
            migrate(db, "evaluator", time.time_ns())
        except BaseException:
            db.close()
            raise
        return cls(db, fence)

    @contextmanager
    def _write(self) -> Iterator[Tx]:
        with self.db.transaction() as tx:
            if self.fence is not None:
                self.fence(tx)
            yield tx

    def _read(self) -> AbstractContextManager[Tx]:
        return self.db.transaction(write=False)

    def claim_job_run(self, job: str, slot: str, holder: str, now_ns: int) -> bool:
        """Whether this process runs ``job``'s ``slot`` (a cron time): the first to ask does.

        Scheduled jobs (the prune, reports) run on the leading evaluator; a leader
        replaced mid-slot must not have the job run again by its successor, so the
        slot is taken in the leader's own fenced transaction.
        """
        with self._write() as tx:
            taken = tx.execute("INSERT INTO job_runs VALUES (?, ?, ?, ?) "
                               "ON CONFLICT (job, slot) DO NOTHING",
                               (job, slot, holder, now_ns)).rowcount
        return bool(taken)

    def enqueue(self, notifications: Iterable[Notification], now: float | None = None) -> int:
        """Store new notifications, due at once; how many were new (known ids are ignored)."""
        return self.commit(notifications, now=now)

    def commit(self, notifications: Iterable[Notification] = (), *,
               state: Mapping[str, str | None] | None = None, points: Iterable[str] = (),
               now: float | None = None) -> int:
        """Notifications, state rows (``None`` deletes one) and points in ONE transaction.

        Either all of it is stored or none (an exception, e.g. ``sqlite3.OperationalError:
        database is locked`` or ``StateDBError``, leaves the database as it was).
        Returns how many notifications were new.
        """
        now_ns = seconds_to_ns(time.time() if now is None else now)
        rows = [(n.id, n.channel, n.group_key, n.kind,
                 json.dumps(n.to_dict(), ensure_ascii=False, separators=(",", ":")),
                 now_ns, now_ns) for n in notifications]
        added = 0
        with self._write() as tx:
            for row in rows:
                added += tx.execute(
                    "INSERT INTO outbox (id, channel, group_key, kind, notification,"
                    " created_ns, next_attempt_ns) VALUES (?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (id) DO NOTHING", row).rowcount
            for key, value in (state or {}).items():
                if value is None:
                    tx.execute("DELETE FROM state WHERE key = ?", (key,))
                else:
                    tx.execute("INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key)"
                               " DO UPDATE SET value = excluded.value", (key, value))
            lines = [(text,) for text in points if text]
            if lines:
                tx.executemany("INSERT INTO influx_points (lines) VALUES (?)", lines)
        return added

    def load_state(self) -> dict[str, str]:
        """Every state row, as committed last."""
        with self._read() as tx:
            return {str(key): str(value) for key, value in
                    tx.execute("SELECT key, value FROM state").fetchall()}

    def pending_points(self, limit: int = 100) -> list[tuple[int, str]]:
        """The oldest committed point batches not yet written to InfluxDB: (seq, lines)."""
        with self._read() as tx:
            return [(int(seq), str(lines)) for seq, lines in tx.execute(
                "SELECT seq, lines FROM influx_points ORDER BY seq LIMIT ?",
                (limit,)).fetchall()]

    def drop_points(self, through_seq: int) -> None:
        """Forget batches InfluxDB has accepted (a repeat would only overwrite the same points)."""
        with self._write() as tx:
            tx.execute("DELETE FROM influx_points WHERE seq <= ?", (through_seq,))

    def recover_leases(self) -> int:
        """Make rows leased by a dead process due again; how many. Only as the sole deliverer.

        A lease hides a row being sent from other deliverers; when the process
        holding it dies mid-send, the lease runs out (2 min) and another
        deliverer sends the row. On one machine (SQLite) a restart need not
        wait: the deliverer holds an exclusive ``flock`` on ``outbox.lock``
        for its lifetime (the kernel drops it when the process dies, even on
        SIGKILL), so whoever gets it knows no other deliverer is alive and
        every lease is stale. With PostgreSQL the same holds for a fenced outbox
        (the leader's, :mod:`monitor.store.leader`): only one leader delivers,
        and every lease it finds at its start was taken under an earlier epoch,
        by a leader that can no longer mark the row sent. Without a fence other
        deliverers may be alive: leases run out instead, and this returns 0.
        """
        if self.path is None:
            return 0 if self.fence is None else self._recover()
        if self._owner is None:
            handle = (self.path.parent / LOCK_FILENAME).open("ab")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                return 0
            self._owner = handle
        return self._recover()

    def _recover(self) -> int:
        now_ns = time.time_ns()
        with self._write() as tx:
            count = tx.execute("UPDATE outbox SET next_attempt_ns = ?, leased = 0 "
                               "WHERE status = 'pending' AND leased = 1", (now_ns,)).rowcount
        if count:
            log.warning("%d notification(s) were being sent when the last process stopped; "
                        "sending them again (same id, Idempotency-Key)", count)
        return int(count)

    # -- the life of a row, for deliverers (see monitor.notify.delivery) ----

    def pending_rows(self) -> list[tuple[int, str, int]]:
        """Every pending row as (seq, channel, next_attempt_ns), oldest first."""
        with self._read() as tx:
            return [(int(seq), str(channel), int(due)) for seq, channel, due in tx.execute(
                "SELECT seq, channel, next_attempt_ns FROM outbox WHERE status = 'pending' "
                "ORDER BY seq").fetchall()]

    def claim(self, seq: int, now_ns: int, lease_until_ns: int) -> Claim | None:
        """Lease one due row so no other deliverer sends it meanwhile; None if it is not due
        (or, with PostgreSQL, another deliverer is claiming it at this moment).

        The lease is the row's ``next_attempt_ns``: once ``lease_until_ns``
        has passed the row is due again, whoever leased it and wherever.
        """
        with self._write() as tx:
            row = tx.execute(_CLAIM[tx.dialect], (lease_until_ns, seq, now_ns)).fetchone()
        if row is None:
            return None
        return Claim(seq, _parse(str(row[0])), int(row[1]), int(row[2]))

    def mark_sent(self, seq: int, now_ns: int) -> None:
        with self._write() as tx:
            tx.execute("UPDATE outbox SET status = 'sent', attempts = attempts + 1, leased = 0, "
                       "finished_ns = ?, last_error = NULL WHERE seq = ?", (now_ns, seq))

    def mark_failed(self, seq: int, now_ns: int, error: str, *,
                    attempts: int | None = None) -> None:
        """Failed for good; ``attempts`` None keeps the count (a row never attempted)."""
        with self._write() as tx:
            if attempts is None:
                tx.execute("UPDATE outbox SET status = 'failed', finished_ns = ?, leased = 0, "
                           "last_error = ? WHERE seq = ?", (now_ns, error, seq))
            else:
                tx.execute("UPDATE outbox SET status = 'failed', attempts = ?, finished_ns = ?,"
                           " leased = 0, last_error = ? WHERE seq = ?",
                           (attempts, now_ns, error, seq))

    def schedule_retry(self, seq: int, attempts: int, retry_ns: int, error: str) -> None:
        with self._write() as tx:
            tx.execute("UPDATE outbox SET attempts = ?, next_attempt_ns = ?, leased = 0, "
                       "last_error = ? WHERE seq = ?", (attempts, retry_ns, error, seq))

    def expire(self, cutoff_ns: int, now_ns: int) -> list[str]:
        """Pending rows enqueued before ``cutoff_ns`` become failed; the channel of each."""
        with self._write() as tx:
            return [str(row[0]) for row in tx.execute(
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
        with self._read() as tx:
            row = tx.execute(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?",
                             (notification_id,)).fetchone()
        return None if row is None else _item(row)

    def _items(self, status: ItemStatus) -> list[OutboxItem]:
        with self._read() as tx:
            rows = tx.execute(f"SELECT {_COLUMNS} FROM outbox WHERE status = ? "
                              "ORDER BY seq", (status,)).fetchall()
        return [_item(row) for row in rows]

    def forget_before(self, cutoff: float) -> int:
        """Drop sent and failed rows finished before ``cutoff`` (epoch seconds).

        A forgotten id can be sent again if the same transition is enqueued
        anew, so keep rows longer than any alert stays unchanged (the worker
        uses 30 days).
        """
        with self._write() as tx:
            return tx.execute("DELETE FROM outbox WHERE status != 'pending' AND finished_ns < ?",
                              (seconds_to_ns(cutoff),)).rowcount

    def close(self) -> None:
        self.db.close()
        if self._owner is not None:
            self._owner.close()
            self._owner = None


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
