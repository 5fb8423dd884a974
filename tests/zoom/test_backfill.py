"""History backfill against the fake Zoom API, a real influxd and the real writer.

Tokens expiring mid-run are renewed and the fake never sees more requests per second
than the budget; a room ``GET /rooms`` does not know exits 2. What a page turns into is
in ``test_sensor_sink.py``, paging in ``test_sensor_windows.py``, resuming in
``test_backfill_checkpoint.py`` and the dry run in ``test_backfill_estimate.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.backfill import DAY, T0, run_backfill, sensor_requests, zoom_config
from support.store import count, drain
from support.zoom import make_api, zoom_env

from monitor.cli import main
from monitor.core.config import Config
from monitor.store.influx import InfluxClient
from monitor.store.writer import Writer
from monitor.zoom.fake import FakeZoom
from monitor.zoom.fake_fleet import iso


def test_a_token_expiring_mid_backfill_is_renewed_and_the_backfill_goes_on(
        config: Config, influx: InfluxClient, writer: Writer, sensor_fake: FakeZoom) -> None:
    sensor_fake.options.token_lifetime_s = 0.6
    sensor_fake.options.expires_in = 3600                           # Zoom says an hour; it is not
    zconfig = zoom_config(config, sensor_fake)
    api = make_api(sensor_fake, rate=5.0)
    room = sensor_fake.fleet.rooms[0]
    assert run_backfill(zconfig, api, T0, T0 + DAY, [room]) == 288 * 9
    drain(writer)
    assert count(influx, f"SELECT count(\"value\") FROM \"sensor\" WHERE \"room_id\" = "
                         f"'{room.id}'") == 288 * 9
    statuses = [r.status for r in sensor_requests(sensor_fake)]
    assert statuses.count(401) >= 1 and statuses.count(200) == 9
    assert len(sensor_fake.token_requests()) >= 2
    assert sensor_fake.max_per_second() <= 5
    api.close()


def test_an_unknown_room_exits_2(sensor_fake: FakeZoom, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in zoom_env(sensor_fake, tmp_path).items():
        monkeypatch.setenv(name, value)
    code = main(["zoom", "backfill", "--from", iso(T0), "--to", iso(T0 + DAY),
                 "--room", "no-such-room"])
    assert code == 2
    assert "--room no-such-room: no such room" in capsys.readouterr().err
