"""The writer's memory: spool offsets, seen-event digests and ingest state, in one SQLite file.

Everything the writer learns from a batch of spool records is committed in a
single transaction *after* the batch is in InfluxDB. A crash before the
commit replays the batch from the old state, which yields the same points
(idempotent writes); a crash after it skips the batch. Either way nothing is
lost and nothing is counted twice.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

FILENAME = "writer.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS offsets (segment TEXT PRIMARY KEY, offset INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS seen (digest BLOB PRIMARY KEY, seen_ns INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS seen_by_time ON seen (seen_ns);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class WriterState:
    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(state_dir / FILENAME, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)

    def offsets(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT segment, offset FROM offsets").fetchall())

    def load(self, key: str) -> dict[str, Any]:
        row = self.db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return dict(json.loads(row[0])) if row else {}

    def seen(self, digests: Iterable[bytes]) -> set[bytes]:
        found: set[bytes] = set()
        pending = list(digests)
        for start in range(0, len(pending), 500):
            chunk = pending[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(f"SELECT digest FROM seen WHERE digest IN ({marks})", chunk)
            found.update(bytes(row[0]) for row in rows)
        return found

    def commit(self, *, offsets: Mapping[str, int], digests: Iterable[bytes], now_ns: int,
               values: Mapping[str, Any] | None = None,
               dropped_segments: Iterable[str] = ()) -> None:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany("INSERT OR REPLACE INTO offsets VALUES (?, ?)", offsets.items())
            self.db.executemany("INSERT OR IGNORE INTO seen VALUES (?, ?)",
                                ((digest, now_ns) for digest in digests))
            for key, value in (values or {}).items():
                self.db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)",
                                (key, json.dumps(value, separators=(",", ":"))))
            self.db.executemany("DELETE FROM offsets WHERE segment = ?",
                                ((name,) for name in dropped_segments))

    def forget_before(self, cutoff_ns: int) -> int:
        with self.db:
            return self.db.execute("DELETE FROM seen WHERE seen_ns < ?", (cutoff_ns,)).rowcount

    def close(self) -> None:
        self.db.close()


def read_offsets(state_dir: Path) -> dict[str, int]:
    """For status and metrics, from any process, without taking the writer's locks."""
    path = state_dir / FILENAME
    if not path.exists():
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return dict(db.execute("SELECT segment, offset FROM offsets").fetchall())
    except sqlite3.OperationalError:
        return {}
    finally:
        db.close()
