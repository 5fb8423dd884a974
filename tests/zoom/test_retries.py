"""Retries against the fake: 500s now and then, 500s that never stop, dropped connections."""

from __future__ import annotations

import itertools
import socket
from collections.abc import Callable

import pytest
from support.zoom import make_api, statuses

from monitor.zoom.client import ZoomApi
from monitor.zoom.errors import ZoomUnavailableError
from monitor.zoom.fake import FakeZoom
from monitor.zoom.fake_faults import Scripted

ApiFor = Callable[..., ZoomApi]
ERROR = Scripted(500, {"code": 500, "message": "Internal Error"})


def test_occasional_500s_are_retried_and_nothing_is_lost(fake: FakeZoom,
                                                          api_for: ApiFor) -> None:
    fake.options.error_rate = 0.3
    api = api_for(page_size=4, max_attempts=8)
    for _ in range(5):
        assert len(api.rooms()) == 12
    errors = statuses(fake).count(500)
    assert errors >= 3
    assert api.stats.retries == errors
    assert statuses(fake).count(200) == 15


def test_500s_back_off_exponentially(fake: FakeZoom, api_for: ApiFor) -> None:
    fake.script(ERROR, ERROR, ERROR)
    api = api_for(backoff_s=0.2, backoff_max_s=5.0, max_attempts=5)
    assert api.location_structure()
    log = fake.api_requests()
    gaps = [later.wall - earlier.wall for earlier, later in itertools.pairwise(log)]
    # equal jitter: each wait is between half and all of 0.2, 0.4, 0.8 s
    for gap, ceiling in zip(gaps, (0.2, 0.4, 0.8), strict=True):
        assert ceiling / 2 <= gap
    assert statuses(fake) == [500, 500, 500, 200]


def test_500s_that_never_stop_give_up_after_the_attempts(fake: FakeZoom,
                                                         api_for: ApiFor) -> None:
    fake.script(*[ERROR] * 10)
    api = api_for(max_attempts=3)
    with pytest.raises(ZoomUnavailableError, match="failed 3 times, giving up; last: HTTP 500"):
        api.rooms()
    assert statuses(fake) == [500, 500, 500]


def test_a_dropped_connection_is_retried(fake: FakeZoom, api_for: ApiFor) -> None:
    fake.script(Scripted(0), Scripted(0))
    api = api_for()
    assert len(api.rooms()) == 12
    assert api.stats.retries == 2


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_an_unreachable_zoom_gives_up_with_one_line(fake: FakeZoom) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}"
    api = make_api(fake, max_attempts=2, api_url=dead + "/v2", oauth_url=dead + "/oauth/token")
    with pytest.raises(ZoomUnavailableError) as caught:
        api.location_structure()
    message = str(caught.value)
    assert "token request failed 2 times" in message and "network error" in message
    assert "\n" not in message
    assert fake.options.client_secret not in message


def test_a_stopped_fake_ends_kept_alive_connections_too(fake: FakeZoom) -> None:
    api = make_api(fake, max_attempts=2)
    api.location_structure()
    fake.stop()
    with pytest.raises(ZoomUnavailableError, match=r"failed 2 times.*network error"):
        api.location_structure()
    api.close()
