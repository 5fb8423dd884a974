"""What landed in InfluxDB, and how fast: a private influxd, the drain wait, the lag probe.

Each server gets a fresh ``influxd`` (:class:`monitor.store.influxd.LocalInfluxd`),
read through :class:`monitor.store.influx.InfluxClient`. After a load phase the
count of readings is polled until it stops growing; during it, the lag probe
sends one signed event every 100 ms and times "200 answered -> queryable".
"""

from __future__ import annotations

import http.client
import math
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest_events import (
    DB,
    READINGS,
    SECRET,
    WEBHOOK_PATH,
    finite,
    percentile,
    sensor_event,
)

from monitor.core.config import Config
from monitor.core.timeutil import NS_PER_S
from monitor.store.influx import InfluxClient, InfluxError
from monitor.store.influxd import LocalInfluxd
from monitor.webhooks.signature import sign

PROBE_ROOM = "lag-probe"
PACED_PROBE_ROOM = "lag-probe-paced"
PROBE_BASE_EPOCH = 1769904000    # 2026-02-01T00:00:00Z: one second per probe
PROBE_INTERVAL_S = 0.1
PROBE_POLL_S = 0.02
DRAIN_POLL_S = 0.2
DRAIN_LIMIT_S = 60.0
DRAIN_QUIET_S = 5.0              # no growth for this long (short of the acked count): done
DRAIN_QUIET_COMPLETE_S = 0.6     # no growth for this long once every ack landed: done


@contextmanager
def fresh_influxd(root: Path) -> Iterator[tuple[LocalInfluxd, InfluxClient]]:
    """A private influxd with the database created, and a client of it."""
    with LocalInfluxd(root) as influxd:
        influx = InfluxClient(Config(influx_url=influxd.url, influx_db=DB))
        influx.create_database()
        yield influxd, influx


def influx_count(influx: InfluxClient, where: str) -> int:
    series = influx.query(f'SELECT count("value") FROM "sensor" WHERE {where}', epoch="ns")
    rows = series[0].values if series else []
    return int(rows[0][1]) if rows else 0


def prefix_where(prefix: str) -> str:
    return f"room_id =~ /^{re.escape(prefix)}/"


@dataclass
class Drain:
    events: int
    readings: int
    last_growth: float   # time.monotonic() of the poll that first saw the final count


def wait_landed(influx: InfluxClient, where: str, expected_events: int) -> Drain:
    """Poll until the count stops growing; see DRAIN_* for what "stops" means."""
    start = time.monotonic()
    last, last_growth = -1, start
    while True:
        count = influx_count(influx, where)
        now = time.monotonic()
        if count != last:
            last, last_growth = count, now
        quiet = now - last_growth
        if (count // READINGS >= expected_events and quiet >= DRAIN_QUIET_COMPLETE_S) \
                or quiet >= DRAIN_QUIET_S or now - start >= DRAIN_LIMIT_S:
            return Drain(count // READINGS, count, last_growth)
        time.sleep(DRAIN_POLL_S)


class LagProbe:
    """Every 100 ms one distinct signed event; time from its 200 until all 9 readings query."""

    def __init__(self, server_port: int, influx: InfluxClient, room: str = PROBE_ROOM) -> None:
        self.server_port = server_port
        self.influx = influx
        self.room = room                          # one room per phase: distinct events
        self.pending: dict[int, float] = {}      # reading time (ns) -> monotonic time of the 200
        self.lags: list[float] = []
        self.sent = 0
        self.not_acked = 0
        self.poll_s: list[float] = []             # how long each InfluxDB poll took
        self.lock = threading.Lock()
        self.sending = threading.Event()
        self.polling = threading.Event()
        self.threads = [threading.Thread(target=self._send, daemon=True),
                        threading.Thread(target=self._poll, daemon=True)]

    def start(self) -> None:
        self.sending.set()
        self.polling.set()
        for thread in self.threads:
            thread.start()

    def stop_sending(self) -> None:
        self.sending.clear()
        self.threads[0].join(timeout=15)

    def finish(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not self.pending:
                    break
            time.sleep(PROBE_POLL_S)
        self.polling.clear()
        self.threads[1].join(timeout=15)

    def _send(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.server_port, timeout=10)
        start = time.monotonic()
        index = 0
        while self.sending.is_set():
            epoch_s = PROBE_BASE_EPOCH + index
            body = sensor_event(self.room, epoch_s)
            timestamp = str(int(time.time()))
            headers = {"Content-Type": "application/json", "x-zm-request-timestamp": timestamp,
                       "x-zm-signature": sign(SECRET.encode(), timestamp, body)}
            status = 0
            try:
                conn.request("POST", WEBHOOK_PATH, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.server_port, timeout=10)
            acked = time.monotonic()
            with self.lock:
                self.sent += 1
                if status == 200:
                    self.pending[epoch_s * NS_PER_S] = acked
                else:
                    self.not_acked += 1
            index += 1
            time.sleep(max(0.0, start + index * PROBE_INTERVAL_S - time.monotonic()))
        conn.close()

    def _poll(self) -> None:
        while self.polling.is_set():
            with self.lock:
                times = list(self.pending)
            if times:
                query = (f"SELECT count(\"value\") FROM \"sensor\" WHERE room_id='{self.room}' "
                         f"AND time >= {min(times)} AND time <= {max(times)} "
                         "GROUP BY time(1s) fill(none)")
                asked = time.monotonic()
                try:
                    series = self.influx.query(query, epoch="ns")
                    rows = series[0].values if series else []
                except (InfluxError, ValueError):
                    rows = []
                seen = time.monotonic()
                with self.lock:
                    self.poll_s.append(seen - asked)
                    for stamp, count in rows:
                        if count >= READINGS and stamp in self.pending:
                            self.lags.append(seen - self.pending.pop(stamp))
            time.sleep(PROBE_POLL_S)

    def report(self) -> dict[str, Any]:
        with self.lock:
            unresolved = len(self.pending)
            lags = list(self.lags)
        poll_p99 = percentile(self.poll_s, 99)
        # A probe that never became queryable has an infinite lag.
        with_lost = lags + [math.inf] * unresolved
        # JSON has no infinity: such a percentile is reported as null.
        return {"probes_sent": self.sent, "probes_not_acked": self.not_acked,
                "probes_landed": len(lags), "probes_unresolved": unresolved,
                "p50_lag_s": finite(percentile(with_lost, 50)),
                "p99_lag_s": finite(percentile(with_lost, 99)),
                "max_lag_s": finite(max(with_lost, default=None)),
                "probe_polls": len(self.poll_s),
                "probe_poll_p99_ms": None if poll_p99 is None else round(poll_p99 * 1000, 1)}
