"""One leader per role across hosts: a PostgreSQL advisory lock on a dedicated session,
and an epoch that fences every commit of the leader's.

Why both. The session lock gives fast, safe hand-over when a leader dies: its
connection closes, PostgreSQL drops the lock, a standby polling
``pg_try_advisory_lock`` holds it within one poll. A leader that is only frozen
(SIGSTOP, a stalled VM) keeps its connection; ``idle_session_timeout`` on the
dedicated session makes PostgreSQL end it once the leader stops sending its
heartbeat, and the lock goes with it. A leader can still wake up believing it
leads, so the lock alone is not enough: every acquisition raises the role's
``epoch`` in ``leaders``, and each transaction the leader writes in first
checks (``FOR SHARE``, so a takeover waits for it) that the epoch is still its
own. A woken old leader's commits and claims fail with :class:`NotLeaderError`
instead of overwriting what the new leader did.

One machine (SQLite) needs none of this: :class:`monitor.store.lock.RoleLock`
already keeps one evaluator per data directory.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from monitor.core.errors import StateError
from monitor.store.migrations import migrate
from monitor.store.statedb import PostgresDB, Tx, lock_key

log = logging.getLogger(__name__)

POLL_S = 2.0              # how often a standby tries for the lock
HEARTBEAT_S = 5.0         # how often the leader shows its session is alive
IDLE_TIMEOUT_S = 20       # PostgreSQL ends a leader session silent this long


class NotLeaderError(StateError):
    """This process no longer leads its role: another one took over, or the session ended."""


class Leadership:
    """This process's claim on ``role`` (e.g. ``evaluator``) in the database at ``url``."""

    def __init__(self, url: str, role: str, holder: str, *,
                 idle_timeout_s: int = IDLE_TIMEOUT_S) -> None:
        self.url = url
        self.role = role
        self.holder = holder
        self.idle_timeout_s = idle_timeout_s
        self.epoch: int | None = None
        self._conn: Any = None
        self._lock = threading.Lock()      # the dedicated session is used by one thread at once

    def prepare(self) -> Leadership:
        """Make sure the ``leaders`` table exists (the schema lock keeps this safe to race)."""
        db = PostgresDB(self.url, timeout_s=5.0)
        try:
            migrate(db, "leader", time.time_ns())
        finally:
            db.close()
        return self

    @property
    def leading(self) -> bool:
        return self.epoch is not None

    def try_acquire(self) -> bool:
        """Become the leader if nobody is; True when this process leads now."""
        import psycopg

        with self._lock:
            if self.epoch is not None:
                return True
            try:
                if self._conn is None:
                    self._conn = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
                    self._conn.execute(f"SET idle_session_timeout = '{int(self.idle_timeout_s)}s'")
                got = self._conn.execute("SELECT pg_try_advisory_lock(%s)",
                                         (lock_key(f"zrmon:leader:{self.role}"),)).fetchone()[0]
                if not got:
                    return False
                with self._conn.transaction():
                    row = self._conn.execute(
                        "INSERT INTO leaders (role, epoch, holder, since_ns) VALUES (%s, 1, %s, %s)"
                        " ON CONFLICT (role) DO UPDATE SET epoch = leaders.epoch + 1,"
                        " holder = excluded.holder, since_ns = excluded.since_ns RETURNING epoch",
                        (self.role, self.holder, time.time_ns())).fetchone()
            except psycopg.Error as exc:
                self._drop(f"cannot take the {self.role} lead: {exc}")
                return False
            self.epoch = int(row[0])
        log.info("leading %s as %s (epoch %d)", self.role, self.holder, self.epoch)
        return True

    def heartbeat(self) -> bool:
        """Keep the session (and so the lock) alive; False once leadership is lost."""
        import psycopg

        with self._lock:
            if self._conn is None or self.epoch is None:
                return False
            try:
                self._conn.execute("SELECT 1")
            except psycopg.Error as exc:
                self._drop(f"lost the {self.role} lead: {exc}")
                return False
        return True

    def fence(self, tx: Tx) -> None:
        """Inside a writing transaction: raise :class:`NotLeaderError` unless we still lead."""
        epoch = self.epoch
        row = tx.execute("SELECT epoch FROM leaders WHERE role = ? FOR SHARE",
                         (self.role,)).fetchone()
        if epoch is None or row is None or int(row[0]) != epoch:
            raise NotLeaderError(f"{self.holder} no longer leads {self.role} "
                                 f"(epoch {epoch}, now {None if row is None else row[0]})")

    def release(self) -> None:
        """Let go now: unlock explicitly, so a standby need not wait for the session to end."""
        with self._lock:
            if self._conn is not None and self.epoch is not None:
                try:
                    self._conn.execute("SELECT pg_advisory_unlock(%s)",
                                       (lock_key(f"zrmon:leader:{self.role}"),))
                except Exception:   # a dead session released it already
                    log.debug("leader lock already gone", exc_info=True)
            self._drop(None)

    def _drop(self, why: str | None) -> None:
        if why is not None:
            log.warning("%s", why)
        self.epoch = None
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:   # closing a dead session: nothing left to release
                log.debug("leader session already closed", exc_info=True)
            self._conn = None


def leading_epoch(tx: Tx, role: str) -> int | None:
    """The role's current epoch (who leads is in ``holder``), for status and tests."""
    row = tx.execute("SELECT epoch FROM leaders WHERE role = ?", (role,)).fetchone()
    return None if row is None else int(row[0])

