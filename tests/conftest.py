"""Shared fixtures: a real influxd for the session, a fresh database per test.

No mock of InfluxDB anywhere: every test that stores something checks what
actually landed in a real server started here on a free loopback port.
Plain helpers (event builders, signing, sinks, process wrappers) live in the
``support`` package beside this file; only fixtures are defined here.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support.events import SECRET, Post, encode, signed_headers
from support.outboxes import OutboxPlace
from support.postgres import LocalPostgres
from support.sinks import HttpSink, start_http_sink

from monitor.core.config import Config
from monitor.runtime.app import create_app
from monitor.store.influx import InfluxClient
from monitor.store.influxd import LocalInfluxd
from monitor.store.writer import Writer

_db_names = itertools.count()


@pytest.fixture(scope="session")
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalInfluxd]:
    server = LocalInfluxd(tmp_path_factory.mktemp("influxd")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    server = LocalPostgres().start()
    yield server
    server.close()


@pytest.fixture
def state_url(postgres: LocalPostgres) -> str:
    """A fresh, empty PostgreSQL database of the session's server, for one test."""
    return postgres.create_database(f"state_{next(_db_names)}")


@pytest.fixture(params=["sqlite", "postgresql"])
def outbox_place(request: pytest.FixtureRequest, tmp_path: Path) -> OutboxPlace:
    """The evaluator's state on each backend: the state dir's SQLite file, then PostgreSQL."""
    url = "" if request.param == "sqlite" else request.getfixturevalue("state_url")
    return OutboxPlace(tmp_path / "state", url)


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
