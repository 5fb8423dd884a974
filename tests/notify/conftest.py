"""Fixtures for notification tests: real HTTP and SMTP servers on 127.0.0.1, a TLS cert.

The servers themselves are in :mod:`support.sinks`; this directory is a
package so its ``conftest`` never shadows ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.sinks import SmtpServers, StartSmtp, TlsFiles, make_tls_files


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
