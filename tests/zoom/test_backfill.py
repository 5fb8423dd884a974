"""History backfill against the fake Zoom API, a real influxd and the real writer.

Readings that came by webhook and by REST land on the same points; a real
``zrmon zoom backfill`` killed with SIGKILL resumes where its checkpoint says, with
no page fetched twice but the one in flight; tokens expiring mid-run are renewed;
the fake never sees more requests per second than the budget; the dry run's figures.
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
from support.events import Post
from support.store import count, drain
from support.zoom import make_api, zoom_env

from monitor.cli import main
from monitor.core.config import Config
from monitor.store.influx import InfluxClient
from monitor.store.retention import apply_setup
from monitor.store.writer import Writer
from monitor.zoom.backfill import Backfill, Target, checkpoint_path
from monitor.zoom.client import ZoomApi
from monitor.zoom.fake import FakeRoom, FakeZoom, all_sensor_readings, demo_fleet, iso

DAY = 86_400
T0 = (int(time.time()) // DAY - 3) * DAY          # three UTC days ago, midnight
ZRMON = str(Path(sys.executable).parent / "zrmon")


@pytest.fixture
def fake() -> Iterator[FakeZoom]:
    fleet = demo_fleet(2)
    fleet.readings = all_sensor_readings
    server = FakeZoom(fleet).start()
    yield server
    server.stop()


def zoom_config(config: Config, fake: FakeZoom, **changes: Any) -> Config:
    values: dict[str, Any] = {"zoom_account_id": fake.fleet.account_id,
                              "zoom_client_id": fake.options.client_id,
                              "zoom_client_secret": fake.options.client_secret,
                              "zoom_api_url": fake.api_url, "zoom_oauth_url": fake.oauth_url,
                              "zoom_rate": 20.0, **changes}
    return config.with_(**values)


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


def sensor_requests(fake: FakeZoom) -> list[Any]:
    return [r for r in fake.api_requests() if r.path.endswith("/sensor_data")]


def points(influx: InfluxClient, room: str) -> list[tuple[Any, ...]]:
    series = influx.query(f"SELECT \"value\", \"people\" FROM \"sensor\" WHERE "
                          f"\"room_id\" = '{room}' GROUP BY *")
    return sorted((tuple(sorted(s.tags.items())), *row) for s in series for row in s.values)


def busiest(times: list[float]) -> int:
    """The most of ``times`` within any one second."""
    ordered = sorted(times)
    return max(sum(1 for t in ordered if start <= t < start + 1.0) for start in ordered)


def webhook_events(room: FakeRoom, account: str, start_s: int, end_s: int) -> list[dict[str, Any]]:
    """What Zoom delivers: one event per room and moment, all nine readings in it."""
    by_time: dict[str, list[dict[str, Any]]] = {}
    for item in all_sensor_readings(room, start_s, end_s - 1):
        by_time.setdefault(item["date_time"], []).append(
            {k: item[k] for k in ("date_time", "sensor_type", "sensor_value")})
    return [{"event": "zoomroom.sensor_data", "event_ts": int(time.time() * 1000),
             "payload": {"account_id": account,
                         "object": {"id": room.id, "room_name": room.name,
                                    "device_id": room.sensor_device_id, "sensor_data": readings}}}
            for readings in by_time.values()]


def run_backfill(config: Config, api: ZoomApi, start_s: int, end_s: int,
                 rooms: list[FakeRoom]) -> int:
    targets = [Target(room.id, room.room_id, room.name) for room in rooms]
    return Backfill(config, api, start_s, end_s).run(targets).readings


def test_webhook_and_rest_readings_land_on_the_same_points(
        config: Config, influx: InfluxClient, writer: Writer, post: Post,
        fake: FakeZoom) -> None:
    zconfig = zoom_config(config, fake)
    room, other = fake.fleet.rooms
    start, end = T0, T0 + 6 * 3600
    for event in webhook_events(room, fake.fleet.account_id, start, end):
        assert post(event).status_code == 200
    drain(writer)
    by_webhook = points(influx, room.id)
    assert len(by_webhook) == 72 * 9
    assert all(p[-1] is not None for p in by_webhook)        # every reading has "people"

    api = make_api(fake, rate=20.0)
    # Only what is missing is spooled: the webhooks' readings are there already.
    assert run_backfill(zconfig, api, start, end, [room, other]) == 72 * 9
    drain(writer)
    assert points(influx, room.id) == by_webhook             # same series, times, values
    rest_only = points(influx, other.id)
    assert len(rest_only) == 72 * 9 and all(p[-1] is not None for p in rest_only)
    assert [p[0] for p in rest_only[:1]] == [tuple(sorted(
        {"account_id": fake.fleet.account_id, "room_id": other.id, "room_name": other.name,
         "device_id": other.sensor_device_id, "sensor_type": "AIR_PRESSURE"}.items()))]
    series = influx.query(f"SHOW SERIES FROM \"sensor\" WHERE \"room_id\" = '{room.id}'")
    assert len(series[0].values) == 9                        # no second series with other tags

    checkpoint_path(zconfig.state_dir, start, end).unlink()  # forget it was done: again
    assert run_backfill(zconfig, api, start, end, [room, other]) == 0
    drain(writer)
    assert points(influx, room.id) == by_webhook
    assert points(influx, other.id) == rest_only
    assert fake.max_per_second() <= 20
    api.close()


def test_a_finished_backfill_is_not_fetched_again(config: Config, influx: InfluxClient,
                                                  writer: Writer, fake: FakeZoom) -> None:
    zconfig = zoom_config(config, fake)
    api = make_api(fake)
    run_backfill(zconfig, api, T0, T0 + 3600, fake.fleet.rooms)
    seen = len(sensor_requests(fake))
    assert seen == 2                                         # 108 readings: a page a room
    assert run_backfill(zconfig, api, T0, T0 + 3600, fake.fleet.rooms) == 0
    assert len(sensor_requests(fake)) == seen
    api.close()


def test_a_token_expiring_mid_backfill_is_renewed_and_the_backfill_goes_on(
        config: Config, influx: InfluxClient, writer: Writer, fake: FakeZoom) -> None:
    fake.options.token_lifetime_s = 0.6
    fake.options.expires_in = 3600                           # Zoom says an hour; it is not
    zconfig = zoom_config(config, fake)
    api = make_api(fake, rate=5.0)
    room = fake.fleet.rooms[0]
    assert run_backfill(zconfig, api, T0, T0 + DAY, [room]) == 288 * 9
    drain(writer)
    assert count(influx, f"SELECT count(\"value\") FROM \"sensor\" WHERE \"room_id\" = "
                         f"'{room.id}'") == 288 * 9
    statuses = [r.status for r in sensor_requests(fake)]
    assert statuses.count(401) >= 1 and statuses.count(200) == 9
    assert len(fake.token_requests()) >= 2
    assert fake.max_per_second() <= 5
    api.close()


def test_a_stale_page_token_restarts_only_its_window(config: Config, influx: InfluxClient,
                                                     writer: Writer, fake: FakeZoom) -> None:
    """Zoom's page tokens live 15 minutes: a window whose next page comes later (a long
    Retry-After, a pause) starts again from its first page; nothing is lost or doubled."""
    zconfig = zoom_config(config, fake)
    api = make_api(fake)
    room = fake.fleet.rooms[0]
    backfill = Backfill(zconfig, api, T0, T0 + DAY)
    pages = 0
    original = backfill.checkpoint.save

    def save(room_id: str, cursor: Any, positions: Any) -> None:
        nonlocal pages
        pages += 1
        if pages == 3:
            fake.expire_page_tokens()
        original(room_id, cursor, positions)

    backfill.checkpoint.save = save                          # type: ignore[method-assign]
    backfill.run([Target(room.id, room.room_id, room.name)])
    drain(writer)
    assert count(influx, f"SELECT count(\"value\") FROM \"sensor\" WHERE \"room_id\" = "
                         f"'{room.id}'") == 288 * 9
    statuses = [r.status for r in sensor_requests(fake)]
    assert statuses.count(400) == 1 and statuses.count(200) == 3 + 9
    api.close()


def _dry_run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
             env: dict[str, str], *args: str) -> tuple[int, dict[str, str], str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = main(["zoom", "backfill", "--from", iso(T0), "--to", iso(T0 + 2 * DAY),
                 "--dry-run", *args])
    out, err = capsys.readouterr()
    fields = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    return code, fields, err


def test_dry_run_prints_requests_and_the_time_the_budget_needs(
        fake: FakeZoom, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    env = zoom_env(fake, tmp_path, ZRMON_ZOOM_RATE="5")
    code, fields, _ = _dry_run(monkeypatch, capsys, env)
    assert code == 0
    per_day = math.ceil(2592 / 300)
    assert fields["rooms"] == "2" and fields["room-days"] == "4"
    assert fields["requests"] == str(1 + 4 * per_day)        # the listing + 9 per room-day
    assert fields["time at ZRMON_ZOOM_RATE=5/s"].endswith(f"({(1 + 4 * per_day) / 5:.0f} s)")
    assert "fits in today's remaining 29999" in fields["daily budget ZRMON_ZOOM_DAILY_BUDGET"
                                                       "=30000"]
    assert len(fake.api_requests()) == 1                     # only GET /rooms

    code, fields, _ = _dry_run(monkeypatch, capsys, {**env, "ZRMON_ZOOM_DAILY_BUDGET": "10"},
                               "--room", fake.fleet.rooms[0].id)
    assert code == 0 and fields["rooms"] == "1" and fields["requests"] == str(2 * per_day)
    assert fields["daily budget ZRMON_ZOOM_DAILY_BUDGET=10"].startswith(
        f"needs {1 + math.ceil((2 * per_day - 9) / 10)} UTC days (9 left today)")
    assert len(fake.api_requests()) == 1                     # named rooms: no request


def test_an_unknown_room_exits_2(fake: FakeZoom, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in zoom_env(fake, tmp_path).items():
        monkeypatch.setenv(name, value)
    code = main(["zoom", "backfill", "--from", iso(T0), "--to", iso(T0 + DAY),
                 "--room", "no-such-room"])
    assert code == 2
    assert "--room no-such-room: no such room" in capsys.readouterr().err


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
        config: Config, influx: InfluxClient, running_writer: threading.Event, fake: FakeZoom,
        tmp_path: Path) -> None:
    apply_setup(influx, config)
    log = tmp_path / "backfill.log"
    first = _start(config, fake, log)
    _wait(lambda: len(sensor_requests(fake)) >= 13 or first.poll() is not None, 60,
          "the backfill to be half-way")
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    before = len(sensor_requests(fake))
    assert before < 36, log.read_text()

    second = _start(config, fake, log)
    assert second.wait(timeout=120) == 0, log.read_text()
    pages_per_window = math.ceil(2592 / 300)
    fetched = sensor_requests(fake)
    assert len(fetched) <= 4 * pages_per_window + 1          # an uninterrupted run: 36
    twice = [key for key, n in Counter(
        (r.path, r.query.get("from"), r.query.get("to"), r.query.get("next_page_token", ""))
        for r in fetched).items() if n > 1]
    assert len(twice) <= 1                                   # only the page in flight
    assert {r.status for r in fetched} == {200}
    for room in fake.fleet.rooms:
        assert count(influx, f"SELECT count(\"value\") FROM \"sensor\" WHERE \"room_id\" = "
                             f"'{room.id}'") == 2 * 2592
    by_process: dict[str | None, list[float]] = {}
    for request in fake.api_requests():                      # each process has its own token
        by_process.setdefault(request.token, []).append(request.at)
    assert len(by_process) == 2
    # The budget is the data directory's, not a process's: across the kill and the
    # restart the fake never saw more than the rate in any second.
    assert fake.max_per_second() <= 8
    rollup = count(influx, 'SELECT sum("count") FROM "rollup"."sensor_1h"')
    assert rollup == 2 * 2 * 2592                            # rollups refreshed for the range
    assert "rollup points recomputed" in log.read_text()


def test_readings_stored_before_the_first_sync_get_no_second_series(
        config: Config, influx: InfluxClient, writer: Writer, post: Post,
        fake: FakeZoom) -> None:
    """Webhooks before the registry knew the room's place (no building/floor tags), then a
    sync, then a backfill of the same range: the count stays that of one copy."""
    from monitor.zoom.sync import Syncer

    zconfig = zoom_config(config, fake)
    room = fake.fleet.rooms[0]
    start, end = T0, T0 + 3 * 3600
    for event in webhook_events(room, fake.fleet.account_id, start, start + 3600):
        assert post(event).status_code == 200
    drain(writer)
    syncer = Syncer(zconfig, make_api(fake, rate=20.0))
    syncer.sync()
    syncer.close()
    drain(writer)
    api = make_api(fake, rate=20.0)
    run_backfill(zconfig, api, start, end, [room])
    drain(writer)
    total = count(influx, f"SELECT count(\"value\") FROM \"sensor\" WHERE "
                          f"\"room_id\" = '{room.id}'")
    assert total == 3 * 12 * 9                          # three hours, once each
    tagged = count(influx, f"SELECT count(\"value\") FROM \"sensor\" WHERE "
                           f"\"room_id\" = '{room.id}' AND \"building\" != ''")
    assert tagged == 2 * 12 * 9                         # what the backfill added, with tags
    api.close()
