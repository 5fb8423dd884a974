"""``/healthz`` (the process answers) and ``/readyz`` (it can do its job)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from monitor.services import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    return jsonify({"status": "ok"}), 200


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    svc = services()
    problems = []
    if not svc.influx_reachable():
        problems.append("influxdb unreachable")
    spool = svc.spool_problem()
    if spool:
        problems.append(spool)
    if problems:
        return jsonify({"status": "unavailable", "problems": problems}), 503
    return jsonify({"status": "ready"}), 200
