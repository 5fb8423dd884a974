"""The writer's memory: spool offsets, seen-event digests and ingest state, in the state DB.

Everything the writer learns from a batch of spool records is committed in a
single transaction *after* the batch is in InfluxDB. A crash before the
commit replays the batch from the old state, which yields the same points
(idempotent writes); a crash after it skips the batch. Either way nothing is
lost and nothing is counted twice.

With several replicas sharing PostgreSQL (:mod:`monitor.store.statedb`), a
batch holds the writers' lock from the moment it asks which events are new
until its commit: each writer maps its batch against the ingest state the
previous one committed (the version says whether to reread it), so pairing
and dedup come out as if one writer had seen every replica's events. Offsets
stay per replica (each has its own spool); digests and ingest state are shared.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from monitor.core.config import Config
from monitor.store.migrations import SQLITE_FILES, create_sqlite, migrate
from monitor.store.statedb import StateDB, Tx, is_postgres_url, open_state_db

FILENAME = SQLITE_FILES["writer"] or "writer.sqlite"
WRITERS_LOCK = "zrmon:writers"


class StateBatch:
    """One batch's transaction: what is new, what the state is, and the commit."""

    def __init__(self, tx: Tx, replica: str) -> None:
        self.tx = tx
        self.replica = replica

    def version(self, key: str) -> int:
        row = self.tx.execute("SELECT version FROM kv WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else 0

    def load(self, key: str) -> dict[str, Any]:
        row = self.tx.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return dict(json.loads(row[0])) if row else {}

    def seen(self, digests: Iterable[bytes]) -> set[bytes]:
        found: set[bytes] = set()
        pending = list(digests)
        for start in range(0, len(pending), 500):
            chunk = pending[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.tx.execute(f"SELECT digest FROM seen WHERE digest IN ({marks})", chunk)
            found.update(bytes(row[0]) for row in rows.fetchall())
        return found

    def commit(self, *, offsets: Mapping[str, int], digests: Iterable[bytes], now_ns: int,
               values: Mapping[str, Any] | None = None,
               dropped_segments: Iterable[str] = ()) -> None:
        """Record the batch; each value's version goes up by one (others reread it)."""
        self.tx.executemany(
            'INSERT INTO offsets (replica, segment, "offset") VALUES (?, ?, ?) '
            'ON CONFLICT (replica, segment) DO UPDATE SET "offset" = excluded."offset"',
            [(self.replica, segment, end) for segment, end in offsets.items()])
        self.tx.executemany("INSERT INTO seen VALUES (?, ?) ON CONFLICT (digest) DO NOTHING",
                            [(digest, now_ns) for digest in digests])
        for key, value in (values or {}).items():
            self.tx.execute(
                "INSERT INTO kv (key, value, version) VALUES (?, ?, ?) ON CONFLICT (key) "
                "DO UPDATE SET value = excluded.value, version = excluded.version",
                (key, json.dumps(value, separators=(",", ":")), self.version(key) + 1))
        self.tx.executemany("DELETE FROM offsets WHERE replica = ? AND segment = ?",
                            [(self.replica, name) for name in dropped_segments])


class WriterState:
    def __init__(self, db: StateDB, replica: str = "") -> None:
        self.db = db
        self.replica = replica

    @classmethod
    def open(cls, config: Config, now_ns: int = 0) -> WriterState:
        """The configured state DB, its schema brought up to date (every writer does it)."""
        if not is_postgres_url(config.state_url):
            create_sqlite(config.state_dir / FILENAME, "writer", now_ns)
        db = open_state_db(config.state_url, config.state_dir / FILENAME)
        try:
            migrate(db, "writer", now_ns)
        except BaseException:
            db.close()
            raise
        return cls(db, config.replica_id() if is_postgres_url(config.state_url) else "")

    @contextmanager
    def batch(self) -> Iterator[StateBatch]:
        with self.db.transaction(lock=WRITERS_LOCK) as tx:
            yield StateBatch(tx, self.replica)

    def commit(self, **record: Any) -> None:
        """A commit of its own, for what the spool reader settles outside a batch."""
        with self.batch() as batch:
            batch.commit(**record)

    def offsets(self) -> dict[str, int]:
        with self.db.transaction() as tx:
            return offsets_of(tx, self.replica)

    def forget_before(self, cutoff_ns: int) -> int:
        with self.db.transaction() as tx:
            return tx.execute("DELETE FROM seen WHERE seen_ns < ?", (cutoff_ns,)).rowcount

    def close(self) -> None:
        self.db.close()


def offsets_of(tx: Tx, replica: str) -> dict[str, int]:
    rows = tx.execute('SELECT segment, "offset" FROM offsets WHERE replica = ?', (replica,))
    return {str(segment): int(end) for segment, end in rows.fetchall()}


def read_offsets(config: Config) -> dict[str, int]:
    """For status and metrics, from any process, without taking the writers' lock."""
    if is_postgres_url(config.state_url):
        return _postgres_offsets(config.state_url, config.replica_id())
    return _sqlite_offsets(config.state_dir / FILENAME)


def _sqlite_offsets(path: Path) -> dict[str, int]:
    import sqlite3

    if not path.exists():
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT segment, offset FROM offsets").fetchall()
        return {str(segment): int(end) for segment, end in rows}
    except sqlite3.OperationalError:
        return {}
    finally:
        db.close()


def _postgres_offsets(url: str, replica: str) -> dict[str, int]:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            rows = conn.execute('SELECT segment, "offset" FROM offsets WHERE replica = %s',
                                (replica,)).fetchall()
    except psycopg.Error:
        return {}
    return {str(segment): int(end) for segment, end in rows}
