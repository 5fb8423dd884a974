"""Fixtures for simulator tests: the real receiver app on a real loopback HTTP port.

Helpers live in :mod:`.support`; a second module named ``conftest`` on
``sys.path`` would shadow ``tests/conftest.py`` (hence the package).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from monitor.core.config import Config
from monitor.runtime.adminserver import start_admin_server
from monitor.runtime.app import create_app


@pytest.fixture
def receiver_url(config: Config) -> Iterator[str]:
    """``POST /webhooks/zoom`` of ``create_app(config)`` over HTTP; the spool is ``config``'s."""
    server = start_admin_server(create_app(config), "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.server_port}/webhooks/zoom"
    server.shutdown()
    server.server_close()
