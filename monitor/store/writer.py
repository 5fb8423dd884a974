"""Drains the spool into InfluxDB: batches, retries with back-off, never drops data.

One writer process per deployment reads the segments every receiver process
appends to, maps events to points (pure, :mod:`monitor.ingest.mapping`),
writes them in large batches and then commits offsets and state together
(:mod:`monitor.store.state`). InfluxDB down for minutes means the spool grows
and the writer keeps retrying; a point InfluxDB refuses outright (4xx) moves
its event to quarantine instead of blocking everything behind it.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from monitor.core import jsonutil
from monitor.core.atomicfile import StateFileError, backup_sqlite, check_sqlite
from monitor.core.config import Config
from monitor.core.metrics import (
    DUPLICATES_SKIPPED,
    EVENTS_WRITTEN,
    POINTS_WRITTEN,
    READINGS_WRITTEN,
    WRITE_ERRORS,
    WRITE_LATENCY,
    WRITER_QUARANTINED,
    WRITER_STORAGE_ERRORS,
)
from monitor.datamodel.measurements import SENSOR, SENSOR_EVENT
from monitor.datamodel.points import Batch, Delete, LineEncoder, Point, influxql_string
from monitor.ingest.mapping import IngestState, map_event
from monitor.store.influx import InfluxClient, InfluxError
from monitor.store.quarantine import Quarantine
from monitor.store.spool import (
    CorruptRecordError,
    Record,
    Segment,
    finished,
    list_segments,
    next_valid_record,
    read_records,
)
from monitor.store.state import FILENAME as STATE_FILENAME
from monitor.store.state import WriterState

log = logging.getLogger(__name__)
STATE_KEY = "ingest"
STUCK_S = 1.0   # a live segment's unreadable bytes that long are checked for a torn record


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


class Backoff:
    def __init__(self, first: float = 0.2, cap: float = 30.0) -> None:
        self.first, self.cap, self.delay = first, cap, first

    def next(self) -> float:
        delay, self.delay = self.delay, min(self.cap, self.delay * 2)
        return delay

    def reset(self) -> None:
        self.delay = self.first


class Writer:
    def __init__(self, config: Config, influx: InfluxClient | None = None,
                 stop: threading.Event | None = None,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self.config = config
        self.influx = influx or InfluxClient(config, timeout=config.writer_timeout_s)
        self.stop = stop or threading.Event()
        self.clock = clock
        self.state = WriterState(config.state_dir)
        self.ingest = IngestState.from_json(self.state.load(STATE_KEY))
        self.offsets = self.state.offsets()
        self.quarantine = Quarantine(config.quarantine_dir)
        self.backoff = Backoff()
        self.encoder = LineEncoder()
        self._last_prune = 0.0
        self._stuck: dict[str, tuple[int, float]] = {}   # segment → (offset, since)

    # -- the loop ---------------------------------------------------------------------
    def run(self) -> None:
        log.info("writer started: spool %s → %s db %s", self.config.spool_dir,
                 self.config.influx_url, self.config.influx_db)
        self._ensure_database()
        while not self.stop.is_set():
            try:
                handled = self.drain_once()
            except InfluxError as exc:
                self._wait_after(exc)
                continue
            except (OSError, sqlite3.Error) as exc:
                # A full or failing disk (state commit, quarantine): nothing was kept, so
                # waiting and trying the same batch again is all there is to do; exiting
                # would only turn into a restart loop that fails the same way.
                self._wait_after_disk(exc)
                continue
            if handled == 0:
                self.stop.wait(self.config.writer_poll_s)
            elif handled < self.config.writer_batch_events:
                # Let a few hundred milliseconds of events gather: InfluxDB spends far
                # less per point on one large write than on many small ones.
                self.stop.wait(self.config.writer_linger_s)
        self.state.close()

    def _wait_after(self, exc: InfluxError) -> None:
        delay = self.backoff.next()
        WRITE_ERRORS.labels("unavailable" if exc.retryable else "rejected").inc()
        log.warning("InfluxDB write failed (%s); retrying in %.1fs", exc, delay)
        self.stop.wait(delay)

    def _wait_after_disk(self, exc: OSError | sqlite3.Error) -> None:
        delay = self.backoff.next()
        WRITER_STORAGE_ERRORS.inc()
        log.error("writer cannot store its state (%s); retrying in %.1fs", exc, delay)
        self.stop.wait(delay)

    def _ensure_database(self) -> None:
        while not self.stop.is_set():
            try:
                self.influx.create_database()
                return
            except InfluxError as exc:
                self._wait_after(exc)

    def drain_once(self) -> int:
        """Read, map, write and commit one batch; the count of records consumed."""
        segments = list_segments(self.config.spool_dir)
        records = self._read(segments)
        if records:
            self._process(records)
        self._drop_drained(segments)
        self._prune_seen()
        return len(records)

    # -- reading ----------------------------------------------------------------------
    def _read(self, segments: Sequence[Segment]) -> list[Record]:
        """The next records in arrival order across every receiving process's segment.

        Each gunicorn worker appends to a segment of its own; after a backlog (InfluxDB
        down) they hold interleaved deliveries. Mapping depends on order (a room moved
        floor before its reading), so segments are merged by receive time, never read
        one after the other. Each segment still contributes a prefix, so its offset
        stays a single number.
        """
        limit = self.config.writer_batch_events
        runs: list[list[Record]] = []
        for segment in segments:
            # A segment damaged where we stand and not yet salvageable gives what comes
            # before the damage; the others keep flowing.
            records, _damaged = self._read_segment(segment, limit)
            runs.append(records)
        merged = heapq.merge(*runs, key=lambda record: record.received_ns)
        return list(itertools.islice(merged, limit))

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

    # -- mapping and writing ----------------------------------------------------------
    def _process(self, records: list[Record]) -> None:
        """Map, write and commit one batch; the state changes only if all of it is stored.

        The batch is mapped against a copy of the ingest state (registry, incident
        book). A failed write or commit raises with ``self.ingest`` untouched, so the
        retry maps the same events against the same state and yields the same points.
        """
        pending, undecodable = self._decode(records)
        fresh = self._fresh(pending)
        stateful = any(item.event.get("event") != SENSOR_EVENT for item in fresh)
        work = self.ingest.copy() if stateful else self.ingest
        rejected = self._map_all(fresh, work)
        if rejected:
            work, rejected = self._write_each(fresh)
        else:
            try:
                self._write_ops([op for item in fresh for op in _ops(item.batch)])
            except InfluxError as exc:
                if exc.retryable or exc.missing_database:
                    if exc.missing_database:
                        self.influx.create_database()
                    raise
                WRITE_ERRORS.labels("rejected").inc()
                log.warning("InfluxDB refused the batch (%s); writing events one by one", exc)
                work, rejected = self._write_each(fresh)
        self._commit(records, fresh, undecodable, rejected, work if stateful else None)

    def _commit(self, records: list[Record], fresh: list[Pending], undecodable: list[Rejection],
                rejected: list[Rejection], work: IngestState | None) -> None:
        """Quarantine what was refused, then commit offsets, digests and state in one go."""
        refused = {rejection.digest for rejection in rejected}
        # A quarantined event is not "seen": once fixed, its replay must not be skipped.
        stored = [item.digest for item in fresh if item.digest not in refused]
        offsets = {r.segment: r.end for r in records}
        kept: list[str] = []
        try:
            for rejection in (*undecodable, *rejected):
                kept.append(self._keep(rejection))
            self.state.commit(offsets=offsets, digests=stored, now_ns=self.clock(),
                              values=None if work is None else {STATE_KEY: work.to_json()})
        except BaseException:
            for item_id in kept:   # the retry quarantines them again, under the same ids
                self.quarantine.remove(item_id)
            raise
        if work is not None:
            self.ingest = work
        self.offsets.update(offsets)
        self.backoff.reset()
        WRITER_QUARANTINED.inc(len(rejected))
        EVENTS_WRITTEN.inc(len(fresh) - len(rejected))

    def _fresh(self, pending: list[Pending]) -> list[Pending]:
        seen = self.state.seen(item.digest for item in pending)
        fresh: list[Pending] = []
        batch_digests: set[bytes] = set()
        for item in pending:
            if item.digest in seen or item.digest in batch_digests:
                DUPLICATES_SKIPPED.inc()
                continue
            batch_digests.add(item.digest)
            fresh.append(item)
        return fresh

    def _map_all(self, items: list[Pending], state: IngestState) -> list[Rejection]:
        """Map in spool order; the first mapping bug sends the batch down the careful path."""
        for item in items:
            try:
                item.batch = self._map(item, state)
            except Exception as exc:
                log.exception("mapping failed")
                return [Rejection.of(item, "mapping_error", repr(exc))]
        return []

    def _map(self, item: Pending, state: IngestState) -> Batch:
        return map_event(item.event, item.record.received_ns,
                         int.from_bytes(item.digest[:8], "big"), state)

    def _decode(self, records: list[Record]) -> tuple[list[Pending], list[Rejection]]:
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

    def _write_each(self, items: list[Pending]) -> tuple[IngestState, list[Rejection]]:
        """Event by event from the committed state: a refused event leaves no trace in it.

        Mapping is deterministic, so the state is not copied for every event: when an
        event that may have changed it is refused, the state is rebuilt from the
        committed one by mapping again the events accepted before it. One copy per
        refusal (rare) instead of one per event (tens of milliseconds each for a large
        registry).
        """
        state = self.ingest.copy()
        accepted: list[Pending] = []
        rejected: list[Rejection] = []
        for item in items:
            rejection = self._try_one(item, state)
            if rejection is None:
                accepted.append(item)
                continue
            rejected.append(rejection)
            if item.event.get("event") != SENSOR_EVENT:   # readings never change the state
                state = self._replayed(accepted)
        return state, rejected

    def _try_one(self, item: Pending, state: IngestState) -> Rejection | None:
        """Map and write one event; why it goes to quarantine, or None once it is stored."""
        try:
            item.batch = self._map(item, state)
        except Exception as exc:   # a mapping bug must not lose the event
            log.exception("mapping failed")
            return Rejection.of(item, "mapping_error", repr(exc))
        try:
            self._write_ops(_ops(item.batch))
        except InfluxError as exc:
            if exc.retryable:
                raise
            return Rejection.of(item, "influx_rejected", str(exc))
        return None

    def _replayed(self, accepted: list[Pending]) -> IngestState:
        state = self.ingest.copy()
        for item in accepted:
            self._map(item, state)
        return state

    def _write_ops(self, ops: Sequence[Point | Delete]) -> None:
        run: list[Point] = []
        for op in ops:
            if isinstance(op, Point):
                run.append(op)
                continue
            self._write_points(run)
            run = []
            self._delete(op)
        self._write_points(run)

    def _write_points(self, points: list[Point]) -> None:
        if not points:
            return
        started = time.perf_counter()
        self.influx.write(self.encoder.encode(points))
        WRITE_LATENCY.observe(time.perf_counter() - started)
        counts: dict[str, int] = {}
        for point in points:
            counts[point.measurement] = counts.get(point.measurement, 0) + 1
        for measurement, count in counts.items():
            POINTS_WRITTEN.labels(measurement).inc(count)
        READINGS_WRITTEN.inc(counts.get(SENSOR, 0))

    def _delete(self, op: Delete) -> None:
        where = " AND ".join(f'"{key}" = {influxql_string(value)}'
                             for key, value in sorted(op.tags.items())
                             if key in ("room_id", "alert_type", "component"))
        self.influx.query(
            f'DELETE FROM "{op.measurement}" WHERE {where} '
            f"AND time >= {op.time_ns} AND time <= {op.time_ns}", write=True, epoch=None)

    def _keep(self, rejection: Rejection) -> str:
        record = rejection.record
        return self.quarantine.add(record.payload, event=rejection.event,
                                   reason=rejection.reason, errors=rejection.errors,
                                   received_ns=record.received_ns,
                                   key=f"{record.segment}:{record.offset}".encode())

    # -- housekeeping -----------------------------------------------------------------
    def _drop_drained(self, segments: Sequence[Segment]) -> None:
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

    def _prune_seen(self) -> None:
        now = time.monotonic()
        if now - self._last_prune > 300:
            self._last_prune = now
            self.state.forget_before(self.clock() - self.config.dedupe_window_s * 1_000_000_000)


def wait_for_usable_state(config: Config, stop: threading.Event, poll_s: float = 2.0) -> bool:
    """Hold the writer back while its database is damaged; True once it is usable.

    Starting over on an empty database would replay the whole spool against a
    forgotten incident book, so the writer waits, saying why (``/readyz`` and
    ``zrmon_state_file_errors`` say it too), until ``zrmon state restore`` puts the
    last good copy back. The receivers keep accepting into the spool meanwhile.
    Once the database is healthy it becomes the new last good copy, if the disk has
    room for one: a copy that cannot be made is a warning, never a reason to wait (a
    writer that stopped on a full disk must start again to drain the spool).
    """
    path = config.state_dir / STATE_FILENAME
    if not path.exists():
        WriterState(config.state_dir).close()     # a first start: the schema, then its copy
    warned = False
    while not stop.is_set():
        try:
            check_sqlite(path)
        except StateFileError as exc:
            if not warned:
                log.error("writer waiting: %s", exc)
                warned = True
            stop.wait(poll_s)
            continue
        try:
            backup_sqlite(path)
        except (OSError, sqlite3.Error, StateFileError) as exc:
            log.warning("no last good copy of %s this time: %s", path, exc)
        return True
    return False


def _ops(batch: Batch) -> list[Point | Delete]:
    # Deletes come from an incident whose start moved earlier; within one event they
    # remove the superseded row, so they go first.
    return [*batch.deletes, *batch.points]
