"""Operator silences: "I know, stop telling me" for a while, by label matchers.

A silence mutes every alert its matchers match (see :mod:`monitor.notify.matchers`
for the matcher language: exact values, ``~regex``; labels include ``rule``,
``room_id``, ``level`` and ``status``) from ``starts_ns`` until ``ends_ns``.
Expiring one ends it now but keeps it listed for a week, so "who silenced
that, and why?" still has an answer.

The store is the ``silences`` table of the state database
(:mod:`monitor.store.statedb`): on one machine the SQLite file
``<data_dir>/state/silences.sqlite``, with ``ZRMON_STATE_URL`` the PostgreSQL
database every host shares, so ``zrmon silence add`` on any host mutes the
alert on whichever host evaluates, from its next cycle, and after a failover.
Every call reads the table afresh (the evaluator's is one SELECT of the silences
in force); every change runs in one transaction under the silences' lock, so
two concurrent ``add``\\ s do not lose one. The SQLite file is opened for each
call and, after each change, copied as its last good copy: a restored or
replaced file is what the next call reads. A ``silences.json`` left by an
older version is imported at the first use, then renamed ``.migrated``.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import logging
import os
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from monitor.core.atomicfile import StateFileError, backup_sqlite, check_sqlite, read_state
from monitor.core.errors import UsageError
from monitor.notify.matchers import alert_labels, labels_match, matcher_errors
from monitor.rules.model import Alert
from monitor.store.migrations import migrate
from monitor.store.statedb import PostgresDB, SQLiteDB, StateDB, Tx, is_postgres_url

FILENAME = "silences.sqlite"
LEGACY_FILENAME = "silences.json"      # before the state database; imported once
MIGRATED_SUFFIX = ".migrated"
SILENCES_LOCK = "zrmon:silences"
COLUMNS = "id, matchers, starts_ns, ends_ns, created_by, comment"
# Expired silences stay listed this long (for the record), then are dropped.
KEEP_EXPIRED_NS = 7 * 86400 * 1_000_000_000

log = logging.getLogger(__name__)


class SilenceError(UsageError):
    """A silence that cannot be created or found, or an unreadable store."""


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: dict[str, str]
    starts_ns: int
    ends_ns: int
    created_by: str = ""
    comment: str = ""

    def active(self, now_ns: int) -> bool:
        return self.starts_ns <= now_ns < self.ends_ns

    def expired(self, now_ns: int) -> bool:
        return now_ns >= self.ends_ns

    def matches(self, alert: Alert) -> bool:
        """Whether the matchers hold for the alert (whatever the time: see :meth:`silences`)."""
        return labels_match(self.matchers, alert_labels(alert))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Silence:
        return cls(id=str(data["id"]), matchers={str(k): str(v) for k, v in
                                                 data["matchers"].items()},
                   starts_ns=int(data["starts_ns"]), ends_ns=int(data["ends_ns"]),
                   created_by=str(data.get("created_by", "")),
                   comment=str(data.get("comment", "")))

    def to_row(self) -> tuple[str, str, int, int, str, str]:
        return (self.id, json.dumps(self.matchers, sort_keys=True), self.starts_ns,
                self.ends_ns, self.created_by, self.comment)

    @classmethod
    def from_row(cls, row: Iterable[Any]) -> Silence:
        silence_id, matchers, starts_ns, ends_ns, created_by, comment = row
        return cls(str(silence_id), {str(k): str(v) for k, v in json.loads(matchers).items()},
                   int(starts_ns), int(ends_ns), str(created_by), str(comment))


def silences(alert: Alert, candidates: Iterable[Silence],
             now_ns: int) -> bool:
    """True if any silence active at ``now_ns`` matches the alert."""
    return any(silence.active(now_ns) and silence.matches(alert) for silence in candidates)


def parse_matchers(items: builtins.list[str]) -> dict[str, str]:
    """``["rule=air/co2", "building=~HQ.*"]`` → matchers; for ``--match k=v`` options.

    Refuses what would surprise at 3 a.m.: no ``=``, an empty name, a label
    given twice, a regex that does not compile, and no matchers at all (a
    silence of *everything* must not be one typo away).
    """
    matchers: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise SilenceError(f"not a matcher: {item!r} (use label=value or label=~regex)")
        if name in matchers:
            raise SilenceError(f"label {name!r} given twice")
        matchers[name] = value
    _check(matchers)
    return matchers


def _check(matchers: Mapping[str, str]) -> None:
    if not matchers:
        raise SilenceError("a silence needs at least one matcher")
    errors = matcher_errors(matchers)
    if errors:
        raise SilenceError("; ".join(errors))


class SilenceStore:
    """Silences in the state database: ``<data_dir>/state/silences.sqlite``, or PostgreSQL
    at ``state_url``. ``clock`` gives now in ns. Nothing is opened before the first call."""

    def __init__(self, data_dir: Path, clock: Callable[[], int] = time.time_ns, *,
                 state_url: str = "") -> None:
        self.path = data_dir / "state" / FILENAME
        self.legacy_path = data_dir / "state" / LEGACY_FILENAME
        self.clock = clock
        self.state_url = state_url
        self._postgres: PostgresDB | None = None
        self._ready = False          # schema migrated and silences.json imported

    def add(self, matchers: Mapping[str, str], *, ends_ns: int, starts_ns: int | None = None,
            created_by: str = "", comment: str = "") -> Silence:
        """A new silence from ``starts_ns`` (default now) until ``ends_ns``."""
        _check(matchers)
        starts = self.clock() if starts_ns is None else starts_ns
        if ends_ns <= starts:
            raise SilenceError("a silence must end after it starts")
        with self._change() as tx:
            taken = {str(row[0]) for row in tx.execute("SELECT id FROM silences").fetchall()}
            silence = Silence(_new_id(taken), dict(matchers), starts, ends_ns, created_by,
                              comment)
            tx.execute(f"INSERT INTO silences ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                       silence.to_row())
        return silence

    def list(self, include_expired: bool = False) -> builtins.list[Silence]:
        """Current and future silences (and, if asked, the recently expired), by start."""
        now = self.clock()
        found = [s for s in self._read() if include_expired or not s.expired(now)]
        return sorted(found, key=lambda s: (s.starts_ns, s.id))

    def active(self, now_ns: int | None = None) -> builtins.list[Silence]:
        """The silences in force now: what the dispatcher needs each cycle (one SELECT)."""
        now = self.clock() if now_ns is None else now_ns
        return self._read("WHERE starts_ns <= ? AND ends_ns > ?", (now, now))

    def expire(self, silence_id: str, now_ns: int | None = None) -> Silence:
        """End a silence now; ``silence_id`` may be a unique prefix, as with git."""
        now = self.clock() if now_ns is None else now_ns
        with self._change() as tx:
            current = _select(tx)
            ended = current[_find(current, silence_id)]
            if not ended.expired(now):
                ended = replace(ended, ends_ns=max(now, ended.starts_ns))
                tx.execute("UPDATE silences SET ends_ns = ? WHERE id = ?",
                           (ended.ends_ns, ended.id))
        return ended

    def get(self, silence_id: str) -> Silence:
        current = self._read()
        return current[_find(current, silence_id)]

    def close(self) -> None:
        if self._postgres is not None:
            self._postgres.close()
            self._postgres = None

    def _read(self, where: str = "", params: tuple[int, ...] = ()) -> builtins.list[Silence]:
        with self._transaction() as tx:
            return _select(tx, where, params)

    @contextmanager
    def _change(self) -> Iterator[Tx]:
        """One write, under the silences' lock; long-expired silences go with it."""
        with self._transaction(lock=SILENCES_LOCK) as tx:
            yield tx
            tx.execute("DELETE FROM silences WHERE ends_ns <= ?",
                       (self.clock() - KEEP_EXPIRED_NS,))
        self._keep_last_good()

    @contextmanager
    def _transaction(self, lock: str | None = None) -> Iterator[Tx]:
        if is_postgres_url(self.state_url):
            if self._postgres is None:
                self._postgres = PostgresDB(self.state_url)
            self._prepare(self._postgres)
            with self._postgres.transaction(lock=lock) as tx:
                yield tx
            return
        # Refuse (StateFileError) rather than start afresh: that would un-silence everything.
        check_sqlite(self.path)
        if not self.path.exists():
            self._create_sqlite()
        db = SQLiteDB(self.path)
        try:
            self._prepare(db)
            with db.transaction(lock=lock) as tx:
                yield tx
        except sqlite3.OperationalError:
            raise
        except sqlite3.DatabaseError as exc:
            raise StateFileError(self.path, f"is not a usable SQLite database ({exc})") from exc
        finally:
            db.close()

    def _create_sqlite(self) -> None:
        """The file with its schema, linked into place whole: a process starting at the
        same moment must never see it empty (which reads as a lost file)."""
        temp = self.path.with_name(f".{FILENAME}.{secrets.token_hex(4)}.tmp")
        try:
            db = SQLiteDB(temp)
            try:
                migrate(db, "silences", self.clock())
            finally:
                db.close()
            with contextlib.suppress(FileExistsError):      # another process was first
                os.link(temp, self.path)
        finally:
            for leftover in (temp, temp.with_name(temp.name + "-wal"),
                             temp.with_name(temp.name + "-shm")):
                leftover.unlink(missing_ok=True)

    def _prepare(self, db: StateDB) -> None:
        """The schema, then the silences of a ``silences.json`` if one is left (once)."""
        if self._ready:
            return
        migrate(db, "silences", self.clock())
        if self.legacy_path.exists():
            # Refuse (StateFileError) rather than skip: that would un-silence everything.
            legacy = read_state(self.legacy_path, _parse_silences, _no_silences)
            cutoff = self.clock() - KEEP_EXPIRED_NS
            with db.transaction(lock=SILENCES_LOCK) as tx:
                tx.executemany(f"INSERT INTO silences ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) "
                               "ON CONFLICT (id) DO NOTHING",
                               [s.to_row() for s in legacy if s.ends_ns > cutoff])
            with contextlib.suppress(FileNotFoundError):   # another process was first
                self.legacy_path.rename(self.legacy_path.with_name(
                    LEGACY_FILENAME + MIGRATED_SUFFIX))
            log.info("%d silences imported from %s", len(legacy), self.legacy_path)
        self._ready = True

    def _keep_last_good(self) -> None:
        """On SQLite, the file as just changed becomes its last good copy (if the disk lets)."""
        if is_postgres_url(self.state_url):
            return        # PostgreSQL keeps its own copies (WAL, replicas, backups)
        try:
            backup_sqlite(self.path)
        except (OSError, sqlite3.Error, StateFileError) as exc:
            log.warning("no last good copy of %s this time: %s", self.path, exc)


def _select(tx: Tx, where: str = "", params: tuple[int, ...] = ()) -> builtins.list[Silence]:
    rows = tx.execute(f"SELECT {COLUMNS} FROM silences {where}", params).fetchall()
    return [Silence.from_row(row) for row in rows]


def _parse_silences(data: bytes) -> builtins.list[Silence]:
    return [Silence.from_json(item) for item in json.loads(data)["silences"]]


def _no_silences() -> builtins.list[Silence]:
    return []


def _new_id(taken: set[str]) -> str:
    """Short enough to type in ``zrmon silence expire``; unique in the store."""
    while True:
        candidate = secrets.token_hex(4)
        if candidate not in taken:
            return candidate


def _find(current: builtins.list[Silence], silence_id: str) -> int:
    exact = [i for i, s in enumerate(current) if s.id == silence_id]
    found = exact or [i for i, s in enumerate(current) if s.id.startswith(silence_id)]
    if not silence_id or not found:
        raise SilenceError(f"no silence {silence_id!r}")
    if len(found) > 1:
        raise SilenceError(f"silence id {silence_id!r} is ambiguous")
    return found[0]
