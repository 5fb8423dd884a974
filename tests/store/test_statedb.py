"""The state database on both backends: the same SQL, transactions, the writers' lock, the
schema's migrations — against a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.store.migrations import SchemaTooNewError, latest, migrate, of, pending
from monitor.store.statedb import PostgresDB, StateDB, StateDBError, open_state_db


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateDB]:
    url = "" if request.param == "sqlite" else request.getfixturevalue("state_url")
    opened = open_state_db(url, tmp_path / "state.sqlite")
    migrate(opened, "writer", 1)
    yield opened
    opened.close()


def test_a_transaction_commits_or_leaves_nothing(db: StateDB) -> None:
    with db.transaction() as tx:
        tx.execute("INSERT INTO kv (key, value) VALUES (?, ?)", ("a", "1"))
    with pytest.raises(RuntimeError), db.transaction() as tx:
        tx.execute("INSERT INTO kv (key, value) VALUES (?, ?)", ("b", "2"))
        raise RuntimeError("crash before the commit")
    with db.transaction() as tx:
        assert tx.execute("SELECT key, value FROM kv").fetchall() == [("a", "1")]


def test_the_same_upserts_and_blobs_on_both_backends(db: StateDB) -> None:
    with db.transaction() as tx:
        tx.executemany("INSERT INTO seen VALUES (?, ?) ON CONFLICT (digest) DO NOTHING",
                       [(b"\x00\xff", 1), (b"\x00\xff", 2), (b"\x01", 3)])
        rows = tx.execute("SELECT digest, seen_ns FROM seen ORDER BY seen_ns").fetchall()
    assert [(bytes(digest), at) for digest, at in rows] == [(b"\x00\xff", 1), (b"\x01", 3)]


def test_migrations_apply_once_and_record_their_versions(db: StateDB) -> None:
    assert pending(db, "writer") == []
    assert migrate(db, "writer", 2) == []
    with db.transaction() as tx:
        versions = [row[0] for row in tx.execute(
            "SELECT version FROM schema_migrations WHERE component = 'writer' "
            "ORDER BY version").fetchall()]
    assert versions == [m.version for m in of("writer")] and versions[-1] == latest("writer")


def test_a_schema_newer_than_the_code_is_refused(db: StateDB) -> None:
    with db.transaction() as tx:
        tx.execute("INSERT INTO schema_migrations VALUES (?, ?, ?, ?)",
                   ("writer", latest("writer") + 1, "from the future", 3))
    with pytest.raises(SchemaTooNewError, match="upgrade"):
        migrate(db, "writer", 4)


def test_an_existing_one_machine_file_is_taken_up_as_it_is(tmp_path: Path) -> None:
    """A writer.sqlite made before versions existed: its rows survive, now at the latest."""
    path = tmp_path / "writer.sqlite"
    old = sqlite3.connect(path)
    old.executescript("CREATE TABLE offsets (segment TEXT PRIMARY KEY, offset INTEGER NOT NULL);"
                      "CREATE TABLE seen (digest BLOB PRIMARY KEY, seen_ns INTEGER NOT NULL);"
                      "CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                      "INSERT INTO offsets VALUES ('seg-1', 42);"
                      "INSERT INTO kv VALUES ('k', '{}');")
    old.commit()
    old.close()
    db = open_state_db("", path)
    assert [m.version for m in migrate(db, "writer", 1)] == [m.version for m in of("writer")]
    with db.transaction() as tx:
        assert tx.execute('SELECT replica, segment, "offset" FROM offsets').fetchall() == [
            ("", "seg-1", 42)]
        assert tx.execute("SELECT key, version FROM kv").fetchall() == [("k", 0)]
    db.close()


def test_the_writers_lock_serialises_transactions(db: StateDB) -> None:
    """Two holders of the same lock never overlap (PostgreSQL: an advisory lock)."""
    inside: list[str] = []
    overlaps: list[bool] = []

    def hold(name: str) -> None:
        with db.transaction(lock="zrmon:test") as tx:
            overlaps.append(bool(inside))
            inside.append(name)
            tx.execute("INSERT INTO kv (key, value) VALUES (?, ?)", (name, "x"))
            time.sleep(0.2)
            inside.remove(name)

    if db.dialect == "sqlite":     # one connection: SQLite serialises the file itself
        hold("a")
        hold("b")
    else:
        threads = [threading.Thread(target=hold, args=(name,)) for name in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert overlaps == [False, False]


def test_an_unreachable_postgresql_is_a_service_error() -> None:
    db = PostgresDB("postgresql://postgres@127.0.0.1:1/none", timeout_s=1.0)
    try:
        with pytest.raises(StateDBError, match="PostgreSQL"), db.transaction() as tx:
            tx.execute("SELECT 1")
    finally:
        db.close()
