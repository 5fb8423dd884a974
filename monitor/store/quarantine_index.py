"""Which events are in quarantine on which replica, for ``zrmon quarantine list`` anywhere.

Quarantined bodies stay on the disk of the replica that refused them: a receiver
files them before it answers Zoom, so filing must never wait for PostgreSQL. With
shared state each replica's writer keeps an index of its own files in PostgreSQL
(:func:`sync_index`, every few seconds beside its drain loop), and the list shows
every replica's entries with the replica to run ``zrmon quarantine replay`` on.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.store.quarantine import Quarantine
from monitor.store.statedb import StateDB


@dataclass(frozen=True)
class IndexedEvent:
    replica: str
    id: str
    received_ns: int
    event: str
    reason: str
    fields: str            # the fields the errors name, comma-separated


def sync_index(quarantine: Quarantine, db: StateDB, replica: str) -> int:
    """Bring this replica's rows in line with its files; how many rows changed."""
    items = {item.id: item for item in quarantine.items()}
    with db.transaction() as tx:
        rows = tx.execute("SELECT id FROM quarantine_index WHERE replica = ?", (replica,))
        indexed = {str(row[0]) for row in rows.fetchall()}
        gone = sorted(indexed - set(items))
        new = [items[item_id] for item_id in sorted(set(items) - indexed)]
        tx.executemany("DELETE FROM quarantine_index WHERE replica = ? AND id = ?",
                       [(replica, item_id) for item_id in gone])
        tx.executemany("INSERT INTO quarantine_index VALUES (?, ?, ?, ?, ?, ?) "
                       "ON CONFLICT (replica, id) DO NOTHING",
                       [(replica, item.id, item.received_ns, item.event, item.reason,
                         ", ".join(sorted(item.errors))) for item in new])
    return len(gone) + len(new)


def indexed(db: StateDB) -> list[IndexedEvent]:
    with db.transaction() as tx:
        rows = tx.execute("SELECT replica, id, received_ns, event, reason, fields "
                          "FROM quarantine_index ORDER BY received_ns, replica, id").fetchall()
    return [IndexedEvent(str(r[0]), str(r[1]), int(r[2]), str(r[3]), str(r[4]), str(r[5]))
            for r in rows]
