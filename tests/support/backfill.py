"""Helpers for the backfill tests: its time range, a config for the fake, a run."""

from __future__ import annotations

import time
from typing import Any

from monitor.core.config import Config
from monitor.zoom.backfill import Backfill
from monitor.zoom.client import ZoomApi
from monitor.zoom.fake import FakeZoom
from monitor.zoom.fake_fleet import FakeRoom
from monitor.zoom.sensor_sink import Target

DAY = 86_400
T0 = (int(time.time()) // DAY - 3) * DAY          # three UTC days ago, midnight


def zoom_config(config: Config, fake: FakeZoom, **changes: Any) -> Config:
    values: dict[str, Any] = {"zoom_account_id": fake.fleet.account_id,
                              "zoom_client_id": fake.options.client_id,
                              "zoom_client_secret": fake.options.client_secret,
                              "zoom_api_url": fake.api_url, "zoom_oauth_url": fake.oauth_url,
                              "zoom_rate": 20.0, **changes}
    return config.with_(**values)


def sensor_requests(fake: FakeZoom) -> list[Any]:
    return [r for r in fake.api_requests() if r.path.endswith("/sensor_data")]


def run_backfill(config: Config, api: ZoomApi, start_s: int, end_s: int,
                 rooms: list[FakeRoom]) -> int:
    targets = [Target(room.id, room.room_id, room.name) for room in rooms]
    return Backfill(config, api, start_s, end_s).run(targets).readings
