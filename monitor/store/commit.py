"""The atomic batch commit: quarantine what was refused, then offsets, digests and state.

A batch counts as done only once all of it is recorded together: the spool
offsets it consumed, the digests of the events stored (so a redelivery is
skipped), the ingest state it produced, and the refused events kept in
quarantine. If the commit fails, the quarantined copies are taken back so the
retry files them again under the same ids, and nothing of the batch is kept.
"""

from __future__ import annotations

from monitor.core.metrics import EVENTS_WRITTEN, WRITER_QUARANTINED
from monitor.ingest.mapping import IngestState
from monitor.store.pending import Pending, Rejection
from monitor.store.quarantine import Quarantine
from monitor.store.spool import Record
from monitor.store.state import StateBatch

STATE_KEY = "ingest"   # the ingest state's key in the writer's state file


def commit_batch(state: StateBatch, quarantine: Quarantine, now_ns: int, *,
                 records: list[Record], fresh: list[Pending], undecodable: list[Rejection],
                 rejected: list[Rejection], work: IngestState | None) -> dict[str, int]:
    """Quarantine what was refused, then commit offsets, digests and state in one go.

    The offsets committed, per segment; ``work`` is None when the batch left the
    ingest state as it was.
    """
    refused = {rejection.digest for rejection in rejected}
    # A quarantined event is not "seen": once fixed, its replay must not be skipped.
    stored = [item.digest for item in fresh if item.digest not in refused]
    offsets = {r.segment: r.end for r in records}
    kept: list[str] = []
    try:
        for rejection in (*undecodable, *rejected):
            kept.append(_keep(quarantine, rejection))
        state.commit(offsets=offsets, digests=stored, now_ns=now_ns,
                     values=None if work is None else {STATE_KEY: work.to_json()})
    except BaseException:
        for item_id in kept:   # the retry quarantines them again, under the same ids
            quarantine.remove(item_id)
        raise
    WRITER_QUARANTINED.inc(len(rejected))
    EVENTS_WRITTEN.inc(len(fresh) - len(rejected))
    return offsets


def _keep(quarantine: Quarantine, rejection: Rejection) -> str:
    record = rejection.record
    return quarantine.add(record.payload, event=rejection.event,
                          reason=rejection.reason, errors=rejection.errors,
                          received_ns=record.received_ns,
                          key=f"{record.segment}:{record.offset}".encode())
