"""The outbox's gauges, read from the database by any process."""

from __future__ import annotations

from pathlib import Path

from support.alerts import T0, room_notification

from monitor.notify.outbox import Outbox, seconds_to_ns
from monitor.notify.outbox_metrics import OutboxStatus, outbox_status


def test_status_reports_depth_age_and_points_without_a_writer(outbox: Outbox,
                                                               state_dir: Path) -> None:
    assert outbox_status(state_dir / "nowhere") == OutboxStatus(0, None, 0)
    outbox.commit([room_notification("room-1"), room_notification("room-2")], points=["x v=1 1"],
                  now=T0)
    status = outbox_status(outbox.path.parent)
    assert (status.depth, status.oldest_created_ns, status.points) == (2, seconds_to_ns(T0), 1)
    assert status.oldest_age_s(seconds_to_ns(T0 + 90)) == 90
