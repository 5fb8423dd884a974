"""Serve the admin app from the writer process on a loopback port.

The admin listener answers scrapes and (later) a status page: a handful of
requests a minute, so a small threaded WSGI server beside the writer loop is
enough and keeps it off the public gunicorn port.
"""

from __future__ import annotations

import threading
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from flask import Flask


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


def start_admin_server(app: Flask, host: str, port: int) -> WSGIServer:
    server = make_server(host, port, app, server_class=_ThreadingServer,
                         handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="admin-http", daemon=True)
    thread.start()
    return server
