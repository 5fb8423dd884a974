"""The shared state's schema, as numbered migrations per component, applied in order, once.

A component is what one role stores: ``writer`` (spool offsets, digests,
ingest state), ``evaluator`` (rule and dispatcher state, the outbox) and
``silences`` (the operators' silences, written by the CLI on any host). On
one machine each has its own SQLite file in the state directory; with
PostgreSQL they share one database. ``schema_migrations`` records each
(component, version) applied. Version 1 of a component is the schema every
one-machine install already has (its statements are idempotent, so an
existing file simply gets recorded at 1); later versions only add.
``zrmon state migrate`` applies what is missing, and each role does the same
at start, under the schema's own lock, so two replicas starting together
apply each migration once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from monitor.core.config import Config
from monitor.core.errors import StateError
from monitor.store.statedb import (
    Dialect,
    SQLiteDB,
    StateDB,
    Tx,
    is_postgres_url,
    open_state_db,
)

SCHEMA_LOCK = "zrmon:schema"


class SchemaTooNewError(StateError):
    """The database was migrated by a newer zrmon than this one."""


Component = Literal["writer", "evaluator", "leader", "silences"]


@dataclass(frozen=True)
class Migration:
    component: Component
    version: int
    title: str
    sqlite: tuple[str, ...]
    postgresql: tuple[str, ...]

    def statements(self, dialect: Dialect) -> tuple[str, ...]:
        return self.sqlite if dialect == "sqlite" else self.postgresql


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "writer", 1, "spool offsets, seen-event digests, ingest state",
        sqlite=(
            "CREATE TABLE IF NOT EXISTS offsets (segment TEXT PRIMARY KEY, "
            "offset INTEGER NOT NULL)",
            "CREATE TABLE IF NOT EXISTS seen (digest BLOB PRIMARY KEY, seen_ns INTEGER NOT NULL)",
            "CREATE INDEX IF NOT EXISTS seen_by_time ON seen (seen_ns)",
            "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        ),
        postgresql=(
            "CREATE TABLE IF NOT EXISTS offsets (replica TEXT NOT NULL, segment TEXT NOT NULL, "
            '"offset" BIGINT NOT NULL, PRIMARY KEY (replica, segment))',
            "CREATE TABLE IF NOT EXISTS seen (digest BYTEA PRIMARY KEY, seen_ns BIGINT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS seen_by_time ON seen (seen_ns)",
            "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        ),
    ),
    Migration(
        "writer", 2, "offsets per replica; ingest state versions, so a writer rereads the "
                     "state only after another one changed it",
        sqlite=(
            "ALTER TABLE offsets ADD COLUMN replica TEXT NOT NULL DEFAULT ''",
            "CREATE UNIQUE INDEX IF NOT EXISTS offsets_by_replica ON offsets (replica, segment)",
            "ALTER TABLE kv ADD COLUMN version INTEGER NOT NULL DEFAULT 0",
        ),
        postgresql=("ALTER TABLE kv ADD COLUMN IF NOT EXISTS version BIGINT NOT NULL DEFAULT 0",),
    ),
    Migration(
        "leader", 1, "who leads each role, and the epoch that fences its commits",
        sqlite=("CREATE TABLE IF NOT EXISTS leaders (role TEXT PRIMARY KEY, epoch INTEGER NOT "
                "NULL, holder TEXT NOT NULL, since_ns INTEGER NOT NULL)",),
        postgresql=("CREATE TABLE IF NOT EXISTS leaders (role TEXT PRIMARY KEY, epoch BIGINT NOT "
                    "NULL, holder TEXT NOT NULL, since_ns BIGINT NOT NULL)",),
    ),
    Migration(
        "silences", 1, "operator silences (until then silences.json, imported at first open)",
        sqlite=(
            "CREATE TABLE IF NOT EXISTS silences (id TEXT PRIMARY KEY, matchers TEXT NOT NULL, "
            "starts_ns BIGINT NOT NULL, ends_ns BIGINT NOT NULL, created_by TEXT NOT NULL, "
            "comment TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS silences_by_end ON silences (ends_ns)",
        ),
        postgresql=(
            "CREATE TABLE IF NOT EXISTS silences (id TEXT PRIMARY KEY, matchers TEXT NOT NULL, "
            "starts_ns BIGINT NOT NULL, ends_ns BIGINT NOT NULL, created_by TEXT NOT NULL, "
            "comment TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS silences_by_end ON silences (ends_ns)",
        ),
    ),
    Migration(
        "evaluator", 1, "outbox of notifications with leases, rule and dispatcher state, "
                        "rule_state points not yet in InfluxDB",
        sqlite=(
            "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
            "id TEXT NOT NULL UNIQUE, channel TEXT NOT NULL, group_key TEXT NOT NULL, "
            "kind TEXT NOT NULL, notification TEXT NOT NULL, "
            "status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, "
            "created_ns INTEGER NOT NULL, next_attempt_ns INTEGER NOT NULL, "
            "finished_ns INTEGER, last_error TEXT, leased INTEGER NOT NULL DEFAULT 0)",
            "CREATE INDEX IF NOT EXISTS outbox_status ON outbox (status, seq)",
            "CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS influx_points (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
            "lines TEXT NOT NULL)",
        ),
        postgresql=(
            "CREATE TABLE IF NOT EXISTS outbox (seq BIGINT GENERATED BY DEFAULT AS IDENTITY "
            "PRIMARY KEY, id TEXT NOT NULL UNIQUE, channel TEXT NOT NULL, "
            "group_key TEXT NOT NULL, kind TEXT NOT NULL, notification TEXT NOT NULL, "
            "status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, "
            "created_ns BIGINT NOT NULL, next_attempt_ns BIGINT NOT NULL, "
            "finished_ns BIGINT, last_error TEXT, leased INTEGER NOT NULL DEFAULT 0)",
            "CREATE INDEX IF NOT EXISTS outbox_status ON outbox (status, seq)",
            "CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS influx_points (seq BIGINT GENERATED BY DEFAULT AS "
            "IDENTITY PRIMARY KEY, lines TEXT NOT NULL)",
        ),
    ),
    Migration(
        "evaluator", 2, "scheduled jobs' runs, so a failover never runs one slot twice",
        sqlite=("CREATE TABLE IF NOT EXISTS job_runs (job TEXT NOT NULL, slot TEXT NOT NULL, "
                "holder TEXT NOT NULL, ran_ns INTEGER NOT NULL, PRIMARY KEY (job, slot))",),
        postgresql=("CREATE TABLE IF NOT EXISTS job_runs (job TEXT NOT NULL, slot TEXT NOT NULL, "
                    "holder TEXT NOT NULL, ran_ns BIGINT NOT NULL, PRIMARY KEY (job, slot))",),
    ),
    Migration(
        "writer", 3, "an index of every replica's quarantined events",
        sqlite=("CREATE TABLE IF NOT EXISTS quarantine_index (replica TEXT NOT NULL, "
                "id TEXT NOT NULL, received_ns INTEGER NOT NULL, event TEXT NOT NULL, "
                "reason TEXT NOT NULL, fields TEXT NOT NULL, PRIMARY KEY (replica, id))",),
        postgresql=("CREATE TABLE IF NOT EXISTS quarantine_index (replica TEXT NOT NULL, "
                    "id TEXT NOT NULL, received_ns BIGINT NOT NULL, event TEXT NOT NULL, "
                    "reason TEXT NOT NULL, fields TEXT NOT NULL, PRIMARY KEY (replica, id))",),
    ),
)


def of(component: Component) -> tuple[Migration, ...]:
    return tuple(m for m in MIGRATIONS if m.component == component)


def latest(component: Component) -> int:
    return max((m.version for m in of(component)), default=0)


def _ensure_table(tx: Tx) -> None:
    tx.execute("CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT NOT NULL, "
               "version INTEGER NOT NULL, title TEXT NOT NULL, applied_ns BIGINT NOT NULL, "
               "PRIMARY KEY (component, version))")


def applied_versions(tx: Tx, component: Component) -> set[int]:
    _ensure_table(tx)
    rows = tx.execute("SELECT version FROM schema_migrations WHERE component = ?", (component,))
    return {int(row[0]) for row in rows.fetchall()}


def pending(db: StateDB, component: Component) -> list[Migration]:
    with db.transaction(lock=SCHEMA_LOCK) as tx:
        done = applied_versions(tx, component)
    return [m for m in of(component) if m.version not in done]


def migrate(db: StateDB, component: Component, now_ns: int) -> list[Migration]:
    """Apply the component's missing migrations, each in its own transaction; those applied.

    A database already past what this code knows is refused: an older replica
    must not write into a schema it does not understand.
    """
    applied: list[Migration] = []
    for migration in of(component):
        with db.transaction(lock=SCHEMA_LOCK) as tx:
            done = applied_versions(tx, component)
            if max(done, default=0) > latest(component):
                raise SchemaTooNewError(
                    f"the {component} state is at schema version {max(done)}, this zrmon "
                    f"knows up to {latest(component)}: upgrade it")
            if migration.version in done:
                continue
            for statement in migration.statements(db.dialect):
                tx.execute(statement)
            tx.execute("INSERT INTO schema_migrations VALUES (?, ?, ?, ?)",
                       (component, migration.version, migration.title, now_ns))
        applied.append(migration)
    return applied


# Where each component lives on one machine (None: nothing to keep without PostgreSQL).
SQLITE_FILES: dict[Component, str | None] = {
    "writer": "writer.sqlite", "evaluator": "outbox.sqlite", "leader": None,
    "silences": "silences.sqlite"}


def open_component(config: Config, component: Component) -> StateDB | None:
    """The database ``component`` lives in: PostgreSQL when configured, else its file."""
    if is_postgres_url(config.state_url):
        return open_state_db(config.state_url, config.state_dir)
    filename = SQLITE_FILES[component]
    return None if filename is None else open_state_db("", config.state_dir / filename)


def migrate_all(config: Config, now_ns: int, *, dry_run: bool = False,
                ) -> list[tuple[Component, list[Migration]]]:
    """Every component's missing migrations (applied unless ``dry_run``), by component."""
    done: list[tuple[Component, list[Migration]]] = []
    for component in SQLITE_FILES:
        db = open_component(config, component) if of(component) else None
        if db is None:
            continue
        try:
            done.append((component, pending(db, component) if dry_run
                         else migrate(db, component, now_ns)))
        finally:
            db.close()
    return done


def create_sqlite(path: Path, component: Component, now_ns: int) -> None:
    """A new SQLite file for ``component``, in place only once its schema is complete.

    Built under a temporary name and linked into place, so no other process (the
    state-file check of ``/readyz``) ever sees it empty; if another process got
    there first, its file stays.
    """
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.new")
    db = SQLiteDB(temp)
    try:
        migrate(db, component, now_ns)
        db.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    try:
        os.link(temp, path)
    except FileExistsError:
        pass
    finally:
        for leftover in (temp, temp.with_name(temp.name + "-wal"),
                         temp.with_name(temp.name + "-shm")):
            leftover.unlink(missing_ok=True)
