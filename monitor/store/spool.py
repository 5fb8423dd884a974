"""The spool: an append-only, crash-safe log on local disk between receiver and writer.

Zoom gets its 200 once an event is here, not once it is in InfluxDB, so an
InfluxDB outage or a slow write never slows or fails a delivery. Each
receiving process appends to segment files of its own (no locks across
processes); the single writer process reads them in order and remembers how
far it got (the offsets live in its state database, committed together with
everything else it learned from the same records).

Record framing: ``<length u32><crc32 u32><received_ns i64><payload>``. One
``os.write`` per record, so a process killed mid-request leaves either the
whole record or nothing; with ``fsync`` on (the default) the record is also
on the disk platter before we answer, surviving power loss.
"""

from __future__ import annotations

import contextlib
import errno
import os
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from monitor.core.atomicfile import fsync_directory
from monitor.core.config import Config
from monitor.core.errors import RejectedError, ServiceError

HEADER = struct.Struct("<IIq")
_COMMIT_DELAY_S = 0.0003
_BUSY_WITHIN_S = 0.005
ACTIVE = ".seg"
SEALED = ".sealed"


class SpoolFullError(ServiceError):
    """The spool holds its configured maximum; the caller should answer 503."""


@dataclass(frozen=True)
class Record:
    segment: str          # segment stem, stable across sealing
    offset: int           # where the record starts
    end: int              # where the next record starts
    received_ns: int
    payload: bytes


def _segment_name(pid: int) -> str:
    return f"{time.time_ns():020d}-{pid}"


class SpoolAppender:
    """Appends records for the current process; safe across threads and fork."""

    def __init__(self, directory: Path, *, fsync: bool = True,
                 segment_bytes: int = 16 * 1024 * 1024, max_bytes: int = 1 << 30) -> None:
        self.directory = directory
        self.fsync = fsync
        self.segment_bytes = segment_bytes
        self.max_bytes = max_bytes
        self._lock = threading.Lock()        # guards the file and the counters
        self._sync_lock = threading.Lock()   # one fdatasync at a time (group commit)
        self._written = 0                    # records written (sequence number)
        self._last_flush = 0.0               # monotonic time the last flush ended
        self._synced = 0                     # records known to be on disk
        self._fd: int | None = None
        self._pid = 0
        self._stem = ""
        self._size = 0
        self._usage_checked = 0.0
        self._usage = 0

    def append(self, payload: bytes, received_ns: int | None = None) -> None:
        received_ns = time.time_ns() if received_ns is None else received_ns
        record = HEADER.pack(len(payload), zlib.crc32(payload), received_ns) + payload
        self._check_room(len(record))
        with self._lock:
            fd = self._segment_for_write()
            self._write_whole(fd, record)
            self._size += len(record)
            self._usage += len(record)
            self._written += 1
            sequence = self._written
        if self.fsync:
            self._sync(fd, sequence)

    def _write_whole(self, fd: int, record: bytes) -> None:
        """Write every byte of ``record`` or none of it (the caller holds ``_lock``).

        ``os.write`` may write less than asked (a disk filling up): the rest is
        written in further calls; if one fails (ENOSPC), the part already written is
        cut off again, so the segment never holds a torn record in front of the
        records that follow it. Should even that fail, the segment is given up: it
        ends in a torn tail the writer sets aside, and the next record starts a new one.
        """
        view = memoryview(record)
        written = 0
        try:
            while written < len(record):
                count = os.write(fd, view[written:])
                if count <= 0:
                    raise OSError(errno.ENOSPC, "no progress writing the spool")
                written += count
        except OSError:
            if written:
                try:
                    os.ftruncate(fd, self._size)
                except OSError:
                    self._abandon_locked()
            raise

    def _abandon_locked(self) -> None:
        """Stop appending to the current segment (its tail is damaged) without a flush."""
        if self._fd is None:
            return
        with self._sync_lock:
            os.close(self._fd)
        self._fd = None
        with contextlib.suppress(OSError):
            os.rename(self.directory / (self._stem + ACTIVE),
                      self.directory / (self._stem + SEALED))

    def _sync(self, fd: int, sequence: int) -> None:
        """Group commit: one fdatasync covers every record written before it started.

        Threads that queue behind a flush usually find their record already on disk
        and return at once, so the disk sees one flush per burst, not per request.
        """
        with self._sync_lock:
            if self._synced >= sequence:
                return
            if time.monotonic() - self._last_flush < _BUSY_WITHIN_S:
                # Under load (flushes back to back), wait a moment so the requests
                # being parsed right now join this flush; idle, flush at once.
                time.sleep(_COMMIT_DELAY_S)
            target = self._written
            os.fdatasync(fd)
            self._synced = target
            self._last_flush = time.monotonic()

    def _check_room(self, size: int) -> None:
        now = time.monotonic()
        if now - self._usage_checked > 0.25:
            self._usage = spool_bytes(self.directory)
            self._usage_checked = now
        if self._usage + size > self.max_bytes:
            raise SpoolFullError(f"spool holds {self._usage} bytes, limit {self.max_bytes}")

    def _segment_for_write(self) -> int:
        pid = os.getpid()
        if self._fd is not None and pid != self._pid:
            # Inherited across fork: the file belongs to the parent; start our own.
            self._fd = None
            self._sync_lock = threading.Lock()
            self._written = self._synced = 0
        if self._fd is not None and self._size >= self.segment_bytes:
            self._seal_locked()
        if self._fd is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._pid, self._stem, self._size = pid, _segment_name(pid), 0
            path = self.directory / (self._stem + ACTIVE)
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            if self.fsync:
                fsync_directory(self.directory)
        return self._fd

    def _seal_locked(self) -> None:
        if self._fd is None:
            return
        with self._sync_lock:  # never close a file another thread is flushing
            if self.fsync:
                os.fdatasync(self._fd)
            self._synced = self._written
            os.close(self._fd)
        self._fd = None
        with contextlib.suppress(FileNotFoundError):
            os.rename(self.directory / (self._stem + ACTIVE),
                      self.directory / (self._stem + SEALED))

    def close(self) -> None:
        """Seal the current segment so the writer may delete it once drained."""
        with self._lock:
            if self._pid == os.getpid():
                self._seal_locked()


