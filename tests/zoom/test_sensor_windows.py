"""A room's window page by page against the fake Zoom API, a real influxd and the real
writer: a page token gone stale mid-window restarts only that window, nothing lost or
doubled.
"""

from __future__ import annotations

from typing import Any

from support.backfill import DAY, T0, sensor_requests, zoom_config
from support.store import count, drain
from support.zoom import make_api

from monitor.core.config import Config
from monitor.store.influx import InfluxClient
from monitor.store.writer import Writer
from monitor.zoom.backfill import Backfill
from monitor.zoom.fake import FakeZoom
from monitor.zoom.sensor_sink import Target


def test_a_stale_page_token_restarts_only_its_window(config: Config, influx: InfluxClient,
                                                     writer: Writer, sensor_fake: FakeZoom) -> None:
    """Zoom's page tokens live 15 minutes: a window whose next page comes later (a long
    Retry-After, a pause) starts again from its first page; nothing is lost or doubled."""
    zconfig = zoom_config(config, sensor_fake)
    api = make_api(sensor_fake)
    room = sensor_fake.fleet.rooms[0]
    backfill = Backfill(zconfig, api, T0, T0 + DAY)
    pages = 0
    original = backfill.checkpoint.save

    def save(room_id: str, cursor: Any, positions: Any) -> None:
        nonlocal pages
        pages += 1
        if pages == 3:
            sensor_fake.expire_page_tokens()
        original(room_id, cursor, positions)

    backfill.checkpoint.save = save                          # type: ignore[method-assign]
    backfill.run([Target(room.id, room.room_id, room.name)])
    drain(writer)
    assert count(influx, f"SELECT count(\"value\") FROM \"sensor\" WHERE \"room_id\" = "
                         f"'{room.id}'") == 288 * 9
    statuses = [r.status for r in sensor_requests(sensor_fake)]
    assert statuses.count(400) == 1 and statuses.count(200) == 3 + 9
    api.close()
