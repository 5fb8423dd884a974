"""The evaluator as a running service: start-up checks, health, ``/readyz`` state, heartbeat.

``zrmon serve`` (in its writer process) and ``zrmon scheduler`` both start the
rules through here, so they refuse the same broken files and report their
health the same way:

* **Start-up**: every file of the rules directory is checked first (the checks
  of ``zrmon rules check``). A broken file is a start-up error, one
  ``file:line`` line and exit 2 -- never a process that looks healthy and
  evaluates nothing. A receiver that must not evaluate says so explicitly
  (``zrmon serve --no-rules`` / ``ZRMON_EVALUATE=false``).
* **Health**: a group is healthy when it has evaluated with every rule
  answering within :func:`allowed_lag_s` of its interval. The state --
  ``running``, ``failed: <reason>`` -- goes to ``state/evaluator.json`` so the
  receiver's gunicorn workers (other processes) can show it in ``/readyz``,
  and the admin listener exports it as ``zrmon_evaluator_up``.
* **Heartbeat**: with ``heartbeat:`` in ``notify.yaml`` an outside URL is
  pinged while (and only while) evaluation is healthy: a dead man's switch
  for the failure no alert of ours can report.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import urllib3
from prometheus_client import Counter

from monitor.core.atomicfile import StateFileError
from monitor.core.config import Config
from monitor.core.configfile import ConfigFileError, ConfigFileErrors
from monitor.core.errors import UsageError
from monitor.core.jsonutil import read_json_state, write_atomic
from monitor.core.timeutil import NS_PER_S, ns_to_iso
from monitor.notify.policy import Heartbeat
from monitor.rules.model import Group
from monitor.store.statedb import Tx, is_postgres_url

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

    from monitor.runtime.engine import Engine

log = logging.getLogger("monitor.rules")
Fence = Callable[[Tx], None]
STATUS_FILE = "evaluator.json"
STATUS_EVERY_S = 5.0      # how often the state file is refreshed (and health judged)
# A state file older than this means the evaluating process is gone or hung.
STALE_AFTER_S = 45.0
MAX_GRACE_S = 30.0

HEARTBEATS = Counter("zrmon_heartbeat_pings_total",
                     "Heartbeat pings by outcome (sent, failed, withheld while unhealthy).",
                     ["outcome"])

NO_RULES_HINT = ("for a receiver that does not evaluate, use `zrmon serve --no-rules` "
                 "or ZRMON_EVALUATE=false")


# ---------------------------------------------------------------- start-up checks

def startup_problem(rules_dir: Path) -> str | None:
    """One line saying why the rules in ``rules_dir`` cannot be evaluated, or None.

    The first error of ``zrmon rules check``, with how many more there are: a
    container log shows one line, the check shows them all.
    """
    if not rules_dir.is_dir():
        what = "is not a directory" if rules_dir.exists() else "does not exist"
        return f"{rules_dir}: rules directory {what} (ZRMON_RULES_DIR; {NO_RULES_HINT})"
    from monitor.runtime.configcheck import check

    errors = check(rules_dir, None)
    if not errors:
        return None
    more = f" (and {len(errors) - 1} more: zrmon rules check {rules_dir})" \
        if len(errors) > 1 else ""
    return f"{one_line(errors[0])}{more}"


def one_line(error: BaseException | str) -> str:
    """The first line of an error: the one a container log shows."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# ---------------------------------------------------------------- health

def allowed_lag_s(interval_s: float) -> float:
    """How long a group may go without a good evaluation: two runs missed, plus slack."""
    return 2 * interval_s + min(interval_s, MAX_GRACE_S)


