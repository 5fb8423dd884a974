"""The document ``zrmon state export`` writes and ``zrmon state import`` reads.

Why a module of its own: the format is a contract between two zrmon runs, maybe
of different hosts, and both ends must agree on it line for line; the export
and import themselves (:mod:`monitor.store.transfer`) only move rows.

JSON lines: a header (``format``, ``format_version``, ``exported_at``, the
``source`` backend and ``components``: each exported component's schema
version), then for each table of each component, in :data:`TABLES` order, a
line ``{"table", "component", "columns"}``, one JSON array per row (bytes
columns in base64), and ``{"end": table, "rows": n}``; last
``{"end": "export", "tables": n}``. :func:`check_document` reads a whole file
and checks all of it, so an import can refuse a truncated or edited one
before it writes anything.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from monitor.core.errors import UsageError
from monitor.store.migrations import Component, latest

FORMAT = "zrmon-state"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Table:
    """One table of a component's state, and what moving its rows needs."""

    component: Component
    name: str
    key: tuple[str, ...]                  # a unique key: the export pages through it in order
    binary: frozenset[str] = frozenset()  # bytes columns, base64 in the document
    identity: str | None = None           # generated on PostgreSQL: its sequence moves past
    per_replica: str | None = None        # the replica column; '' becomes the importing host


TABLES: tuple[Table, ...] = (
    Table("writer", "offsets", ("replica", "segment"), per_replica="replica"),
    Table("writer", "seen", ("digest",), binary=frozenset({"digest"})),
    Table("writer", "kv", ("key",)),
    Table("evaluator", "outbox", ("seq",), identity="seq"),
    Table("evaluator", "state", ("key",)),
    Table("evaluator", "influx_points", ("seq",), identity="seq"),
    Table("evaluator", "job_runs", ("job", "slot")),
    Table("silences", "silences", ("id",)),
)
MOVED: tuple[Component, ...] = ("writer", "evaluator", "silences")   # not "leader"


class TransferError(UsageError):
    """A document that cannot be imported as it is: not an export, truncated, or from
    another schema version."""


def tables_of(component: Component) -> tuple[Table, ...]:
    return tuple(t for t in TABLES if t.component == component)


def write_line(out: IO[str], item: Any) -> None:
    out.write(json.dumps(item, separators=(",", ":"), ensure_ascii=False) + "\n")


def encode(value: Any) -> Any:
    """A column's value as the document holds it."""
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


class Document:
    """An export file read line by line, each line checked; errors name the line."""

    def __init__(self, path: Path, lines: IO[str]) -> None:
        self.path = path
        self.lines = lines
        self.number = 0

    def error(self, what: str) -> TransferError:
        return TransferError(f"{self.path}:{self.number}: {what}")

    def next(self) -> Any:
        line = self.lines.readline()
        self.number += 1
        if not line:
            raise self.error("the document ends before its last line (truncated?)")
        try:
            return json.loads(line)
        except ValueError as exc:
            raise self.error(f"not JSON ({exc})") from exc

    def header(self) -> dict[Component, int]:
        head = self.next()
        if not isinstance(head, dict) or head.get("format") != FORMAT:
            raise self.error("not a `zrmon state export` document")
        if head.get("format_version") != FORMAT_VERSION:
            raise self.error(f"format version {head.get('format_version')!r}, this zrmon "
                             f"reads {FORMAT_VERSION}")
        found = head.get("components")
        if not isinstance(found, dict) or not set(found) <= set(MOVED):
            raise self.error(f"components {found!r}: expected some of {', '.join(MOVED)}")
        components: dict[Component, int] = {c: found[c] for c in MOVED if c in found}
        for component, version in components.items():
            if version != latest(component):
                raise self.error(
                    f"the {component} state was exported at schema version {version}, this "
                    f"zrmon is at {latest(component)}: export it with this version of zrmon "
                    "(after `zrmon state migrate` on the old install)")
        return components

    def table_start(self, table: Table) -> list[str]:
        start = self.next()
        if (not isinstance(start, dict) or start.get("table") != table.name
                or start.get("component") != table.component):
            raise self.error(f"expected the {table.component} table {table.name} here")
        columns = start.get("columns")
        if (not isinstance(columns, list) or not all(isinstance(c, str) for c in columns)
                or not set(table.key) <= set(columns)):
            raise self.error(f"{table.name}: no usable column list")
        return columns

    def rows(self, table: Table, columns: list[str]) -> Iterator[list[Any]]:
        """The table's rows up to its closing line, whose count must match."""
        count = 0
        while isinstance(row := self.next(), list):
            if len(row) != len(columns):
                raise self.error(f"{table.name}: {len(row)} values for {len(columns)} columns")
            count += 1
            yield row
        if row != {"end": table.name, "rows": count}:
            raise self.error(f"{table.name}: expected its closing line after {count} rows")

    def end(self, tables: int) -> None:
        if self.next() != {"end": "export", "tables": tables}:
            raise self.error("expected the document's closing line")
        if self.lines.readline():
            raise self.error("lines after the document's closing line")


def decode(table: Table, columns: list[str], row: list[Any], replica: str) -> list[Any]:
    values = list(row)
    for name in table.binary:
        i = columns.index(name)
        if values[i] is not None:
            values[i] = base64.b64decode(values[i], validate=True)
    if table.per_replica is not None:
        i = columns.index(table.per_replica)
        values[i] = values[i] or replica
    return values


def open_document(path: Path) -> tuple[IO[str], Document]:
    try:
        lines = path.open(encoding="utf-8")
    except OSError as exc:
        raise TransferError(f"{path}: {exc.strerror or exc}") from exc
    return lines, Document(path, lines)


def check_document(path: Path) -> dict[Component, int]:
    """Read the whole document and check it; its components and their schema versions."""
    lines, doc = open_document(path)
    with lines:
        components = doc.header()
        expected = [t for c in components for t in tables_of(c)]
        for table in expected:
            columns = doc.table_start(table)
            for row in doc.rows(table, columns):
                try:
                    decode(table, columns, row, "")
                except (binascii.Error, TypeError, ValueError) as exc:
                    raise doc.error(f"{table.name}: not base64 ({exc})") from exc
        doc.end(len(expected))
    return components


