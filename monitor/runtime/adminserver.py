"""Serve the admin app from the writer or scheduler process on a loopback port.

The admin listener answers scrapes, health checks and the status page: a
handful of requests a minute, served from a background thread beside the
writer loop (or the scheduler) and kept off the public gunicorn port.

Werkzeug's server (``werkzeug.serving.make_server``, already installed with
Flask) does this job: ``threaded=True`` gives one daemon thread per request
(each answer closes its connection, as werkzeug always does), and
``shutdown()``/``server_close()`` come from the standard ``socketserver``
API. gunicorn is the public listener's server, but it is a
process manager that forks workers and owns the process's signals, so it
cannot run as a thread inside a process that has its own main loop.
"""

from __future__ import annotations

import threading

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    """No access-log line per scrape; errors are still logged by werkzeug."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


def start_admin_server(app: Flask, host: str, port: int) -> BaseWSGIServer:
    """Listen on ``host:port`` (0: any free port, see ``server_port``) until ``shutdown()``."""
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="admin-http", daemon=True)
    thread.start()
    return server
