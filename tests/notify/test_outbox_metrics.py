"""The outbox's gauges, read from the database by any process, on each backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.alerts import T0, room_notification
from support.outboxes import OutboxPlace
from support.sinks import free_port

from monitor.notify.outbox import Outbox, seconds_to_ns
from monitor.notify.outbox_metrics import OutboxCollector, OutboxStatus, outbox_status
from monitor.store.statedb import StateDBError


def test_status_reports_depth_age_and_points_without_a_writer(outbox: Outbox,
                                                               outbox_place: OutboxPlace,
                                                               state_dir: Path) -> None:
    assert outbox_status(state_dir / "nowhere") == OutboxStatus(0, None, 0)
    outbox.commit([room_notification("room-1"), room_notification("room-2")], points=["x v=1 1"],
                  now=T0)
    status = outbox_status(outbox_place.state_dir, outbox_place.url)
    assert (status.depth, status.oldest_created_ns, status.points) == (2, seconds_to_ns(T0), 1)
    assert status.oldest_age_s(seconds_to_ns(T0 + 90)) == 90


def test_a_postgresql_database_no_evaluator_used_yet_reports_nothing(state_url: str,
                                                                     tmp_path: Path) -> None:
    assert outbox_status(tmp_path, state_url) == OutboxStatus(0, None, 0)


def test_postgresql_down_is_no_failed_scrape(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/zrmon"
    with pytest.raises(StateDBError):
        outbox_status(tmp_path, url)
    assert list(OutboxCollector(tmp_path, url).collect()) == []
