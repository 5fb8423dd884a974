"""``/healthz`` (the process answers) and ``/readyz`` (it can do its job), for both listeners.

One blueprint, registered on the public and on the admin app; each app
factory installs a :class:`Readiness` holding the checks its listener owns,
so the answers have one shape and differ only in what is checked:

- the public listener (``zrmon serve``'s gunicorn) checks what taking a
  delivery needs — InfluxDB, the spool (writable, not full, disk space) and
  the state files — and only reports the evaluator: a failed evaluator is no
  reason to turn Zoom away and lose deliveries;
- the admin listener is the only health check of ``zrmon scheduler``, so a
  failed evaluator makes it unready, beside InfluxDB, disk space and the
  state files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import Blueprint, Flask, Response, current_app, jsonify

from monitor.core.config import Config
from monitor.runtime.evaluator import evaluator_state
from monitor.store.influx import CachedPing
from monitor.store.statefiles import StateHealth

bp = Blueprint("health", __name__)

EXTENSION = "zrmon_readiness"

#: One check: the problems it finds, each a short sentence; none when all is well.
Check = Callable[[], Iterable[str]]


@dataclass(frozen=True)
class Readiness:
    """What ``/readyz`` checks on one listener, in the order its problems are listed."""

    config: Config
    checks: tuple[Check, ...]
    evaluator_gates: bool     # a failed evaluator is a problem (the scheduler's listener)

    def problems(self, evaluator: str) -> list[str]:
        found = [problem for check in self.checks for problem in check()]
        if self.evaluator_gates and evaluator.startswith("failed"):
            found.append(f"evaluator {evaluator}")
        return found

    def install(self, app: Flask) -> None:
        app.extensions[EXTENSION] = self
        app.register_blueprint(bp)


def influx_check(ping: CachedPing) -> Check:
    """Cached (:class:`CachedPing`): a health checker polling hard must not load InfluxDB."""
    return lambda: [] if ping.ok() else ["influxdb unreachable"]


def problem_check(problem: Callable[[], str | None]) -> Check:
    """A check from a function answering one problem or ``None``."""
    def check() -> list[str]:
        found = problem()
        return [found] if found else []
    return check


def state_check(health: StateHealth) -> Check:
    return lambda: [str(problem) for problem in health.problems()]


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    return jsonify({"status": "ok"}), 200


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    readiness: Readiness = current_app.extensions[EXTENSION]
    evaluator = evaluator_state(readiness.config)
    problems = readiness.problems(evaluator)
    if problems:
        return jsonify({"status": "unavailable", "problems": problems,
                        "evaluator": evaluator}), 503
    return jsonify({"status": "ready", "evaluator": evaluator}), 200
