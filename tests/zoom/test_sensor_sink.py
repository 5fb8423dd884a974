"""REST readings into the spool through the intake, against the fake Zoom API, a real
influxd and the real writer: readings that came by webhook and by REST land on the same
points, and what is stored already is not spooled again (no second series).
"""

from __future__ import annotations

import time
from typing import Any

from support.backfill import T0, run_backfill, zoom_config
from support.events import Post
from support.store import count, drain
from support.zoom import make_api

from monitor.core.config import Config
from monitor.store.influx import InfluxClient
from monitor.store.writer import Writer
from monitor.zoom.backfill_checkpoint import checkpoint_path
from monitor.zoom.fake import FakeZoom
from monitor.zoom.fake_fleet import FakeRoom, all_sensor_readings


def points(influx: InfluxClient, room: str) -> list[tuple[Any, ...]]:
    series = influx.query(f"SELECT \"value\", \"people\" FROM \"sensor\" WHERE "
                          f"\"room_id\" = '{room}' GROUP BY *")
    return sorted((tuple(sorted(s.tags.items())), *row) for s in series for row in s.values)


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


def test_webhook_and_rest_readings_land_on_the_same_points(
        config: Config, influx: InfluxClient, writer: Writer, post: Post,
        sensor_fake: FakeZoom) -> None:
    zconfig = zoom_config(config, sensor_fake)
    room, other = sensor_fake.fleet.rooms
    start, end = T0, T0 + 6 * 3600
    for event in webhook_events(room, sensor_fake.fleet.account_id, start, end):
        assert post(event).status_code == 200
    drain(writer)
    by_webhook = points(influx, room.id)
    assert len(by_webhook) == 72 * 9
    assert all(p[-1] is not None for p in by_webhook)        # every reading has "people"

    api = make_api(sensor_fake, rate=20.0)
    # Only what is missing is spooled: the webhooks' readings are there already.
    assert run_backfill(zconfig, api, start, end, [room, other]) == 72 * 9
    drain(writer)
    assert points(influx, room.id) == by_webhook             # same series, times, values
    rest_only = points(influx, other.id)
    assert len(rest_only) == 72 * 9 and all(p[-1] is not None for p in rest_only)
    assert [p[0] for p in rest_only[:1]] == [tuple(sorted(
        {"account_id": sensor_fake.fleet.account_id, "room_id": other.id, "room_name": other.name,
         "device_id": other.sensor_device_id, "sensor_type": "AIR_PRESSURE"}.items()))]
    series = influx.query(f"SHOW SERIES FROM \"sensor\" WHERE \"room_id\" = '{room.id}'")
    assert len(series[0].values) == 9                        # no second series with other tags

    checkpoint_path(zconfig.state_dir, start, end).unlink()  # forget it was done: again
    assert run_backfill(zconfig, api, start, end, [room, other]) == 0
    drain(writer)
    assert points(influx, room.id) == by_webhook
    assert points(influx, other.id) == rest_only
    assert sensor_fake.max_per_second() <= 20
    api.close()


def test_readings_stored_before_the_first_sync_get_no_second_series(
        config: Config, influx: InfluxClient, writer: Writer, post: Post,
        sensor_fake: FakeZoom) -> None:
    """Webhooks before the registry knew the room's place (no building/floor tags), then a
    sync, then a backfill of the same range: the count stays that of one copy."""
    from monitor.zoom.sync import Syncer

    zconfig = zoom_config(config, sensor_fake)
    room = sensor_fake.fleet.rooms[0]
    start, end = T0, T0 + 3 * 3600
    for event in webhook_events(room, sensor_fake.fleet.account_id, start, start + 3600):
        assert post(event).status_code == 200
    drain(writer)
    syncer = Syncer(zconfig, make_api(sensor_fake, rate=20.0))
    syncer.sync()
    syncer.close()
    drain(writer)
    api = make_api(sensor_fake, rate=20.0)
    run_backfill(zconfig, api, start, end, [room])
    drain(writer)
    total = count(influx, f"SELECT count(\"value\") FROM \"sensor\" WHERE "
                          f"\"room_id\" = '{room.id}'")
    assert total == 3 * 12 * 9                          # three hours, once each
    tagged = count(influx, f"SELECT count(\"value\") FROM \"sensor\" WHERE "
                           f"\"room_id\" = '{room.id}' AND \"building\" != ''")
    assert tagged == 2 * 12 * 9                         # what the backfill added, with tags
    api.close()
