"""The outbox as metrics and health checks see it: depth, oldest age, points not yet written.

Apart from the store (:mod:`monitor.notify.outbox`) because it is read from outside
the process that writes (the admin server's ``/metrics``): read-only, at scrape
time, and never an error for a scrape when the database is busy or down. With
PostgreSQL the gauges are those of the shared outbox, the same on every host.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from monitor.core.timeutil import NS_PER_S
from monitor.notify.outbox import FILENAME
from monitor.store.statedb import StateDBError, is_postgres_url

log = logging.getLogger("monitor.notify")


@dataclass(frozen=True)
class OutboxStatus:
    depth: int                        # pending notifications
    oldest_created_ns: int | None     # the oldest pending one's enqueue time
    points: int                       # rule_state point batches not yet in InfluxDB

    def oldest_age_s(self, now_ns: int) -> float:
        return 0.0 if self.oldest_created_ns is None else max(
            0.0, (now_ns - self.oldest_created_ns) / NS_PER_S)


_DEPTH = "SELECT COUNT(*), MIN(created_ns) FROM outbox WHERE status = 'pending'"
_POINTS = "SELECT COUNT(*) FROM influx_points"


def outbox_status(state_dir: Path, url: str = "") -> OutboxStatus:
    """Read-only, from any process: what the metrics and health checks report.

    The state database is PostgreSQL at ``url`` when it names one, else the
    state dir's SQLite file (absent: nothing yet).
    """
    if is_postgres_url(url):
        return _postgres_status(url)
    path = state_dir / FILENAME
    if not path.exists():
        return OutboxStatus(0, None, 0)
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=2.0)
    try:
        depth, oldest = db.execute(_DEPTH).fetchone()
        (points,) = db.execute(_POINTS).fetchone()
    finally:
        db.close()
    return OutboxStatus(int(depth), None if oldest is None else int(oldest), int(points))


def _postgres_status(url: str) -> OutboxStatus:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            row = conn.execute(_DEPTH).fetchone()
            points = conn.execute(_POINTS).fetchone()
    except psycopg.errors.UndefinedTable:        # no evaluator has started yet
        return OutboxStatus(0, None, 0)
    except psycopg.Error as exc:
        raise StateDBError(f"PostgreSQL: {exc}") from exc
    assert row is not None and points is not None
    depth, oldest = row
    return OutboxStatus(int(depth), None if oldest is None else int(oldest), int(points[0]))


class OutboxCollector(Collector):
    """Outbox gauges read from the database at scrape time (like the spool's), never stale."""

    def __init__(self, state_dir: Path, url: str = "") -> None:
        self.state_dir = state_dir
        self.url = url

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            status = outbox_status(self.state_dir, self.url)
        except (sqlite3.Error, StateDBError) as exc:   # a scrape must not fail on a busy DB
            log.warning("outbox metrics unavailable: %s", exc)
            return
        yield GaugeMetricFamily("zrmon_outbox_depth", "Notifications waiting to be delivered.",
                                value=status.depth)
        yield GaugeMetricFamily("zrmon_outbox_oldest_age_seconds",
                                "Age of the oldest notification waiting to be delivered.",
                                value=status.oldest_age_s(time.time_ns()))
        yield GaugeMetricFamily("zrmon_rule_points_pending",
                                "Batches of rule_state points committed but not yet in InfluxDB.",
                                value=status.points)
