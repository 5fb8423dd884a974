"""Resuming a backfill from its checkpoint, against the fake Zoom API, a real influxd and
the real writer: a finished range is not fetched again, and a real ``zrmon zoom
backfill`` killed with SIGKILL resumes where its checkpoint says, with no page fetched
twice but the one in flight, and the fake never sees more requests per second than the
budget across the restart.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.backfill import DAY, T0, run_backfill, sensor_requests, zoom_config
from support.store import count
from support.zoom import make_api, zoom_env

from monitor.core.config import Config
from monitor.store.influx import InfluxClient
from monitor.store.retention import apply_setup
from monitor.store.writer import Writer
from monitor.zoom.fake import FakeZoom
from monitor.zoom.fake_fleet import iso

ZRMON = str(Path(sys.executable).parent / "zrmon")


@pytest.fixture
def running_writer(config: Config, influx: InfluxClient) -> Iterator[threading.Event]:
    """The real writer draining the spool in a thread, as ``zrmon writer`` does (built in
    that thread: its SQLite state belongs to one thread)."""
    stop = threading.Event()
    thread = threading.Thread(target=lambda: Writer(config, influx, stop=stop).run(),
                              daemon=True)
    thread.start()
    yield stop
    stop.set()
    thread.join(timeout=10)


def test_a_finished_backfill_is_not_fetched_again(config: Config, influx: InfluxClient,
                                                  writer: Writer, sensor_fake: FakeZoom) -> None:
    zconfig = zoom_config(config, sensor_fake)
    api = make_api(sensor_fake)
    run_backfill(zconfig, api, T0, T0 + 3600, sensor_fake.fleet.rooms)
    seen = len(sensor_requests(sensor_fake))
    assert seen == 2                                         # 108 readings: a page a room
    assert run_backfill(zconfig, api, T0, T0 + 3600, sensor_fake.fleet.rooms) == 0
    assert len(sensor_requests(sensor_fake)) == seen
    api.close()


def _start(config: Config, fake: FakeZoom, log: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, **config.to_env(), **zoom_env(fake, config.data_dir,
                                                       ZRMON_ZOOM_RATE="8")}
    with log.open("ab") as handle:
        return subprocess.Popen([ZRMON, "zoom", "backfill", "--from", iso(T0), "--to",
                                 iso(T0 + 2 * DAY), *args], env=env, stdout=handle,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.mark.slow
def test_a_killed_backfill_resumes_without_losing_or_refetching_pages(
        config: Config, influx: InfluxClient, running_writer: threading.Event,
        sensor_fake: FakeZoom, tmp_path: Path) -> None:
    apply_setup(influx, config)
    log = tmp_path / "backfill.log"
    first = _start(config, sensor_fake, log)
    _wait(lambda: len(sensor_requests(sensor_fake)) >= 13 or first.poll() is not None, 60,
          "the backfill to be half-way")
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    before = len(sensor_requests(sensor_fake))
    assert before < 36, log.read_text()

    second = _start(config, sensor_fake, log)
    assert second.wait(timeout=120) == 0, log.read_text()
    pages_per_window = math.ceil(2592 / 300)
    fetched = sensor_requests(sensor_fake)
    assert len(fetched) <= 4 * pages_per_window + 1          # an uninterrupted run: 36
    twice = [key for key, n in Counter(
        (r.path, r.query.get("from"), r.query.get("to"), r.query.get("next_page_token", ""))
        for r in fetched).items() if n > 1]
    assert len(twice) <= 1                                   # only the page in flight
    assert {r.status for r in fetched} == {200}
    for room in sensor_fake.fleet.rooms:
        assert count(influx, f"SELECT count(\"value\") FROM \"sensor\" WHERE \"room_id\" = "
                             f"'{room.id}'") == 2 * 2592
    by_process: dict[str | None, list[float]] = {}
    for request in sensor_fake.api_requests():                      # each process has its own token
        by_process.setdefault(request.token, []).append(request.at)
    assert len(by_process) == 2
    # The budget is the data directory's, not a process's: across the kill and the
    # restart the fake never saw more than the rate in any second.
    assert sensor_fake.max_per_second() <= 8
    rollup = count(influx, 'SELECT sum("count") FROM "rollup"."sensor_1h"')
    assert rollup == 2 * 2 * 2592                            # rollups refreshed for the range
    assert "rollup points recomputed" in log.read_text()
