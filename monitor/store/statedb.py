"""Where shared state lives: a SQLite file beside the spool, or PostgreSQL for several hosts.

One machine needs nothing: the state is ``writer.sqlite`` in the state
directory, as it always was. With ``ZRMON_STATE_URL=postgresql://…`` every
replica's writer keeps the same tables in one PostgreSQL database instead, so
a trigger that reached one replica and its clear that reached another pair up,
and a delivery posted to two replicas counts once.

Both backends speak the same SQL (``?`` placeholders, ``ON CONFLICT``), and a
batch runs in one :meth:`StateDB.transaction`. Given a ``lock`` name the
transaction also serialises with every other process holding that name: SQLite
does that for the whole file already (``BEGIN IMMEDIATE``); PostgreSQL takes a
transaction-scoped advisory lock, so writers on different hosts apply their
batches one after another and each sees the state the last one committed.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol

from monitor.core.errors import ServiceError

Dialect = Literal["sqlite", "postgresql"]
Params = Sequence[Any]
BUSY_TIMEOUT_S = 5.0    # SQLite: how long a transaction waits for another's write lock


class StateDBError(ServiceError):
    """The shared state database cannot be reached or refused a statement; retry later."""


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Tx(Protocol):
    """One open transaction: SQL with ``?`` placeholders, whichever backend runs it."""

    dialect: Dialect

    def execute(self, sql: str, params: Params = ()) -> Cursor: ...

    def executemany(self, sql: str, rows: Iterable[Params]) -> None: ...


class StateDB(Protocol):
    dialect: Dialect

    def transaction(self, *, lock: str | None = None,
                    write: bool = True) -> AbstractContextManager[Tx]: ...

    def close(self) -> None: ...


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def open_state_db(url: str, sqlite_path: Path, *, timeout_s: float = 10.0,
                  busy_timeout_s: float = BUSY_TIMEOUT_S) -> StateDB:
    """PostgreSQL at ``url`` when it names one; otherwise the SQLite file ``sqlite_path``.

    ``timeout_s``: how long a transaction may wait for a PostgreSQL connection;
    ``busy_timeout_s``: for SQLite's write lock.
    """
    if is_postgres_url(url):
        return PostgresDB(url, timeout_s=timeout_s)
    return SQLiteDB(sqlite_path, busy_timeout_s=busy_timeout_s)


class _SQLiteTx:
    dialect: Dialect = "sqlite"

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        return self.db.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        self.db.executemany(sql, rows)


class SQLiteDB:
    """The one-machine default: a WAL-mode file, each transaction ``BEGIN IMMEDIATE``.

    ``write=False`` begins a deferred transaction instead: a reader of a WAL
    file never waits for a writer. One connection serves every thread of the
    process, one transaction at a time.
    """

    dialect: Dialect = "sqlite"

    def __init__(self, path: Path, *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                  timeout=busy_timeout_s)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")

    @contextmanager
    def transaction(self, *, lock: str | None = None, write: bool = True) -> Iterator[Tx]:
        del lock    # the file's write lock already serialises every writer
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield _SQLiteTx(self.db)
                self.db.execute("COMMIT")
            except BaseException:
                if self.db.in_transaction:  # SQLite rolls back by itself on some errors
                    self.db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            self.db.close()


def _pg_sql(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (the SQL here never holds a literal ``?``)."""
    return sql.replace("%", "%%").replace("?", "%s")


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name``."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big",
                          signed=True)


class _PostgresTx:
    dialect: Dialect = "postgresql"

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        cursor: Cursor = self.conn.execute(_pg_sql(sql), params)
        return cursor

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        with self.conn.cursor() as cursor:
            cursor.executemany(_pg_sql(sql), list(rows))


class PostgresDB:
    """Shared state in PostgreSQL through a small psycopg pool (one connection per use)."""

    dialect: Dialect = "postgresql"

    def __init__(self, url: str, *, max_size: int = 4, timeout_s: float = 10.0) -> None:
        from psycopg_pool import ConnectionPool

        self.url = url
        self.pool = ConnectionPool(url, min_size=0, max_size=max_size, timeout=timeout_s,
                                   kwargs={"connect_timeout": max(1, int(timeout_s))},
                                   open=True)

    @contextmanager
    def transaction(self, *, lock: str | None = None, write: bool = True) -> Iterator[Tx]:
        import psycopg

        del write   # MVCC: readers never wait for writers anyway

        try:
            with self.pool.connection() as conn, conn.transaction():
                if lock is not None:
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(lock),))
                yield _PostgresTx(conn)
        except psycopg.Error as exc:     # down, restarting, or the pool timed out
            raise StateDBError(f"PostgreSQL: {exc}") from exc

    def close(self) -> None:
        self.pool.close()
