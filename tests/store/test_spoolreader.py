"""Reading the spool: damaged bytes are set aside and the records around them still land."""

from __future__ import annotations

from pathlib import Path

from support.events import sensor_event
from support.store import count, drain, readings

from monitor.core.config import Config
from monitor.store.influx import InfluxClient
from monitor.store.quarantine import Quarantine
from monitor.store.spool import spool_status
from monitor.store.state import read_offsets
from monitor.store.writer import Writer


def _spool_three(post) -> None:
    for minute in range(3):
        assert post(sensor_event(when=f"2026-11-01T10:0{minute}:00Z")).status_code == 200


def _sealed_segment(config: Config) -> Path:
    from monitor.store.spool import list_segments

    [segment] = list_segments(config.spool_dir)
    sealed = segment.path.with_suffix(".sealed")
    segment.path.rename(sealed)  # as the worker does when it exits
    return sealed


def test_a_corrupt_record_is_set_aside_and_the_rest_still_lands(post, writer: Writer,
                                                                 influx: InfluxClient) -> None:
    _spool_three(post)
    path = _sealed_segment(writer.config)
    data = bytearray(path.read_bytes())
    second = len(data) // 3 + len(data) // 6  # inside the second record's payload
    data[second] ^= 0xFF
    path.write_bytes(bytes(data))
    drain(writer)
    assert readings(influx) == 18  # the first and the third event: only the damage is lost
    [item] = Quarantine(writer.config.quarantine_dir).items()
    assert item.reason == "corrupt_spool"
    assert spool_status(writer.config.spool_dir, read_offsets(writer.config)).depth == 0
    assert not path.exists()


def test_a_torn_tail_from_a_power_loss_is_set_aside(post, writer: Writer,
                                                    influx: InfluxClient) -> None:
    from monitor.store.spool import HEADER

    _spool_three(post)
    path = _sealed_segment(writer.config)
    with path.open("ab") as handle:
        handle.write(HEADER.pack(500, 0, 1) + b'{"event": "zoomroom.sen')
    drain(writer)
    assert readings(influx) == 27
    [item] = Quarantine(writer.config.quarantine_dir).items()
    assert item.reason == "corrupt_spool"
    assert not path.exists()


def test_a_torn_record_inside_a_live_segment_is_skipped(post, writer: Writer,
                                                        influx: InfluxClient) -> None:
    """A short write left half a record with whole ones after it: no stall."""
    from monitor.store.spool import list_segments

    post(sensor_event(room="room-torn"))
    [spooled] = list_segments(writer.config.spool_dir)
    whole = spooled.path.read_bytes()               # one record as the receiver framed it
    live = writer.config.spool_dir / f"{1:020d}-1.seg"   # pid 1 is alive: a live segment
    live.write_bytes(whole[: len(whole) // 2] + whole)
    post(sensor_event(when="2026-11-01T10:05:00Z"))  # another segment keeps flowing
    drain(writer)
    assert count(influx, "SELECT count(\"value\") FROM \"sensor\" "
                         "WHERE room_id = 'room-torn'") == 9
    assert readings(influx) == 18
    [item] = Quarantine(writer.config.quarantine_dir).items()
    assert item.reason == "corrupt_spool"
    # Read to its end past the damage, although pid 1 may still append to it.
    assert read_offsets(writer.config)[live.stem] == live.stat().st_size
