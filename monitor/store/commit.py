"""The atomic batch commit: quarantine what was refused, then offsets, digests and state.

A batch counts as done only once all of it is recorded together: the spool
offsets it consumed, the digests of the events stored (so a redelivery is
skipped), the ingest state it produced, and the refused events kept in
quarantine. If the commit fails, the quarantined copies are taken back so the
retry files them again under the same ids, and nothing of the batch is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.core.metrics import EVENTS_WRITTEN, WRITER_QUARANTINED
from monitor.ingest.mapping import IngestState
from monitor.store.pending import Pending, Rejection
from monitor.store.quarantine import Quarantine
from monitor.store.spool import Record
from monitor.store.state import StateBatch

STATE_KEY = "ingest"   # the ingest state's key in the writer's state file


@dataclass
class Recorded:
    """A batch recorded in its open transaction; it counts only once that commits."""

    offsets: dict[str, int]
    kept: list[str]                  # quarantine ids filed for this batch
    written: int
    quarantined: int

    def committed(self) -> None:
        WRITER_QUARANTINED.inc(self.quarantined)
        EVENTS_WRITTEN.inc(self.written)

    def undo(self, quarantine: Quarantine) -> None:
        """The transaction did not commit: take the quarantined copies back, so the retry
        files them again under the same ids and nothing of the batch is kept."""
        for item_id in self.kept:
            quarantine.remove(item_id)


def commit_batch(state: StateBatch, quarantine: Quarantine, now_ns: int, *,
                 records: list[Record], fresh: list[Pending], undecodable: list[Rejection],
                 rejected: list[Rejection], work: IngestState | None) -> Recorded:
    """Quarantine what was refused, then record offsets, digests and state in the batch.

    The caller commits the batch's transaction, then calls :meth:`Recorded.committed`
    (or :meth:`Recorded.undo` when the commit failed); ``work`` is None when the batch
    left the ingest state as it was.
    """
    refused = {rejection.digest for rejection in rejected}
    # A quarantined event is not "seen": once fixed, its replay must not be skipped.
    stored = [item.digest for item in fresh if item.digest not in refused]
    recorded = Recorded({r.segment: r.end for r in records}, [], len(fresh) - len(rejected),
                        len(rejected))
    try:
        for rejection in (*undecodable, *rejected):
            recorded.kept.append(_keep(quarantine, rejection))
        state.commit(offsets=recorded.offsets, digests=stored, now_ns=now_ns,
                     values=None if work is None else {STATE_KEY: work.to_json()})
    except BaseException:
        recorded.undo(quarantine)
        raise
    return recorded


def _keep(quarantine: Quarantine, rejection: Rejection) -> str:
    record = rejection.record
    return quarantine.add(record.payload, event=rejection.event,
                          reason=rejection.reason, errors=rejection.errors,
                          received_ns=record.received_ns,
                          key=f"{record.segment}:{record.offset}".encode())