def free_bytes(directory: Path) -> int:
    """Bytes an unprivileged process may still write on the spool's file system."""
    directory.mkdir(parents=True, exist_ok=True)
    stats = os.statvfs(directory)
    return stats.f_bavail * stats.f_frsize


def disk_problem(config: Config) -> str | None:
    """Why the data directory's disk is too full to be ready, or None.

    Checked by ``/readyz`` so a load balancer or orchestrator sees trouble coming
    while deliveries still succeed, instead of learning it from failed ones.
    """
    free = free_bytes(config.data_dir)
    if free < config.min_free_bytes:
        return (f"disk nearly full: {free} bytes free on {config.data_dir}, "
                f"below ZRMON_MIN_FREE_BYTES={config.min_free_bytes}")
    return None


def spool_bytes(directory: Path) -> int:
    total = 0
    with contextlib.suppress(FileNotFoundError), os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.endswith((ACTIVE, SEALED)):
                with contextlib.suppress(FileNotFoundError):
                    total += entry.stat().st_size
    return total


@dataclass(frozen=True)
class Segment:
    stem: str
    path: Path
    sealed: bool

    @property
    def pid(self) -> int:
        return int(self.stem.rsplit("-", 1)[1])


def list_segments(directory: Path) -> list[Segment]:
    """Oldest first: the stem starts with the creation time."""
    found: dict[str, Segment] = {}
    with contextlib.suppress(FileNotFoundError), os.scandir(directory) as entries:
        for entry in entries:
            for suffix, sealed in ((ACTIVE, False), (SEALED, True)):
                if entry.name.endswith(suffix):
                    stem = entry.name[: -len(suffix)]
                    if stem not in found or sealed:
                        found[stem] = Segment(stem, Path(entry.path), sealed)
    return [found[stem] for stem in sorted(found)]


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_records(segment: Segment, offset: int, limit: int) -> Iterator[Record]:
    """Complete records from ``offset``; stops quietly at a record still being written."""
    try:
        handle = segment.path.open("rb")
    except FileNotFoundError:
        # Sealed between listing and opening: same bytes under the other name.
        other = segment.path.with_suffix(SEALED)
        if not other.exists():
            return
        handle = other.open("rb")
    with handle:
        handle.seek(offset)
        count = 0
        while count < limit:
            header = handle.read(HEADER.size)
            if len(header) < HEADER.size:
                return
            length, crc, received_ns = HEADER.unpack(header)
            payload = handle.read(length)
            if len(payload) < length:
                return
            end = offset + HEADER.size + length
            if zlib.crc32(payload) != crc:
                raise CorruptRecordError(segment, offset)
            yield Record(segment.stem, offset, end, received_ns, payload)
            offset = end
            count += 1


class CorruptRecordError(RejectedError):
    """A record whose checksum does not match: the rest of the segment is unreadable."""

    def __init__(self, segment: Segment, offset: int) -> None:
        super().__init__(f"corrupt record in {segment.path} at offset {offset}")
        self.segment = segment
        self.offset = offset


def next_valid_record(data: bytes, start: int) -> int | None:
    """The first offset after ``start`` where a whole record with a good checksum begins.

    Lets the writer skip just the damaged bytes and keep reading the records after
    them; a false match needs a 1-in-2³² checksum coincidence.
    """
    for offset in range(start + 1, len(data) - HEADER.size + 1):
        length, crc, _received = HEADER.unpack_from(data, offset)
        end = offset + HEADER.size + length
        if length and end <= len(data) and zlib.crc32(data[offset + HEADER.size:end]) == crc:
            return offset
    return None


def finished(segment: Segment) -> bool:
    """No process will append to it again."""
    return segment.sealed or not process_alive(segment.pid)


@dataclass(frozen=True)
class SpoolStatus:
    depth: int
    bytes: int
    oldest_received_ns: int | None

    def oldest_age_s(self, now_ns: int | None = None) -> float:
        if self.oldest_received_ns is None:
            return 0.0
        now_ns = time.time_ns() if now_ns is None else now_ns
        return max(0.0, (now_ns - self.oldest_received_ns) / 1e9)


def spool_status(directory: Path, offsets: dict[str, int]) -> SpoolStatus:
    """Records not yet written to InfluxDB; reads headers only, seeking past payloads."""
    depth = 0
    size = 0
    oldest: int | None = None
    for segment in list_segments(directory):
        start = offsets.get(segment.stem, 0)
        count, pending_bytes, first = _count_from(segment.path, start)
        depth += count
        size += pending_bytes
        if first is not None and (oldest is None or first < oldest):
            oldest = first
    return SpoolStatus(depth, size, oldest)


def _count_from(path: Path, offset: int) -> tuple[int, int, int | None]:
    count = 0
    first: int | None = None
    start = offset
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return 0, 0, None
    with handle:
        file_size = os.fstat(handle.fileno()).st_size
        while offset + HEADER.size <= file_size:
            handle.seek(offset)
            length, _crc, received_ns = HEADER.unpack(handle.read(HEADER.size))
            if offset + HEADER.size + length > file_size:
                break
            first = received_ns if first is None else first
            offset += HEADER.size + length
            count += 1
    return count, offset - start, first
