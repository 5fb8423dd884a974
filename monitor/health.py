"""``/healthz`` (the process answers) and ``/readyz`` (it can do its job)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from monitor.rules.runtime import evaluator_state
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
    problems.extend(svc.state_problems())
    # Reported, never a reason to turn Zoom away: a failed evaluator is no reason to lose
    # deliveries (the scheduler's own admin /readyz fails instead).
    evaluator = evaluator_state(svc.config)
    if problems:
        return jsonify({"status": "unavailable", "problems": problems,
                        "evaluator": evaluator}), 503
    return jsonify({"status": "ready", "evaluator": evaluator}), 200
