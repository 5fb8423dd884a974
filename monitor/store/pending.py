"""One batch's spool records as events on their way to InfluxDB: decoded, new, mapped.

The writer turns each record it reads into a :class:`Pending` event: decoded from
JSON, named by a digest of its bytes (the same delivery twice is the same digest,
skipped), then mapped to points against the ingest state. A record that cannot go
on becomes a :class:`Rejection`, kept in quarantine once its batch commits.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

from monitor.core import jsonutil
from monitor.core.metrics import DUPLICATES_SKIPPED
from monitor.datamodel.points import Batch
from monitor.ingest.mapping import IngestState, map_event
from monitor.store.spool import Record
from monitor.store.state import StateBatch

log = logging.getLogger(__name__)


@dataclass
class Pending:
    """One spooled event on its way to InfluxDB."""

    record: Record
    event: dict[str, Any]
    digest: bytes
    batch: Batch = field(default_factory=Batch)


@dataclass(frozen=True)
class Rejection:
    """A record that goes to quarantine once its batch commits."""

    record: Record
    event: str
    digest: bytes
    reason: str
    errors: dict[str, list[str]]

    @classmethod
    def of(cls, item: Pending, reason: str, error: str) -> Rejection:
        return cls(item.record, str(item.event.get("event", "")), item.digest, reason,
                   {"_writer": [error]})


def decode(records: list[Record]) -> tuple[list[Pending], list[Rejection]]:
    """Each record as an event; a record that is not a JSON object is rejected."""
    pending: list[Pending] = []
    broken: list[Rejection] = []
    for record in records:
        digest = hashlib.blake2b(record.payload, digest_size=16).digest()
        try:
            event = jsonutil.loads(record.payload)
            if not isinstance(event, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            broken.append(Rejection(record, "", digest, "undecodable_spool_record",
                                    {"spool": [str(exc)]}))
            continue
        pending.append(Pending(record, event, digest))
    return pending, broken


def fresh(pending: list[Pending], state: StateBatch) -> list[Pending]:
    """The events not stored before nor earlier in the same batch."""
    seen = state.seen(item.digest for item in pending)
    new: list[Pending] = []
    batch_digests: set[bytes] = set()
    for item in pending:
        if item.digest in seen or item.digest in batch_digests:
            DUPLICATES_SKIPPED.inc()
            continue
        batch_digests.add(item.digest)
        new.append(item)
    return new


def map_pending(item: Pending, state: IngestState) -> Batch:
    return map_event(item.event, item.record.received_ns,
                     int.from_bytes(item.digest[:8], "big"), state)


def map_all(items: list[Pending], state: IngestState) -> list[Rejection]:
    """Map in spool order; the first mapping bug sends the batch down the careful path."""
    for item in items:
        try:
            item.batch = map_pending(item, state)
        except Exception as exc:
            log.exception("mapping failed")
            return [Rejection.of(item, "mapping_error", repr(exc))]
    return []
