"""The shared state's schema, as numbered migrations applied in order, once.

``schema_migrations`` records each version applied. Version 1 is the schema
every one-machine install already has (its statements are idempotent, so an
existing ``writer.sqlite`` simply gets recorded at 1); later versions only
add. ``zrmon state migrate`` applies what is missing, and a writer does the
same at start, under the schema's own lock, so two replicas starting together
apply each migration once.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.store.statedb import Dialect, StateDB, Tx

SCHEMA_LOCK = "zrmon:schema"


@dataclass(frozen=True)
class Migration:
    version: int
    title: str
    sqlite: tuple[str, ...]
    postgresql: tuple[str, ...]

    def statements(self, dialect: Dialect) -> tuple[str, ...]:
        return self.sqlite if dialect == "sqlite" else self.postgresql


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1, "writer: spool offsets, seen-event digests, ingest state",
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
        2, "offsets per replica; ingest state versions, so a writer rereads the state only "
           "after another one changed it",
        sqlite=(
            "ALTER TABLE offsets ADD COLUMN replica TEXT NOT NULL DEFAULT ''",
            "CREATE UNIQUE INDEX IF NOT EXISTS offsets_by_replica ON offsets (replica, segment)",
            "ALTER TABLE kv ADD COLUMN version INTEGER NOT NULL DEFAULT 0",
        ),
        postgresql=("ALTER TABLE kv ADD COLUMN IF NOT EXISTS version BIGINT NOT NULL DEFAULT 0",),
    ),
)
LATEST = MIGRATIONS[-1].version


def _ensure_table(tx: Tx) -> None:
    tx.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
               "title TEXT NOT NULL, applied_ns BIGINT NOT NULL)")


def applied_versions(tx: Tx) -> set[int]:
    _ensure_table(tx)
    return {int(row[0]) for row in tx.execute("SELECT version FROM schema_migrations").fetchall()}


def pending(db: StateDB) -> list[Migration]:
    with db.transaction(lock=SCHEMA_LOCK) as tx:
        done = applied_versions(tx)
    return [m for m in MIGRATIONS if m.version not in done]


def migrate(db: StateDB, now_ns: int) -> list[Migration]:
    """Apply every missing migration, each in its own transaction; those applied."""
    applied: list[Migration] = []
    for migration in MIGRATIONS:
        with db.transaction(lock=SCHEMA_LOCK) as tx:
            if migration.version in applied_versions(tx):
                continue
            for statement in migration.statements(db.dialect):
                tx.execute(statement)
            tx.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)",
                       (migration.version, migration.title, now_ns))
        applied.append(migration)
    return applied


def newer_than_known(db: StateDB) -> int | None:
    """The database's version when it is ahead of this code (an older replica must not write)."""
    with db.transaction() as tx:
        newest = max(applied_versions(tx), default=0)
    return newest if newest > LATEST else None
