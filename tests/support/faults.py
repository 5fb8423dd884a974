"""A small HTTP proxy in front of a real influxd that fails on demand.

Modes: ``pass`` forwards; ``error`` answers 500 without forwarding; ``lost_answer``
forwards (InfluxDB stores the points) and then answers 500, as a proxy whose
upstream answer was lost; ``hang`` holds the request until the mode changes,
then drops the connection; ``reset`` drops the connection at once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import urllib3

MODES = ("pass", "error", "lost_answer", "hang", "reset")


@dataclass
class FaultProxy:
    upstream: str
    mode: str = "pass"
    faulted: int = 0           # requests that met a fault
    changed: threading.Condition = field(default_factory=threading.Condition)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def set(self, mode: str) -> None:
        assert mode in MODES
        with self.changed:
            self.mode = mode
            self.changed.notify_all()

    def start(self) -> FaultProxy:
        http = urllib3.PoolManager(maxsize=16, retries=False)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                mode = proxy.mode
                if self.path.startswith("/ping"):
                    mode = "pass" if mode in ("pass", "lost_answer") else mode
                if mode != "pass":
                    with proxy.changed:
                        proxy.faulted += 1
                if mode in ("hang", "reset"):
                    if mode == "hang":
                        with proxy.changed:
                            proxy.changed.wait_for(lambda: proxy.mode != "hang", timeout=120)
                    self.close_connection = True
                    self.connection.close()
                    return
                if mode == "error":
                    self._answer(500, b'{"error":"injected fault"}')
                    return
                upstream = http.request(self.command, proxy.upstream + self.path, body=body,
                                        headers={k: v for k, v in self.headers.items()
                                                 if k.lower() not in ("host", "connection")})
                if mode == "lost_answer" and self.path.startswith("/write"):
                    self._answer(500, b'{"error":"injected fault after the write"}')
                    return
                self._answer(upstream.status, upstream.data,
                             upstream.headers.get("Content-Type", "application/json"))

            def _answer(self, status: int, data: bytes,
                        content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def close(self) -> None:
        self.set("pass")
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
