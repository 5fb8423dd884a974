"""Fixtures for notification tests: real HTTP and SMTP servers on 127.0.0.1, a TLS cert,
an outbox on each state backend and senders to the HTTP server.

The servers themselves are in :mod:`support.sinks`; this directory is a
package so its ``conftest`` never shadows ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.outboxes import OutboxPlace
from support.sinks import HttpSink, SmtpServers, StartSmtp, TlsFiles, make_tls_files

from monitor.notify.channels.kind import Sender, build_senders
from monitor.notify.channels.webhook import WebhookChannel
from monitor.notify.outbox import Outbox


@pytest.fixture
def smtp_server() -> Iterator[StartSmtp]:
    """``smtp_server(**options)`` starts an aiosmtpd server and returns what it captures."""
    servers = SmtpServers()
    yield servers.start
    servers.stop_all()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    files = make_tls_files(tmp_path_factory.mktemp("tls"))
    if files is None:
        pytest.skip("neither the cryptography package nor the openssl command is available")
    return files


@pytest.fixture
def state_dir(outbox_place: OutboxPlace) -> Path:
    return outbox_place.state_dir


@pytest.fixture
def outbox(outbox_place: OutboxPlace) -> Iterator[Outbox]:
    """An outbox on each backend (``outbox_place``: SQLite, then PostgreSQL)."""
    box = outbox_place.open()
    yield box
    box.close()


@pytest.fixture
def senders(http_sink: HttpSink) -> dict[str, Sender]:
    return build_senders({"hook": WebhookChannel("hook", http_sink.url("/hook"))})
