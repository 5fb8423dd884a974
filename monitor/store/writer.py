"""Drains the spool into InfluxDB: batches, retries with back-off, never drops data.

One writer process per deployment reads the segments every receiver process
appends to (:mod:`monitor.store.spoolreader`), maps events to points (pure,
:mod:`monitor.ingest.mapping`, via :mod:`monitor.store.pending`), writes them in
large batches (:mod:`monitor.store.pointwriter`) and then commits offsets and
state together (:mod:`monitor.store.commit`). InfluxDB down for minutes means
the spool grows and the writer keeps retrying; a point InfluxDB refuses outright
(4xx) moves its event to quarantine (:mod:`monitor.store.careful`) instead of
blocking everything behind it. This module holds the loop around those steps and
the gate that holds the writer back while its state file is damaged.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from monitor.core.atomicfile import StateFileError, backup_sqlite, check_sqlite
from monitor.core.config import Config
from monitor.core.metrics import WRITE_ERRORS, WRITER_STORAGE_ERRORS
from monitor.datamodel.measurements import SENSOR_EVENT
from monitor.ingest.mapping import IngestState
from monitor.store.careful import write_each
from monitor.store.commit import STATE_KEY, Recorded, commit_batch
from monitor.store.influx import InfluxClient, InfluxError
from monitor.store.pending import Pending, Rejection, decode, fresh, map_all
from monitor.store.pointwriter import PointWriter, ops
from monitor.store.quarantine import Quarantine
from monitor.store.quarantine_index import sync_index
from monitor.store.spool import Record, list_segments
from monitor.store.spoolreader import SpoolReader
from monitor.store.state import FILENAME as STATE_FILENAME
from monitor.store.state import StateBatch, WriterState
from monitor.store.statedb import StateDBError, is_postgres_url

log = logging.getLogger(__name__)
QUARANTINE_INDEX_S = 5.0      # how often a replica lists its quarantine in the shared state


class Backoff:
    def __init__(self, first: float = 0.2, cap: float = 30.0) -> None:
        self.first, self.cap, self.delay = first, cap, first

    def next(self) -> float:
        delay, self.delay = self.delay, min(self.cap, self.delay * 2)
        return delay

    def reset(self) -> None:
        self.delay = self.first


@dataclass(frozen=True)
class Applied:
    """One batch as recorded in its transaction: what becomes true once it commits."""

    recorded: Recorded
    work: IngestState | None       # the new ingest state; None when the batch left it as it was


class Writer:
    def __init__(self, config: Config, influx: InfluxClient | None = None,
                 stop: threading.Event | None = None,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self.config = config
        self.influx = influx or InfluxClient(config, timeout=config.writer_timeout_s)
        self.stop = stop or threading.Event()
        self.clock = clock
        self.state = WriterState.open(config, clock())
        self.ingest = IngestState()
        self.ingest_version = -1          # what ``self.ingest`` was read at; -1: not yet
        self.quarantine = Quarantine(config.quarantine_dir)
        self.reader = SpoolReader(self.state, self.quarantine, clock)
        self.points = PointWriter(self.influx)
        self.backoff = Backoff()
        self._last_prune = 0.0
        self._last_index = 0.0

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
            except (OSError, sqlite3.Error, StateDBError) as exc:
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

    def _wait_after_disk(self, exc: OSError | sqlite3.Error | StateDBError) -> None:
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
        records = self.reader.read(segments, self.config.writer_batch_events)
        if records:
            self._process(records)
        self.reader.drop_drained(segments)
        self._prune_seen()
        self._index_quarantine()
        return len(records)

    # -- one batch --------------------------------------------------------------------
    def _process(self, records: list[Record]) -> None:
        """Map, write and commit one batch; the state changes only if all of it is stored.

        The batch is mapped against a copy of the ingest state (registry, incident
        book). A failed write or commit raises with ``self.ingest`` untouched, so the
        retry maps the same events against the same state and yields the same points.
        """
        pending, undecodable = decode(records)
        applied: Applied | None = None
        try:
            with self.state.batch() as batch:
                self._refresh(batch)
                applied = self._apply(batch, records, pending, undecodable)
        except BaseException:
            if applied is not None:        # recorded, but the transaction did not commit
                applied.recorded.undo(self.quarantine)
            raise
        applied.recorded.committed()
        if applied.work is not None:
            self.ingest = applied.work
            self.ingest_version += 1
        self.reader.advance(applied.recorded.offsets)
        self.backoff.reset()

    def _refresh(self, batch: StateBatch) -> None:
        """The ingest state as the last commit left it (another replica's, with PostgreSQL)."""
        version = batch.version(STATE_KEY)
        if version != self.ingest_version:
            self.ingest = IngestState.from_json(batch.load(STATE_KEY))
            self.ingest_version = version

    def _apply(self, batch: StateBatch, records: list[Record], pending: list[Pending],
               undecodable: list[Rejection]) -> Applied:
        """Write the batch's points and record it in ``batch``; nothing changes here until
        the caller's transaction commits."""
        new = fresh(pending, batch)
        stateful = any(item.event.get("event") != SENSOR_EVENT for item in new)
        work = self.ingest.copy() if stateful else self.ingest
        rejected = map_all(new, work)
        if rejected:
            work, rejected = write_each(new, self.ingest, self.points)
        else:
            try:
                self.points.write([op for item in new for op in ops(item.batch)])
            except InfluxError as exc:
                if exc.retryable or exc.missing_database:
                    if exc.missing_database:
                        self.influx.create_database()
                    raise
                WRITE_ERRORS.labels("rejected").inc()
                log.warning("InfluxDB refused the batch (%s); writing events one by one", exc)
                work, rejected = write_each(new, self.ingest, self.points)
        recorded = commit_batch(batch, self.quarantine, self.clock(), records=records,
                                fresh=new, undecodable=undecodable, rejected=rejected,
                                work=work if stateful else None)
        return Applied(recorded, work if stateful else None)

    # -- housekeeping -----------------------------------------------------------------
    def _index_quarantine(self) -> None:
        """With shared state, keep this replica's quarantine listed for every host."""
        now = time.monotonic()
        if self.state.replica and now - self._last_index >= QUARANTINE_INDEX_S:
            self._last_index = now
            sync_index(self.quarantine, self.state.db, self.state.replica)

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
    if is_postgres_url(config.state_url):
        return _wait_for_postgres(config, stop, poll_s)
    path = config.state_dir / STATE_FILENAME
    if not path.exists():
        WriterState.open(config).close()     # a first start: the schema, then its copy
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


def _wait_for_postgres(config: Config, stop: threading.Event, poll_s: float) -> bool:
    """Hold the writer back until the shared state answers and its schema is current.

    PostgreSQL keeps its own copies (WAL, replicas, backups): no last good copy here.
    """
    warned = False
    while not stop.is_set():
        try:
            WriterState.open(config, time.time_ns()).close()
            return True
        except StateDBError as exc:
            if not warned:
                log.error("writer waiting for the shared state: %s", exc)
                warned = True
            stop.wait(poll_s)
    return False