@dataclass
class GroupHealth:
    """When each group last evaluated with every rule answering, from the scheduler's events."""

    groups: list[Group]
    started_ns: int
    last_ok_ns: dict[str, int] = field(default_factory=dict)
    last_error: dict[str, str] = field(default_factory=dict)
    evaluated: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        for group in self.groups:     # judged from the start until the first run
            self.last_ok_ns.setdefault(group.name, self.started_ns)

    def record(self, name: str, error: str | None, at_ns: int) -> None:
        with self.lock:
            if error is None:
                self.last_ok_ns[name] = at_ns
                self.evaluated.add(name)
                self.last_error.pop(name, None)
            else:
                self.last_error[name] = error

    def on_job_event(self, event: Any) -> None:
        """APScheduler listener: a group job ran (``retval`` is its GroupResult) or raised."""
        job_id = str(getattr(event, "job_id", ""))
        if not job_id.startswith("group:"):
            return
        name = job_id.removeprefix("group:")
        exception = getattr(event, "exception", None)
        errors = getattr(getattr(event, "retval", None), "errors", None) or {}
        if exception is not None:
            error: str | None = one_line(exception)
        elif errors:
            rule, text = next(iter(sorted(errors.items())))
            error = f"{rule}: {one_line(text)}"
        else:
            error = None
        self.record(name, error, time.time_ns())

    def not_yet_evaluated(self) -> str | None:
        """A ping promises that every group evaluates: not before each one has, once."""
        with self.lock:
            waiting = [g.name for g in self.groups if g.name not in self.evaluated]
        return f"waiting for the first evaluation of {', '.join(waiting)}" if waiting else None

    def problem(self, now_ns: int) -> str | None:
        """Why evaluation is unhealthy now, or None."""
        with self.lock:
            for group in self.groups:
                lag_s = (now_ns - self.last_ok_ns[group.name]) / NS_PER_S
                if lag_s > allowed_lag_s(group.interval_s):
                    error = self.last_error.get(group.name)
                    cause = f": {error}" if error else ""
                    return (f"group {group.name} not evaluated successfully for "
                            f"{lag_s:.0f}s{cause}")
        return None


# ---------------------------------------------------------------- state file

def status_path(config: Config) -> Path:
    return config.state_dir / STATUS_FILE


def write_standby(config: Config, now_ns: int | None = None) -> None:
    """Report a standby evaluator (another process leads, :mod:`monitor.runtime.standby`)."""
    _write_report(config, {"state": "standby", "reason": ""}, now_ns)


def write_status(config: Config, problem: str | None, now_ns: int | None = None) -> None:
    """Report the evaluator's state; a disk that cannot take the report is only logged.

    The report is for ``/readyz``: one that cannot be written goes stale, and a stale
    report already reads as ``failed`` there. Raising instead would stop the evaluator
    (or, at start, the writer process beside it) for want of a status line.
    """
    _write_report(config, {"state": "running" if problem is None else "failed",
                           "reason": problem or ""}, now_ns)


def _write_report(config: Config, report: dict[str, str], now_ns: int | None) -> None:
    now = time.time_ns() if now_ns is None else now_ns
    try:
        write_atomic(status_path(config), {**report, "updated_ns": now, "updated": ns_to_iso(now),
                                           "pid": os.getpid()})
    except OSError as exc:
        log.warning("evaluator state not written (%s): %s", status_path(config), exc)


def evaluator_leads(config: Config, now_ns: int | None = None) -> bool:
    """Whether this data directory's evaluator leads: it reported lately, not as a standby."""
    try:
        status = read_json_state(status_path(config), dict)
    except StateFileError:
        return False
    now = time.time_ns() if now_ns is None else now_ns
    fresh = (now - int(status.get("updated_ns", 0))) / NS_PER_S <= STALE_AFTER_S
    return fresh and status.get("state") in ("running", "failed")


def evaluator_state(config: Config, now_ns: int | None = None) -> str:
    """``disabled``, ``starting``, ``running``, ``standby`` or ``failed: <reason>``."""
    if not config.evaluate:
        return "disabled"
    try:
        status = read_json_state(status_path(config), dict)
    except StateFileError as exc:     # a damaged file is a state to report, not a 500
        return f"failed: {one_line(exc)}"
    if not status:
        return "starting"
    now = time.time_ns() if now_ns is None else now_ns
    age_s = (now - int(status.get("updated_ns", 0))) / NS_PER_S
    if age_s > STALE_AFTER_S:
        return f"failed: the evaluator has not reported for {age_s:.0f}s"
    if status.get("state") in ("running", "standby"):
        return str(status["state"])
    return f"failed: {status.get('reason') or 'unknown'}"


# ---------------------------------------------------------------- the watch

