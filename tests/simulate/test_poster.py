"""The poster against real HTTP servers: signatures, retries, refusals, stopping."""

from __future__ import annotations

import threading
import time

import pytest
from support.sinks import HttpSink, free_port

from monitor.simulate.poster import Poster, PostError, WrongSecretError, ready_url
from monitor.webhooks.signature import SignaturePolicy, verify

SECRET = "sim-secret-Ω"
EVENT = {"event": "zoomroom.checked_in", "event_ts": 1, "payload": {"account_id": "a",
                                                                     "object": {"id": "r"}}}


def _poster(url: str, **kwargs: float) -> Poster:
    return Poster(url, SECRET, threads=2, retry_for_s=kwargs.get("retry_for_s", 10.0))


def test_each_request_is_signed_like_zoom(http_sink: HttpSink) -> None:
    poster = _poster(http_sink.url())
    poster.post_many([EVENT] * 3)
    poster.close()
    policy = SignaturePolicy(SECRET.encode())
    for request in http_sink.wait_for(3):
        verify(policy, signature=request.headers["x-zm-signature"],
               timestamp=request.headers["x-zm-request-timestamp"], body=request.body,
               now_s=time.time())
        assert request.json() == EVENT
    assert poster.stats.posted == 3


def test_503_is_retried_with_zooms_retry_header_until_accepted(http_sink: HttpSink) -> None:
    http_sink.fail_next(2, 503)
    poster = _poster(http_sink.url())
    poster.post(EVENT)
    poster.close()
    requests = http_sink.wait_for(3)
    assert [r.headers.get("x-zoom-retry-num") for r in requests] == [None, "1", "2"]
    assert (poster.stats.posted, poster.stats.retries) == (1, 2)


def test_401_stops_at_once_and_names_the_secret(http_sink: HttpSink) -> None:
    http_sink.fail_next(1, 401, b'{"error":"unauthorized","message":"signature does not match"}')
    poster = _poster(http_sink.url())
    with pytest.raises(WrongSecretError, match=r"signature does not match.*secret"):
        poster.post(EVENT)
    poster.close()
    assert len(http_sink.requests) == 1


def test_a_wrong_url_is_an_error_and_a_refused_event_is_counted(http_sink: HttpSink) -> None:
    poster = _poster(http_sink.url())
    http_sink.fail_next(1, 404)
    with pytest.raises(PostError, match="/webhooks/zoom"):
        poster.post(EVENT)
    http_sink.fail_next(1, 422, b'{"error":"validation_failed"}')
    poster.post(EVENT)
    http_sink.fail_next(1, 200, b'{"status":"partially_accepted"}')
    poster.post(EVENT)
    poster.close()
    assert (poster.stats.posted, poster.stats.rejected) == (0, 2)


def test_an_unreachable_receiver_fails_after_the_retry_window() -> None:
    poster = _poster(f"http://127.0.0.1:{free_port()}/webhooks/zoom", retry_for_s=0.5)
    with pytest.raises(PostError, match="cannot connect"):
        poster.post(EVENT)
    poster.close()
    assert poster.stats.retries >= 1


def test_after_a_stop_nothing_more_is_sent(http_sink: HttpSink) -> None:
    stop = threading.Event()
    poster = Poster(http_sink.url(), SECRET, stop=stop)
    stop.set()
    poster.post_many([EVENT] * 5)
    poster.close()
    assert http_sink.requests == []


def test_ready_url_is_beside_the_webhook_url() -> None:
    assert ready_url("http://127.0.0.1:8080/webhooks/zoom") == "http://127.0.0.1:8080/readyz"
