"""Fixtures for Zoom API tests: the fake Zoom API on a real loopback port.

Helpers live in :mod:`.support`; a second module named ``conftest`` on
``sys.path`` would shadow ``tests/conftest.py`` (hence the package).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support.zoom import make_api

from monitor.zoom.client import ZoomApi
from monitor.zoom.fake import FakeZoom
from monitor.zoom.fake_fleet import all_sensor_readings, demo_fleet


@pytest.fixture
def fake() -> Iterator[FakeZoom]:
    server = FakeZoom(demo_fleet(12)).start()
    yield server
    server.stop()


@pytest.fixture
def sensor_fake() -> Iterator[FakeZoom]:
    """Two rooms reporting all nine sensor types every 5 minutes, as a backfill reads them."""
    fleet = demo_fleet(2)
    fleet.readings = all_sensor_readings
    server = FakeZoom(fleet).start()
    yield server
    server.stop()


@pytest.fixture
def api_for(fake: FakeZoom) -> Iterator[Callable[..., ZoomApi]]:
    """``api_for(rate=…, …)``: a client of ``fake`` with these settings; closed afterwards."""
    made: list[ZoomApi] = []

    def _make(**settings: Any) -> ZoomApi:
        api = make_api(fake, **settings)
        made.append(api)
        return api

    yield _make
    for api in made:
        api.close()