@dataclass
class Watch:
    """Judges health every few seconds, records it, and pings the heartbeat while healthy."""

    config: Config
    health: GroupHealth
    heartbeat: Heartbeat | None = None
    clock: Callable[[], int] = time.time_ns
    pool: urllib3.PoolManager = field(
        default_factory=lambda: urllib3.PoolManager(num_pools=1, maxsize=1, retries=False))
    last_problem: str | None = None

    def install(self, scheduler: BaseScheduler) -> None:
        from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
        from apscheduler.triggers.interval import IntervalTrigger

        scheduler.add_listener(self.health.on_job_event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        scheduler.add_job(self.report, IntervalTrigger(seconds=STATUS_EVERY_S),
                          id="evaluator-status", max_instances=1, coalesce=True)
        if self.heartbeat is not None:     # first ping one period in: after evaluations
            every_s = self.heartbeat.every_ns / NS_PER_S
            scheduler.add_job(self.beat, IntervalTrigger(seconds=every_s),
                              id="heartbeat", max_instances=1, coalesce=True)
        self.report()

    def report(self) -> None:
        problem = self.health.problem(self.clock())
        if problem != self.last_problem:
            if problem is None:
                log.info("rule evaluation healthy again")
            else:
                log.error("rule evaluation unhealthy: %s", problem)
        self.last_problem = problem
        write_status(self.config, problem, self.clock())

    def beat(self) -> bool:
        """One ping if healthy; True when the outside service heard it."""
        from monitor.notify.channels.http import post_json
        from monitor.notify.channels.kind import DeliveryError

        assert self.heartbeat is not None
        now = self.clock()
        problem = self.health.problem(now) or self.health.not_yet_evaluated()
        if problem is not None:
            HEARTBEATS.labels("withheld").inc()
            log.warning("heartbeat withheld: %s", problem)
            return False
        try:
            post_json(self.pool, self.heartbeat.url, {
                "status": "ok", "at": ns_to_iso(now),
                "groups": [group.name for group in self.health.groups]})
        except DeliveryError as exc:
            HEARTBEATS.labels("failed").inc()
            log.warning("heartbeat not delivered: %s", exc)
            return False
        HEARTBEATS.labels("sent").inc()
        return True


# ---------------------------------------------------------------- starting

class EvaluatorStartError(UsageError):
    """The rules could not be loaded; the message is one ``file:line`` line."""


def start(config: Config, scheduler: BaseScheduler, fence: Fence | None = None) -> Engine:
    """Build the engine and add every job (rules, prune, reports, status, heartbeat).

    Returns the engine; :class:`EvaluatorStartError` when the files are broken.
    ``fence`` runs in every transaction the engine writes in (the leader's check,
    :mod:`monitor.runtime.standby`).
    """
    import yaml

    from monitor.runtime.engine import Engine
    from monitor.runtime.jobs import schedule_jobs

    problem = startup_problem(config.rules_dir)
    if problem is not None:
        raise EvaluatorStartError(problem)
    try:
        engine = Engine.build(config, config.rules_dir, fence=fence)
        schedule_jobs(config, engine, scheduler)
    except (ConfigFileError, ConfigFileErrors, ValueError, yaml.YAMLError, OSError,
            StateFileError) as exc:         # a damaged state file names `zrmon state restore`
        raise EvaluatorStartError(one_line(exc)) from exc
    watch = Watch(config, GroupHealth(engine.groups, time.time_ns()),
                  engine.dispatcher.policy.heartbeat)
    watch.install(scheduler)
    return engine


def start_in_background(config: Config) -> Callable[[], None] | None:
    """``zrmon serve``'s writer: evaluate beside the writer loop; a stop function, or None.

    The supervisor refused broken files before starting us, so a failure here
    means they changed since: the receiver keeps ingesting and the evaluator's
    state says ``failed: file:line: …`` (``/readyz``, ``zrmon_evaluator_up``).
    With shared PostgreSQL state it evaluates only while it leads.
    """
    if not config.evaluate:
        return None
    if is_postgres_url(config.state_url):
        from monitor.runtime.standby import Standby

        return Standby(config, lambda lead: evaluate(config, lead.fence)).start_in_background()
    return evaluate(config)


def evaluate(config: Config, fence: Fence | None = None) -> Callable[[], None] | None:
    """Start the engine on a scheduler thread; its stop function, or None if it did not."""
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone="UTC")
    try:
        engine = start(config, scheduler, fence)
    except EvaluatorStartError as exc:
        log.error("rules not loaded, none evaluated: %s", exc)
        write_status(config, f"rules not loaded: {exc}")
        return None
    except Exception as exc:    # a bug of ours must not stop the receiver: say so instead
        log.exception("the evaluator did not start")
        write_status(config, f"did not start: {one_line(exc)}")
        return None
    engine.start_delivery()
    scheduler.start()

    def stop() -> None:
        engine.stop()
        scheduler.shutdown(wait=False)

    return stop
