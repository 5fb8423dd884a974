"""The atomic batch commit: state survives a restart, a crash before the commit replays cleanly."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

import pytest
from support.events import alert_event, sensor_event
from support.store import count, drain, readings

from monitor.core.config import Config
from monitor.store.influx import InfluxClient
from monitor.store.state import StateBatch, WriterState
from monitor.store.writer import Writer


def test_state_survives_a_writer_restart(post, config: Config, influx: InfluxClient) -> None:
    first = Writer(config, influx)
    post({"event": "zoomroom.location_created", "event_ts": 1, "payload": {
        "account_id": "a", "operator": "o", "operator_id": "o",
        "object": {"id": "b1", "name": "HQ", "type": "building", "parent_location_id": ""}}})
    post({"event": "zoomroom.updated", "event_ts": 2, "payload": {
        "account_id": "a", "object": {"id": "room-1", "room_name": "Everest",
                                      "location_id": "b1"}}})
    post(alert_event(1, 1_793_527_200))
    drain(first)
    first.state.close()
    second = Writer(config, influx)
    post(sensor_event())
    post(alert_event(2, 1_793_527_260))
    drain(second)
    second.state.close()
    [series] = influx.query('SELECT count("value") FROM "sensor" GROUP BY "building"')
    assert series.tags == {"building": "HQ"}
    [incident] = influx.query('SELECT "duration_s" FROM "room_incident"')
    assert incident.values[0][1] == 60.0


def test_crash_before_commit_replays_without_duplicates(post, config: Config,
                                                         influx: InfluxClient,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    post(sensor_event())
    post(alert_event(1, 1_793_527_200))
    crashing = Writer(config, influx)

    def crash(*_: object, **__: object) -> None:
        raise SystemExit("killed between the InfluxDB write and the commit")

    monkeypatch.setattr(StateBatch, "commit", crash)
    with pytest.raises(SystemExit):
        crashing.drain_once()
    crashing.state.close()
    monkeypatch.undo()
    assert readings(influx) == 9  # written, not committed
    again = Writer(config, influx)
    assert drain(again) == 2
    again.state.close()
    assert readings(influx) == 9
    assert count(influx, 'SELECT count("start_ms") FROM "room_incident"') == 1


def test_a_commit_that_fails_at_the_end_leaves_the_batch_to_the_retry(
        post, config: Config, influx: InfluxClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Everything was recorded in the transaction, then COMMIT failed (a full disk): the
    writer must not move past the batch, or the events would wait for a restart."""
    post(alert_event(1, 1_793_527_200))
    writer = Writer(config, influx)
    real = WriterState.batch

    @contextlib.contextmanager
    def failing_commit(self: WriterState) -> Iterator[StateBatch]:
        with real(self) as batch:
            yield batch
            raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(WriterState, "batch", failing_commit)
    with pytest.raises(sqlite3.OperationalError):
        writer.drain_once()
    monkeypatch.undo()
    assert drain(writer) == 1                       # the same batch, again, in this process
    writer.state.close()
    assert count(influx, 'SELECT count("start_ms") FROM "room_incident"') == 1
