"""Benchmark the Zoom API client against the local fake: sensor history at the budget.

Serves ``--rooms`` rooms with nine sensor types every 5 minutes (what a Zoom
Rooms sensor reports) from the fake Zoom API, reads ``--days`` of history per
room with ``iter_sensor_data`` at ``--rate`` requests/s, and prints JSON:
requests per room-day, requests/s achieved, the busiest one-second window the
fake saw, and what a 100-room, 30-day backfill would take at that rate; then the
same history through ``monitor.zoom.backfill`` (intake, fsync'd spool, checkpoints).

    .venv/bin/python bench/zoom_api.py                  # CI size, ~10 s
    .venv/bin/python bench/zoom_api.py --rooms 10 --days 7
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

from monitor.core.config import Config
from monitor.store.influx import InfluxClient
from monitor.store.influxd import LocalInfluxd
from monitor.zoom.backfill import Backfill
from monitor.zoom.client import ZoomApi, ZoomSettings
from monitor.zoom.fake import FakeZoom
from monitor.zoom.fake_fleet import FakeFleet, FakeRoom, demo_fleet, iso
from monitor.zoom.sensor_sink import Target

KINDS = ("CO2", "TEMPERATURE", "HUMIDITY", "VOC", "AQI", "PM25", "PM10", "AIR_PRESSURE",
         "REAL_TIME_PEOPLE_COUNT")
STEP_S = 300
T0 = 1_790_000_000 // 86_400 * 86_400


def nine_sensors(room: FakeRoom, from_s: int, to_s: int) -> list[dict[str, Any]]:
    first = -(-from_s // STEP_S) * STEP_S
    return [{"date_time": iso(at), "device_id": room.sensor_device_id, "sensor_type": kind,
             "sensor_value": f"{(at // STEP_S) % 50 + 400}"}
            for at in range(first, to_s, STEP_S) for kind in KINDS]


def through_backfill(args: argparse.Namespace, fleet: FakeFleet, fake: FakeZoom) -> dict[str, Any]:
    """The same history through ``monitor.zoom.backfill`` (intake, fsync'd spool, a
    checkpoint per page) into a scratch data directory: what ``zrmon zoom backfill`` costs."""
    with tempfile.TemporaryDirectory() as scratch:
        # The backfill asks InfluxDB what it holds already (to add only what is missing):
        # a real, empty influxd of its own.
        influxd = LocalInfluxd(Path(scratch) / "influxd").start()
        config = Config(data_dir=Path(scratch) / "var", hash_salt="bench",
                        influx_url=influxd.url, zoom_account_id=fleet.account_id)
        InfluxClient(config).create_database()
        api = ZoomApi(ZoomSettings(fleet.account_id, fake.options.client_id,
                                   fake.options.client_secret, api_url=fake.api_url,
                                   oauth_url=fake.oauth_url, rate=args.rate))
        try:
            started = time.monotonic()
            result = Backfill(config, api, T0, T0 + args.days * 86_400).run(
                [Target(room.id, room.room_id, room.name) for room in fleet.rooms])
            elapsed = time.monotonic() - started
        finally:
            api.close()
            influxd.stop()
    requests = api.stats.requests
    room_days = args.rooms * args.days
    return {"backfill_requests_per_room_day": round(requests / room_days, 2),
            "backfill_readings": result.readings, "backfill_events": result.events,
            "backfill_elapsed_s": round(elapsed, 2),
            "backfill_room_days_per_hour": round(3600 * room_days / elapsed, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=3)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--rate", type=float, default=5.0, help="ZRMON_ZOOM_RATE")
    args = parser.parse_args()
    fleet = demo_fleet(args.rooms)
    fleet.readings = nine_sensors
    with FakeZoom(fleet) as fake:
        api = ZoomApi(ZoomSettings(fleet.account_id, fake.options.client_id,
                                   fake.options.client_secret, api_url=fake.api_url,
                                   oauth_url=fake.oauth_url, rate=args.rate))
        started = time.monotonic()
        readings = sum(1 for room in fleet.rooms
                       for _ in api.iter_sensor_data(room.id, iso(T0),
                                                     iso(T0 + args.days * 86_400)))
        elapsed = time.monotonic() - started
        api.close()
        requests = len(fake.api_requests())
        busiest = fake.max_per_second()
        backfill = through_backfill(args, fleet, fake)
    room_days = args.rooms * args.days
    per_room_day = requests / room_days
    print(json.dumps({
        "rooms": args.rooms, "days": args.days, "rate_budget_per_s": args.rate,
        "requests": requests, "readings": readings,
        "requests_per_room_day": round(per_room_day, 2),
        "elapsed_s": round(elapsed, 2), "requests_per_s": round(requests / elapsed, 2),
        "max_requests_in_any_1s": busiest,
        "room_days_per_hour_at_budget": round(3600 * args.rate / per_room_day, 1),
        "backfill_100_rooms_30_days_h": round(math.ceil(per_room_day * 3000) / args.rate
                                              / 3600, 2),
        **backfill,
    }))


if __name__ == "__main__":
    main()
