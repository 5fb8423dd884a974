"""Gap fill with real processes: a real ``zrmon serve`` (its writer runs the job), the fake
Zoom API and a real influxd. A hole in a room's readings while it was online is filled
from the fake; a hole during an offline incident is left alone; the metric counts both."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests
from support.events import Post, alert_event
from support.processes import Service, metric, wait_for
from support.store import count, drain

from monitor.core.config import Config
from monitor.store.influx import InfluxClient
from monitor.store.influxd import free_port
from monitor.store.retention import apply_setup
from monitor.store.writer import Writer
from monitor.zoom.fake import FakeZoom
from monitor.zoom.fake_fleet import FakeRoom, all_sensor_readings, iso
from monitor.zoom.gapfill import merge, subtract

STEP = 300
HOUR = 3600



def test_spans_are_merged_and_cut() -> None:
    assert merge([(5, 9), (1, 3), (2, 4)]) == [(1, 4), (5, 9)]
    assert subtract([(0, 100)], [(10, 20), (15, 30), (90, 120)]) == [(0, 10), (30, 90)]
    assert subtract([(0, 100)], [(-5, 200)]) == []
    assert subtract([(0, 100)], []) == [(0, 100)]


def _events(room: FakeRoom, account: str, moments: list[int]) -> list[dict[str, Any]]:
    readings = [r for at in moments for r in all_sensor_readings(room, at, at)]
    by_time: dict[str, list[dict[str, Any]]] = {}
    for item in readings:
        by_time.setdefault(item["date_time"], []).append(
            {k: item[k] for k in ("date_time", "sensor_type", "sensor_value")})
    return [{"event": "zoomroom.sensor_data", "event_ts": 1793527200000,
             "payload": {"account_id": account,
                         "object": {"id": room.id, "room_name": room.name,
                                    "device_id": room.sensor_device_id, "sensor_data": items}}}
            for items in by_time.values()]


def _readings(influx: InfluxClient, room: FakeRoom) -> int:
    return count(influx, f"SELECT count(\"value\") FROM \"sensor\" WHERE \"room_id\" = "
                         f"'{room.id}'")


@pytest.mark.slow
def test_the_service_fills_a_hole_while_online_and_leaves_an_offline_one_alone(
        config: Config, influx: InfluxClient, post: Post, sensor_fake: FakeZoom,
        tmp_path: Path) -> None:
    apply_setup(influx, config)
    end = (int(time.time()) - 60) // STEP * STEP
    start = end - 3 * HOUR
    hole = (start + HOUR, start + 2 * HOUR)         # readings stop after, resume at
    moments = [at for at in range(start, end + 1, STEP) if not hole[0] < at < hole[1]]
    online, offline = sensor_fake.fleet.rooms
    account = sensor_fake.fleet.account_id
    for room in (online, offline):
        for event in _events(room, account, moments):
            assert post(event).status_code == 200
    assert post(alert_event(1, iso(hole[0]), room=offline.id)).status_code == 200
    assert post(alert_event(2, iso(hole[1]), room=offline.id)).status_code == 200
    writer = Writer(config, influx)
    drain(writer)
    writer.state.close()
    full = len(range(start, end + 1, STEP)) * 9
    assert _readings(influx, online) == _readings(influx, offline) == len(moments) * 9 < full

    zoom = config.with_(zoom_account_id=account, zoom_client_id=sensor_fake.options.client_id,
                        zoom_client_secret=sensor_fake.options.client_secret,
                        zoom_api_url=sensor_fake.api_url, zoom_oauth_url=sensor_fake.oauth_url,
                        zoom_rate=10.0, zoom_gap_fill_interval="1s", zoom_gap_settle="0s",
                        zoom_gap_lookback="1d")
    service = Service(zoom, free_port(), free_port(), log=tmp_path / "serve.log").start()
    try:
        wait_for(lambda: _readings(influx, online) == full, 60, "the hole to be filled")

        def gaps(outcome: str) -> float | None:
            text = requests.get(f"http://127.0.0.1:{service.admin_port}/metrics",
                                timeout=5).text
            return metric(text, f'zrmon_zoom_gaps_total{{outcome="{outcome}"}}')

        wait_for(lambda: gaps("filled") == 1.0, 30, "the filled gap to be counted")
        assert gaps("found") == 1.0 and gaps("offline") == 1.0 and gaps("empty") is None
        assert _readings(influx, offline) == len(moments) * 9       # left alone
        asked = [r for r in sensor_fake.api_requests() if r.path.endswith("/sensor_data")]
        assert asked and all(r.path == f"/v2/rooms/{online.id}/sensor_data" for r in asked)
        assert asked[0].query["from"] == iso(hole[0] + 1)          # not the readings around it
        assert asked[0].query["to"] == iso(hole[1] - 1)
        wait_for(lambda: count(influx, f'SELECT sum("count") FROM "rollup"."sensor_5m" WHERE '
                                       f'"room_id" = \'{online.id}\' AND time >= {hole[0]}s '
                                       f'AND time < {hole[1]}s') == 12 * 9, 30,
                 "the rollups of the filled hole")
        seen = len(asked)
        state = zoom.state_dir / "zoom-gapfill.json"
        for _ in range(2):                      # two more looks: nothing asked again
            before = state.stat().st_mtime_ns
            wait_for(lambda before=before: state.stat().st_mtime_ns > before, 30,
                     "another gap-fill run")
        asked = [r for r in sensor_fake.api_requests() if r.path.endswith("/sensor_data")]
        assert len(asked) == seen
    finally:
        service.stop()
