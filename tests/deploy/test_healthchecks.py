"""The zrmon healthcheck commands, run for real against a local HTTP server.

Docker marks a container healthy when the command exits 0. The commands in
docker-compose.yml and the Dockerfile are executed here exactly as written (only
the port is pointed at a local server), so we know a 503 from /readyz, or nothing
listening, really makes them fail, and a 200 really makes them pass.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from support.deploy import dockerfile_healthcheck, healthcheck_test, probed_urls, services

pytestmark = pytest.mark.slow      # it starts processes


class _Readyz(BaseHTTPRequestHandler):
    status = 200
    paths: list[str] = []  # noqa: RUF012 (shared by design: the server records requests)

    def do_GET(self) -> None:
        type(self).paths.append(self.path)
        self.send_response(type(self).status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Readyz)
    _Readyz.paths = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


CHECKS = {
    "compose receiver": lambda: healthcheck_test(services()["receiver"]),
    "compose scheduler": lambda: healthcheck_test(services()["scheduler"]),
    "Dockerfile": dockerfile_healthcheck,
}


def _run(test: list[str], port: int) -> int:
    """Run a CMD healthcheck with its python as this interpreter and its port as ``port``."""
    assert test[0] == "CMD" and test[1] == "python", test
    ((host, original, _),) = probed_urls(test)
    argv = [sys.executable, *(part.replace(f"{host}:{original}", f"127.0.0.1:{port}")
                              for part in test[2:])]
    return subprocess.run(argv, capture_output=True, timeout=30, check=False).returncode


@pytest.mark.parametrize("which", sorted(CHECKS))
def test_check_passes_when_ready_and_fails_when_not(which: str,
                                                    server: ThreadingHTTPServer) -> None:
    test = CHECKS[which]()
    port = server.server_address[1]
    _Readyz.status = 200
    assert _run(test, port) == 0
    _Readyz.status = 503
    assert _run(test, port) != 0
    assert _Readyz.paths == ["/readyz", "/readyz"]


@pytest.mark.parametrize("which", sorted(CHECKS))
def test_check_fails_when_nothing_listens(which: str) -> None:
    probe = ThreadingHTTPServer(("127.0.0.1", 0), _Readyz)
    port = probe.server_address[1]
    probe.server_close()          # the port is free again: connection refused
    assert _run(CHECKS[which](), port) != 0
