"""Application factories: the public webhook app and the private admin app.

Two apps on two listeners so internal data (metrics, later the status page)
can never be reached on the port Zoom talks to.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from monitor.config import Config
from monitor.services import Services


def create_app(config: Config | None = None) -> Flask:
    """The public listener: ``POST /webhooks/zoom``, ``/healthz``, ``/readyz`` and nothing else."""
    config = config or Config.from_env()
    config.require_secret()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    Services.build(config).install(app)

    from monitor import health
    from monitor.webhooks import routes

    app.register_blueprint(routes.bp)
    app.register_blueprint(health.bp)
    _json_errors(app)
    return app


def create_admin_app(config: Config | None = None) -> Flask:
    """The admin listener (loopback by default): ``/metrics``."""
    config = config or Config.from_env()
    app = Flask(__name__)
    from monitor import admin
    from monitor.status import views as status_views

    app.extensions["zrmon_config"] = config
    app.register_blueprint(admin.bp)
    app.register_blueprint(status_views.bp)
    _json_errors(app)
    return app


def _json_errors(app: Flask) -> None:
    """Every error is JSON, and nothing — not even a bug — turns into a 500."""

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        code = exc.code or 400
        body: dict[str, Any] = {"error": (exc.name or "error").lower().replace(" ", "_"),
                                "message": exc.description}
        if code == 413:
            body["fields"] = {"body": [f"larger than {app.config['MAX_CONTENT_LENGTH']} bytes"]}
        return jsonify(body), code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response, int]:
        logging.getLogger("monitor").exception("unhandled error")
        # 503, not 500: Zoom retries it, and the cause is on our side.
        return jsonify({"error": "unavailable", "message": "internal error, retry later"}), 503
