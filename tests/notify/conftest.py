"""Fixtures for notification tests: real HTTP and SMTP servers on 127.0.0.1, a TLS cert.

Helpers live in :mod:`support` (imported relatively): a second module
named ``conftest`` on ``sys.path`` would shadow ``tests/conftest.py`` for
the other test directories, which import from it by name.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .support import SmtpServers, StartSmtp, TlsFiles, make_tls_files


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
