"""The careful path: a batch InfluxDB refused (or that hit a mapping bug), event by event.

A 4xx for a batch says some point in it is bad, not which. Each event is then
mapped and written on its own from the committed ingest state, so the refused
ones go to quarantine and leave no trace in the state, while the rest land.
"""

from __future__ import annotations

import logging

from monitor.datamodel.measurements import SENSOR_EVENT
from monitor.ingest.mapping import IngestState
from monitor.store.influx import InfluxError
from monitor.store.pending import Pending, Rejection, map_pending
from monitor.store.pointwriter import PointWriter, ops

log = logging.getLogger(__name__)


def write_each(items: list[Pending], committed: IngestState,
               points: PointWriter) -> tuple[IngestState, list[Rejection]]:
    """Event by event from the committed state: a refused event leaves no trace in it.

    Mapping is deterministic, so the state is not copied for every event: when an
    event that may have changed it is refused, the state is rebuilt from the
    committed one by mapping again the events accepted before it. One copy per
    refusal (rare) instead of one per event (tens of milliseconds each for a large
    registry).
    """
    state = committed.copy()
    accepted: list[Pending] = []
    rejected: list[Rejection] = []
    for item in items:
        rejection = _try_one(item, state, points)
        if rejection is None:
            accepted.append(item)
            continue
        rejected.append(rejection)
        if item.event.get("event") != SENSOR_EVENT:   # readings never change the state
            state = _replayed(committed, accepted)
    return state, rejected


def _try_one(item: Pending, state: IngestState, points: PointWriter) -> Rejection | None:
    """Map and write one event; why it goes to quarantine, or None once it is stored."""
    try:
        item.batch = map_pending(item, state)
    except Exception as exc:   # a mapping bug must not lose the event
        log.exception("mapping failed")
        return Rejection.of(item, "mapping_error", repr(exc))
    try:
        points.write(ops(item.batch))
    except InfluxError as exc:
        if exc.retryable:
            raise
        return Rejection.of(item, "influx_rejected", str(exc))
    return None


def _replayed(committed: IngestState, accepted: list[Pending]) -> IngestState:
    state = committed.copy()
    for item in accepted:
        map_pending(item, state)
    return state
