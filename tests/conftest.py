"""Shared fixtures: a real influxd for the session, a fresh database per test.

No mock of InfluxDB anywhere: every test that stores something checks what
actually landed in a real server started here on a free loopback port.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from notify.support import HttpSink, start_http_sink

from monitor.app import create_app
from monitor.config import Config
from monitor.store.influx import InfluxClient
from monitor.store.influxd import LocalInfluxd
from monitor.store.writer import Writer
from monitor.webhooks.signature import sign

SECRET = "test-secret-Ω"
_db_names = itertools.count()


@pytest.fixture(scope="session")
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalInfluxd]:
    server = LocalInfluxd(tmp_path_factory.mktemp("influxd")).start()
    yield server
    server.stop()


@pytest.fixture
def config(tmp_path: Path, influxd: LocalInfluxd) -> Config:
    return Config(secret_token=SECRET, influx_url=influxd.url,
                  influx_db=f"test_{next(_db_names)}_{int(time.time())}",
                  data_dir=tmp_path / "var", hash_salt="test-salt", writer_poll_s=0.02)


@pytest.fixture
def influx(config: Config) -> InfluxClient:
    client = InfluxClient(config)
    client.create_database()
    return client


@pytest.fixture
def app(config: Config) -> Flask:
    return create_app(config)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def signed_headers(body: bytes, *, secret: str = SECRET, timestamp: int | None = None,
                   retry: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    headers = {"x-zm-request-timestamp": ts, "x-zm-signature": sign(secret.encode(), ts, body),
               "Content-Type": "application/json"}
    if retry is not None:
        headers["x-zoom-retry-num"] = str(retry)
    return headers


def encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode("utf-8")


Post = Callable[..., Any]


@pytest.fixture
def post(client: FlaskClient) -> Post:
    """POST an event (dict or raw bytes) to the receiver, correctly signed."""

    def _post(event: dict[str, Any] | bytes, **kwargs: Any) -> Any:
        body = event if isinstance(event, bytes) else encode(event)
        return client.post("/webhooks/zoom", data=body, headers=signed_headers(body, **kwargs))

    return _post


@pytest.fixture
def http_sink() -> Iterator[HttpSink]:
    """A real HTTP server capturing every request; ``fail_next(n, status)`` fails some."""
    sink = start_http_sink()
    yield sink
    sink.close()


@pytest.fixture
def writer(config: Config, influx: InfluxClient) -> Iterator[Writer]:
    instance = Writer(config, influx)
    yield instance
    instance.state.close()


def drain(writer: Writer) -> int:
    """Run the writer until the spool is empty; how many records it consumed."""
    total = 0
    while handled := writer.drain_once():
        total += handled
    return total


def sensor_event(room: str = "room-1", *, readings: list[dict[str, Any]] | None = None,
                 when: str = "2026-11-01T10:00:00Z", event_ts: Any = 1793527200000,
                 room_name: str = "Everest", device: str = "dev-1") -> dict[str, Any]:
    if readings is None:
        readings = [
            {"date_time": when, "sensor_type": kind, "sensor_value": value}
            for kind, value in (("CO2", "812"), ("TEMPERATURE", "21.5"), ("HUMIDITY", "44"),
                                ("VOC", "120"), ("AQI", "35"), ("PM25", "7.5"), ("PM10", "12"),
                                ("AIR_PRESSURE", "1013.2"), ("REAL_TIME_PEOPLE_COUNT", "4"))
        ]
    return {"event": "zoomroom.sensor_data", "event_ts": event_ts,
            "payload": {"account_id": "acct-1",
                        "object": {"id": room, "room_name": room_name, "device_id": device,
                                   "sensor_data": readings}}}


def alert_event(kind: int, alert_time: Any, *, room: str = "room-1", alert_type: int = 3,
                component: int = 1, name: str = "zoomroom.alert",
                event_ts: Any = 1793527200000) -> dict[str, Any]:
    return {"event": name, "event_ts": event_ts,
            "payload": {"account_id": "acct-1",
                        "object": {"id": room, "room_name": "Everest", "calendar_name": "cal",
                                   "email": "everest@example.com", "issue": "Zoom room is offline",
                                   "alert_type": alert_type, "component": component,
                                   "alert_time": alert_time, "alert_kind": kind}}}


def count(influx: InfluxClient, query: str) -> int:
    series = influx.query(query)
    if not series or not series[0].values:
        return 0
    return int(series[0].values[0][1])
