"""``zrmon state export`` / ``zrmon state import``: every component's state as one document.

Why it exists: a one-machine install keeps its state in SQLite files under
``<data_dir>/state/``; moving it to PostgreSQL (docs/ha.md) must carry over
the open incidents (the writer's ingest state), the digests that make a
redelivered event a duplicate, the rule and dispatcher state, the pending
notifications and the silences, whole. The export reads each component's
tables from the configured backend, page by page in key order (the ``seen``
table can be large, so nothing holds all of it); the import migrates the
target, refuses one that already holds state, and writes each component in
one transaction.

The document's format is :mod:`monitor.store.statedoc`. The import reads the
whole file once before it writes anything, so a truncated or edited file is
refused and leaves the target as it was.

Spool offsets belong to the host whose disk holds the spool. Exported from
SQLite they have replica ``''``; the import gives them the importing host's
replica id (:meth:`Config.replica_id`), so run it on the host that keeps the
data directory, or with that host's ``ZRMON_REPLICA``. The ``leaders`` table
is not carried: who leads is decided again by the hosts that start on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from monitor.core.atomicfile import check_sqlite
from monitor.core.config import Config
from monitor.core.errors import StateError, UsageError
from monitor.store.migrations import (
    SQLITE_FILES,
    Component,
    SchemaTooNewError,
    applied_versions,
    latest,
    migrate,
    open_component,
)
from monitor.store.statedb import StateDB, Tx, is_postgres_url, open_state_db
from monitor.store.statedoc import (
    FORMAT,
    FORMAT_VERSION,
    MOVED,
    Document,
    Table,
    check_document,
    decode,
    encode,
    open_document,
    tables_of,
    write_line,
)

PAGE = 5000                 # rows per SELECT on export, per executemany on import
IMPORT_LOCK = "zrmon:state-import"


class TargetNotEmptyError(StateError):
    """The database to import into already holds state (of another install, or a first try)."""


@dataclass
class Moved:
    """What one component's export or import carried, for the command's summary."""

    component: Component
    schema_version: int
    where: str
    rows: dict[str, int] = field(default_factory=dict)

    def counts(self) -> str:
        return ", ".join(f"{table} {n}" for table, n in self.rows.items())


def _ident(name: str) -> str:
    return f'"{name}"'


def columns_of(tx: Tx, table: str) -> list[str]:
    """The table's columns in the database ``tx`` runs in, in their order."""
    if tx.dialect == "sqlite":
        rows = tx.execute("SELECT name FROM pragma_table_info(?) ORDER BY cid", (table,))
    else:
        rows = tx.execute("SELECT column_name FROM information_schema.columns WHERE "
                          "table_schema = current_schema() AND table_name = ? "
                          "ORDER BY ordinal_position", (table,))
    return [str(row[0]) for row in rows.fetchall()]


# -- export ---------------------------------------------------------------------------


def _sources(config: Config) -> Iterator[tuple[Component, StateDB, str]]:
    """Each component there is to export: its database (opened) and where it is."""
    postgres = is_postgres_url(config.state_url)
    for component in MOVED:
        where = "PostgreSQL"
        if not postgres:
            path = config.state_dir / (SQLITE_FILES[component] or "")
            if component == "silences" and (config.state_dir / "silences.json").exists():
                raise StateError(f"{config.state_dir / 'silences.json'} is not imported yet: "
                                 "run `zrmon silence list` once, then export")
            if not path.exists():
                continue
            check_sqlite(path)
            where = str(path)
        db = open_component(config, component)
        if db is not None:
            yield component, db, where


def _version(tx: Tx, component: Component, where: str) -> int:
    version = max(applied_versions(tx, component), default=0)
    if version > latest(component):
        raise SchemaTooNewError(f"{where}: the {component} state is at schema version {version},"
                                f" this zrmon knows up to {latest(component)}: upgrade it")
    if 0 < version < latest(component):
        raise StateError(f"{where}: the {component} state is at schema version {version}, "
                         f"not {latest(component)}: run `zrmon state migrate` first")
    return version


def _rows(tx: Tx, table: Table, columns: list[str]) -> Iterator[tuple[Any, ...]]:
    """Every row, a page at a time in key order (keyset paging: each page is one index seek)."""
    selected, key = ", ".join(map(_ident, columns)), ", ".join(map(_ident, table.key))
    positions = [columns.index(name) for name in table.key]
    after: list[Any] = []
    while True:
        where = f"WHERE ({key}) > ({', '.join('?' * len(after))})" if after else ""
        page = tx.execute(f"SELECT {selected} FROM {table.name} {where} ORDER BY {key} "
                          f"LIMIT {PAGE}", after).fetchall()
        yield from page
        if len(page) < PAGE:
            return
        after = [page[-1][i] for i in positions]


