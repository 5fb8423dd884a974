"""Application factories: the public webhook app and the private admin app.

Two apps on two listeners so internal data (metrics, the status page)
can never be reached on the port Zoom talks to.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from monitor.core.config import Config
from monitor.runtime.services import Services


def create_app(config: Config | None = None) -> Flask:
    """The public listener: ``POST /webhooks/zoom``, ``/healthz``, ``/readyz`` and nothing else."""
    config = config or Config.from_env()
    config.require_secret()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    services = Services.build(config)
    services.install(app)

    from monitor.webhooks import routes

    app.register_blueprint(routes.bp)
    services.readiness().install(app)
    _json_errors(app)
    return app


def create_admin_app(config: Config | None = None) -> Flask:
    """The admin listener (loopback by default): ``/metrics``, health and the status page."""
    config = config or Config.from_env()
    app = Flask(__name__)
    from monitor.runtime import admin
    from monitor.status import views as status_views

    admin.AdminServices.build(config).install(app)
    app.register_blueprint(admin.bp)
    status_views.install(app, config)
    _json_errors(app)
    return app


#: Over-size bodies up to this many times ``ZRMON_MAX_BODY_BYTES`` are read and dropped.
OVERSIZE_DRAIN_FACTOR = 4


def _drain_unread_body(limit: int) -> None:
    """Read and drop a refused body, so the client's keep-alive connection stays usable.

    The 413 is decided from Content-Length before the body is read. gunicorn
    drains at most 64 KiB of what the app left unread and closes the
    connection otherwise, although the answer said keep-alive: the sender's
    next request on it would fail. A body beyond ``limit`` is not worth
    reading; that connection closes.
    """
    length = request.content_length
    if length is None or length > limit:
        return
    stream = request.environ.get("wsgi.input")
    if stream is None:
        return
    remaining = length
    while remaining > 0:
        chunk = stream.read(min(remaining, 65536))
        if not chunk:
            return
        remaining -= len(chunk)


def _json_errors(app: Flask) -> None:
    """Every error is JSON, and nothing — not even a bug — turns into a 500."""

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        code = exc.code or 400
        body: dict[str, Any] = {"error": (exc.name or "error").lower().replace(" ", "_"),
                                "message": exc.description}
        if code == 413:
            limit = app.config["MAX_CONTENT_LENGTH"]
            body["fields"] = {"body": [f"larger than {limit} bytes"]}
            if limit:
                _drain_unread_body(limit * OVERSIZE_DRAIN_FACTOR)
        return jsonify(body), code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response, int]:
        logging.getLogger("monitor").exception("unhandled error")
        # 503, not 500: Zoom retries it, and the cause is on our side.
        return jsonify({"error": "unavailable", "message": "internal error, retry later"}), 503
