"""A local fake of the Zoom Rooms REST API, written from ``rooms-rest-subset.openapi.json``.

A real HTTP server on a loopback port (threaded, keep-alive), for the tests
and for ``zrmon simulate``: the OAuth token endpoint
(``POST /oauth/token``, Server-to-Server OAuth with HTTP Basic auth) and
the ``/v2/rooms…`` endpoints, served from an in-memory fleet. It behaves
the way Zoom does where a client can go wrong:

- tokens expire (``token_lifetime_s``, which may differ from the advertised
  ``expires_in``); an expired or unknown token gets 401 code 124;
- ``next_page_token`` tokens expire (``page_token_ttl_s``); a stale one gets
  400 code 300 "The next page token is invalid or expired.";
- over ``qps_limit`` requests in a second: 429, with or without
  ``X-RateLimit-*`` and ``Retry-After`` headers; past ``daily_limit``: 429
  ``X-RateLimit-Type: Daily-limit`` with ``Retry-After`` at the next UTC
  midnight; a 500 with probability ``error_rate`` (seeded, repeatable);
- :meth:`FakeZoom.script` queues exact answers for the next requests.

Every request is recorded (:attr:`FakeZoom.requests`) so tests can assert
what the server actually saw, e.g. requests per second.

This module is the server: its lifecycle, test controls, request log and dispatch. What
the account holds is :mod:`monitor.zoom.fake_fleet`, the token endpoint
:mod:`monitor.zoom.fake_auth`, the misbehaviour :mod:`monitor.zoom.fake_faults` and the
``/v2`` endpoints :mod:`monitor.zoom.fake_routes`.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from monitor.zoom.fake_auth import FakeTokens, bearer
from monitor.zoom.fake_faults import Answer, FakeOptions, Faults, Scripted
from monitor.zoom.fake_fleet import FakeFleet, demo_fleet
from monitor.zoom.fake_routes import FakeRoutes


@dataclass(frozen=True)
class Recorded:
    at: float                 # time.monotonic() when the request arrived
    wall: float               # time.time() then
    method: str
    path: str
    query: dict[str, str]
    token: str | None         # the bearer token it carried
    status: int


class FakeZoom:
    """The fake API on ``127.0.0.1:<free port>``; ``api_url`` and ``oauth_url`` for clients."""

    def __init__(self, fleet: FakeFleet | None = None, options: FakeOptions | None = None, *,
                 host: str = "127.0.0.1", port: int = 0,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self.fleet = fleet or demo_fleet()
        self.options = options or FakeOptions()
        self.lock = threading.RLock()
        self.requests: list[Recorded] = []
        self._clock = clock
        self._wall = wall
        self._skew = 0.0
        self._tokens = FakeTokens(self.now)
        self._routes = FakeRoutes(self.now)
        self._faults = Faults(self.options.seed, wall)
        self._server = _Server((host, port), _handler_for(self))
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> FakeZoom:
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="fake-zoom", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeZoom:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        return self.base_url + "/v2"

    @property
    def oauth_url(self) -> str:
        return self.base_url + "/oauth/token"

    # -- test controls

    def now(self) -> float:
        return self._clock() + self._skew

    def advance(self, seconds: float) -> None:
        """Move the fake's clock for tokens and page tokens (not the request log)."""
        with self.lock:
            self._skew += seconds

    def expire_tokens(self) -> None:
        with self.lock:
            self._tokens.clear()

    def expire_page_tokens(self) -> None:
        with self.lock:
            self._routes.clear_pages()

    def script(self, *answers: Scripted) -> None:
        """Answer the next API requests (after the token check) with these, in order."""
        with self.lock:
            self._faults.script.extend(answers)

    def api_requests(self) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.path.startswith("/v2/")]

    def token_requests(self) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.path == "/oauth/token"]

    def max_per_second(self) -> int:
        """The most API requests that arrived within any one-second window."""
        times = sorted(r.at for r in self.api_requests())
        best, first = 0, 0
        for last, at in enumerate(times):
            while times[first] <= at - 1.0:
                first += 1
            best = max(best, last - first + 1)
        return best

    # -- handling

    def handle(self, method: str, target: str, headers: dict[str, str],
               body: bytes) -> Answer:
        parts = urlsplit(target)
        path = unquote(parts.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        with self.lock:
            arrived = time.monotonic()
            token = bearer(headers)
            if path == "/oauth/token":
                status, extra, answer = self._tokens.issue(
                    method, query, headers, body, options=self.options,
                    account_id=self.fleet.account_id)
            elif path.startswith("/v2/"):
                status, extra, answer = self._api(method, path[3:], query, token, arrived)
            else:
                status, extra, answer = 404, {}, {"code": 404, "message": "Not found"}
            self.requests.append(Recorded(arrived, self._wall(), method, path, query, token,
                                          status))
        return status, extra, answer

    def _api(self, method: str, path: str, query: dict[str, str], token: str | None,
             arrived: float) -> Answer:
        refused = self._refusal(token, arrived)
        if refused is not None:
            return refused
        if method != "GET":
            return 405, {}, {"code": 405, "message": "Method not allowed"}
        return self._routes.answer(self.fleet, self.options, path, query)

    def _refusal(self, token: str | None, arrived: float) -> Answer | None:
        """What stands before the data: the token, scripted answers, limits, chance."""
        refused = self._tokens.refusal(token)
        if refused is not None:
            return refused
        return self._faults.answer(self.options, arrived)


class _Server(ThreadingHTTPServer):
    """Keeps its open connections so that stopping also ends kept-alive ones: a stopped fake
    must look like a Zoom that is gone, not one still answering old connections."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._open: set[Any] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            open_now = list(self._open)
        for connection in open_now:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


def _handler_for(fake: FakeZoom) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, answer = fake.handle(self.command, self.path, headers, body)
            if status == 0:
                self.close_connection = True
                return
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve  # noqa: N815 (http.server's naming)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the request log is :attr:`FakeZoom.requests`."""

    return Handler
