"""``GET /`` (HTML) and ``GET /status.json`` on the admin listener only.

Registered in :func:`monitor.runtime.app.create_admin_app`, never in the public app:
room names, incidents and rule states are internal. InfluxDB being down is
something this page must show, not crash on: the page renders an error panel
with status 503 (so a script checking it sees the failure too) and keeps
refreshing until InfluxDB answers again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template

from monitor.core.config import Config
from monitor.status.devices import DeviceCache
from monitor.status.levels import RuleCache
from monitor.status.model import Page, build_page, page_json
from monitor.status.query import Snapshot, fetch
from monitor.store.influx import InfluxClient, InfluxError

bp = Blueprint("status", __name__, template_folder="templates")

EXTENSION = "zrmon_status"

REFRESH_S = 30
QUERY_TIMEOUT_S = 15.0     # bounded, yet enough for 10,000 rooms (about 2.5 s for the readings)
# No script, no external asset: only the inline stylesheet may load.
CSP = ("default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'")


@dataclass(frozen=True)
class _Sources:
    config: Config
    influx: InfluxClient
    rules: RuleCache
    devices: DeviceCache


def install(app: Flask, config: Config) -> None:
    """One client and rule cache per app, made by the app factory (never at import or fork)."""
    app.extensions[EXTENSION] = _Sources(config, InfluxClient(config, timeout=QUERY_TIMEOUT_S),
                                         RuleCache(config.rules_dir), DeviceCache(config.state_dir))
    app.register_blueprint(bp)


def _sources() -> _Sources:
    found: _Sources = current_app.extensions[EXTENSION]
    return found


def _build(sources: _Sources) -> tuple[Page | None, str]:
    at_ns = time.time_ns()
    try:
        snapshot = fetch(sources.influx, at_ns)
    except InfluxError as exc:
        if "database not found" not in str(exc):
            return None, str(exc)
        snapshot = Snapshot(at_ns, [], [], [])   # nothing written yet: an empty page
    return build_page(snapshot, sources.rules.get(), sources.devices.get()), ""


@bp.get("/")
def status_page() -> Response:
    sources = _sources()
    page, error = _build(sources)
    html = render_template("status_page.html", page=page, error=error, refresh_s=REFRESH_S,
                           influx_url=sources.config.influx_url,
                           database=sources.config.influx_db)
    return _private(Response(html, status=503 if error else 200, mimetype="text/html"))


@bp.get("/status.json")
def status_json() -> Response:
    page, error = _build(_sources())
    if page is None:
        response = jsonify({"error": "influxdb_unavailable", "message": error})
        response.status_code = 503
    else:
        response = jsonify(page_json(page))
    return _private(response)


def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
