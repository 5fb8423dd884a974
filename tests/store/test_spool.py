"""The spool's file format and crash behaviour, on a real directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from monitor.store.spool import (
    HEADER,
    CorruptRecordError,
    SpoolAppender,
    SpoolFullError,
    list_segments,
    read_records,
    spool_status,
)


def test_records_round_trip_in_order(tmp_path: Path) -> None:
    spool = SpoolAppender(tmp_path, fsync=True)
    for i in range(5):
        spool.append(f"event {i}".encode(), received_ns=1000 + i)
    [segment] = list_segments(tmp_path)
    records = list(read_records(segment, 0, 100))
    assert [r.payload for r in records] == [f"event {i}".encode() for i in range(5)]
    assert [r.received_ns for r in records] == [1000, 1001, 1002, 1003, 1004]
    assert next(iter(read_records(segment, records[2].end, 100))).payload == b"event 3"


def test_partial_record_at_the_tail_is_not_read_yet(tmp_path: Path) -> None:
    spool = SpoolAppender(tmp_path, fsync=False)
    spool.append(b"complete")
    [segment] = list_segments(tmp_path)
    with segment.path.open("ab") as handle:
        handle.write(HEADER.pack(100, 0, 1) + b"only part")
    assert [r.payload for r in read_records(segment, 0, 10)] == [b"complete"]


def test_corrupt_record_is_reported(tmp_path: Path) -> None:
    spool = SpoolAppender(tmp_path, fsync=False)
    spool.append(b"good")
    spool.append(b"will be damaged")
    [segment] = list_segments(tmp_path)
    data = bytearray(segment.path.read_bytes())
    data[-3] ^= 0xFF
    segment.path.write_bytes(bytes(data))
    with pytest.raises(CorruptRecordError):
        list(read_records(segment, 0, 10))


def test_rotation_and_sealing(tmp_path: Path) -> None:
    spool = SpoolAppender(tmp_path, fsync=False, segment_bytes=64)
    for _ in range(4):
        spool.append(b"x" * 60)
    spool.close()
    segments = list_segments(tmp_path)
    assert len(segments) == 4
    assert all(s.sealed for s in segments)
    assert spool_status(tmp_path, {}).depth == 4
    first = segments[0]
    assert spool_status(tmp_path, {first.stem: first.path.stat().st_size}).depth == 3


def test_bounded_spool_refuses_when_full(tmp_path: Path) -> None:
    spool = SpoolAppender(tmp_path, fsync=False, max_bytes=200)
    spool.append(b"x" * 100)
    with pytest.raises(SpoolFullError):
        spool.append(b"x" * 100)


def test_status_reports_oldest_age(tmp_path: Path) -> None:
    spool = SpoolAppender(tmp_path, fsync=False)
    spool.append(b"a", received_ns=5_000_000_000)
    spool.append(b"b", received_ns=7_000_000_000)
    status = spool_status(tmp_path, {})
    assert status.depth == 2
    assert status.oldest_age_s(now_ns=10_000_000_000) == 5.0


def test_segment_of_a_forked_child_is_its_own(tmp_path: Path) -> None:
    spool = SpoolAppender(tmp_path, fsync=False)
    spool.append(b"parent")
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        spool.append(b"child")
        os._exit(0)
    os.waitpid(pid, 0)
    assert len(list_segments(tmp_path)) == 2
