"""The writer's side of the spool: records in arrival order, damage set aside, drained files gone.

Every receiver process appends to a segment of its own; the writer reads them all
from the offsets it committed, merged by receive time. Bytes that no longer frame
a record (a torn write, a power loss, a flipped bit) go to quarantine so the
spool never stalls behind them, and a finished segment read to its end is removed.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable, Mapping, Sequence

from monitor.store.quarantine import Quarantine
from monitor.store.spool import (
    CorruptRecordError,
    Record,
    Segment,
    finished,
    next_valid_record,
    read_records,
)
from monitor.store.state import WriterState

STUCK_S = 1.0   # a live segment's unreadable bytes that long are checked for a torn record


class SpoolReader:
    def __init__(self, state: WriterState, quarantine: Quarantine,
                 clock: Callable[[], int]) -> None:
        self.state = state
        self.quarantine = quarantine
        self.clock = clock
        self.offsets = state.offsets()
        self._stuck: dict[str, tuple[int, float]] = {}   # segment → (offset, since)

    def read(self, segments: Sequence[Segment], limit: int) -> list[Record]:
        """The next records in arrival order across every receiving process's segment.

        Each gunicorn worker appends to a segment of its own; after a backlog (InfluxDB
        down) they hold interleaved deliveries. Mapping depends on order (a room moved
        floor before its reading), so segments are merged by receive time, never read
        one after the other. Each segment still contributes a prefix, so its offset
        stays a single number.
        """
        runs: list[list[Record]] = []
        for segment in segments:
            # A segment damaged where we stand and not yet salvageable gives what comes
            # before the damage; the others keep flowing.
            records, _damaged = self._read_segment(segment, limit)
            runs.append(records)
        merged = heapq.merge(*runs, key=lambda record: record.received_ns)
        return list(itertools.islice(merged, limit))

    def advance(self, offsets: Mapping[str, int]) -> None:
        """Where each segment stands once a batch read from it is committed."""
        self.offsets.update(offsets)

    def _read_segment(self, segment: Segment, limit: int) -> tuple[list[Record], bool]:
        """Records from where we stand; damage right there is set aside and skipped."""
        while True:
            start = self.offsets.get(segment.stem, 0)
            records: list[Record] = []
            try:
                records.extend(read_records(segment, start, limit))
            except CorruptRecordError:
                if records or not self._salvage(segment, start):
                    return records, True  # deal with it once we stand on it
                continue
            if not records:
                self._salvage_torn_tail(segment, start)
            return records, False

    def _salvage(self, segment: Segment, offset: int) -> bool:
        """Bytes that no longer frame a record: keep them in quarantine, move past them.

        With a whole, valid record after them, the damage is final even in a segment
        still being appended to (a torn record from a failed write), so we skip to
        it. Without one, only a finished segment's tail is given up: in a live one
        the bytes may be a record still being written.
        """
        try:
            whole = segment.path.read_bytes()
        except FileNotFoundError:
            return False
        resume = next_valid_record(whole, offset)
        if resume is None and not finished(segment):
            return False
        end = len(whole) if resume is None else resume
        self.quarantine.add(whole[offset:end], event="", reason="corrupt_spool",
                            errors={"spool": [f"{segment.stem} bytes {offset}-{end}"]},
                            received_ns=int(segment.stem.split("-", 1)[0]),
                            key=f"{segment.stem}:{offset}".encode())
        self.state.commit(offsets={segment.stem: end}, digests=(), now_ns=self.clock())
        self.offsets[segment.stem] = end
        return True

    def _salvage_torn_tail(self, segment: Segment, offset: int) -> None:
        """Half a record where we stand: a power loss, or a torn write with records after it.

        A finished segment's tail is set aside at once. In a live segment the bytes are
        usually a record being written right now, so only bytes that stay put for
        :data:`STUCK_S` are looked at (a scan of the segment for a valid record after
        them, which proves them torn).
        """
        try:
            size = segment.path.stat().st_size
        except FileNotFoundError:
            return
        if offset >= size:
            self._stuck.pop(segment.stem, None)
            return
        if finished(segment):
            self._salvage(segment, offset)
            return
        now = time.monotonic()
        since = self._stuck.setdefault(segment.stem, (offset, now))
        if since[0] != offset:
            self._stuck[segment.stem] = (offset, now)
        elif now - since[1] >= STUCK_S and self._salvage(segment, offset):
            self._stuck.pop(segment.stem, None)

    def drop_drained(self, segments: Sequence[Segment]) -> None:
        """Remove every finished segment read to its end, and forget its offset."""
        dropped = []
        for segment in segments:
            try:
                size = segment.path.stat().st_size
            except FileNotFoundError:
                continue
            if self.offsets.get(segment.stem, 0) >= size and finished(segment):
                segment.path.unlink(missing_ok=True)
                dropped.append(segment.stem)
        if dropped:
            self.state.commit(offsets={}, digests=(), now_ns=self.clock(),
                              dropped_segments=dropped)
            for stem in dropped:
                self.offsets.pop(stem, None)