def export_state(config: Config, out: IO[str], now_ns: int) -> list[Moved]:
    """Every component's rows from the configured backend into ``out``; what was written.

    Each component is read in one transaction (a snapshot: on PostgreSQL
    ``REPEATABLE READ``), so its tables agree with each other.
    """
    sources = []
    try:
        for source in _sources(config):
            sources.append(source)
        moved = []
        for component, db, where in sources:
            with db.transaction(write=False) as tx:
                moved.append(Moved(component, _version(tx, component, where), where))
        moved = [m for m in moved if m.schema_version]
        if not moved:
            raise UsageError(f"{config.state_dir}: no state to export (is ZRMON_DATA_DIR "
                             "right?)")
        exported_at = datetime.fromtimestamp(now_ns / 1e9, UTC).isoformat(timespec="seconds")
        write_line(out, {"format": FORMAT, "format_version": FORMAT_VERSION,
                         "exported_at": exported_at.replace("+00:00", "Z"),
                         "source": "postgresql" if is_postgres_url(config.state_url)
                         else "sqlite",
                         "components": {m.component: m.schema_version for m in moved}})
        dbs = {component: db for component, db, _ in sources}
        for item in moved:
            _export_component(dbs[item.component], item, out)
        write_line(out, {"end": "export", "tables": sum(len(m.rows) for m in moved)})
        return moved
    finally:
        for _, db, _ in sources:
            db.close()


def _export_component(db: StateDB, moved: Moved, out: IO[str]) -> None:
    with db.transaction(write=False) as tx:
        if tx.dialect == "postgresql":
            tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        for table in tables_of(moved.component):
            columns = columns_of(tx, table.name)
            write_line(out, {"table": table.name, "component": table.component,
                        "columns": columns})
            count = 0
            for row in _rows(tx, table, columns):
                write_line(out, [encode(value) for value in row])
                count += 1
            write_line(out, {"end": table.name, "rows": count})
            moved.rows[table.name] = count


# -- import ---------------------------------------------------------------------------


def held(tx: Tx, component: Component) -> dict[str, int]:
    """The component's tables that hold rows, and how many."""
    counts = {t.name: int(tx.execute(f"SELECT COUNT(*) FROM {t.name}").fetchone()[0])
              for t in tables_of(component)}
    return {name: n for name, n in counts.items() if n}


def _refuse_if_held(tx: Tx, components: list[Component]) -> None:
    found = {c: rows for c in components if (rows := held(tx, c))}
    if found:
        what = "; ".join(f"{c} ({', '.join(f'{t} {n}' for t, n in rows.items())})"
                         for c, rows in found.items())
        raise TargetNotEmptyError(
            f"the PostgreSQL state database already holds state: {what}. Import refuses to "
            "merge two installs; --force replaces that state with the document's")


def import_state(config: Config, path: Path, now_ns: int, *, force: bool = False,
                 ) -> list[Moved]:
    """Load an export into the PostgreSQL database at ``ZRMON_STATE_URL``; what was loaded.

    The target's schema is brought up to date first. Unless ``force``, a target
    holding any row of an exported component is refused, before anything is
    written; with it, that component's rows are replaced. Each component goes
    in one transaction; identity columns keep their values and their
    sequences move past them.
    """
    if not is_postgres_url(config.state_url):
        raise UsageError("ZRMON_STATE_URL: not set; import loads a document into the "
                         "PostgreSQL database it names")
    components = list(check_document(path))
    replica = config.replica_id()
    db = open_state_db(config.state_url, config.state_dir)
    try:
        for component in components:
            migrate(db, component, now_ns)
        if not force:
            with db.transaction(write=False) as tx:
                _refuse_if_held(tx, components)
        lines, doc = open_document(path)
        with lines:
            doc.header()
            return [_import_component(db, doc, component, replica, force)
                    for component in components]
    finally:
        db.close()


def _import_component(db: StateDB, doc: Document, component: Component, replica: str,
                      force: bool) -> Moved:
    moved = Moved(component, latest(component), "PostgreSQL")
    with db.transaction(lock=IMPORT_LOCK) as tx:
        if not force:
            _refuse_if_held(tx, [component])     # one more import since the first check
        for table in tables_of(component):
            columns = doc.table_start(table)
            if set(columns) != set(columns_of(tx, table.name)):
                raise doc.error(f"{table.name}: columns {columns} are not the database's")
            if force:
                tx.execute(f"DELETE FROM {table.name}")
            insert = (f"INSERT INTO {table.name} ({', '.join(map(_ident, columns))}) "
                      f"VALUES ({', '.join('?' * len(columns))})")
            batch: list[list[Any]] = []
            count = 0
            for row in doc.rows(table, columns):
                batch.append(decode(table, columns, row, replica))
                count += 1
                if len(batch) >= PAGE:
                    tx.executemany(insert, batch)
                    batch = []
            if batch:
                tx.executemany(insert, batch)
            if table.identity is not None:
                tx.execute(f"SELECT setval(pg_get_serial_sequence('{table.name}', "
                           f"'{table.identity}'), COALESCE(MAX({_ident(table.identity)}), 0)"
                           f" + 1, false) FROM {table.name}")
            moved.rows[table.name] = count
    return moved
