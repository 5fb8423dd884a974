"""Evaluate only while leading: with shared PostgreSQL state, one evaluator of many runs.

Every ``zrmon scheduler`` (and ``zrmon serve`` that evaluates) sharing a state
database runs this loop: try for the lead every :data:`POLL_S`; once leading,
start the engine with the leader's fence on every commit and claim, keep the
leader's session alive every :data:`HEARTBEAT_S`, and stop the engine the moment
the lead is lost, then stand by again. A standby reports ``standby`` in
``/readyz`` and ``zrmon_evaluator_leader 0``; it is ready (it is doing its job).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from monitor.core.config import Config
from monitor.runtime.evaluator import write_standby
from monitor.store.leader import HEARTBEAT_S, POLL_S, Leadership
from monitor.store.statedb import StateDBError

log = logging.getLogger("monitor.rules")
ROLE = "evaluator"

Starter = Callable[[Leadership], Callable[[], None] | None]
"""Start evaluating as the given leader; a function that stops it (None: it did not start)."""


class Standby:
    def __init__(self, config: Config, start: Starter, *, poll_s: float = POLL_S,
                 heartbeat_s: float = HEARTBEAT_S) -> None:
        self.config = config
        self.start = start
        self.poll_s = poll_s
        self.heartbeat_s = heartbeat_s
        self.lead = Leadership(config.state_url, ROLE, config.replica_id())

    def run(self, stop: threading.Event) -> None:
        self._schema(stop)
        while not stop.is_set():
            if not self.lead.try_acquire():
                write_standby(self.config)
                stop.wait(self.poll_s)
                continue
            halt = self.start(self.lead)
            if halt is None:     # it cannot evaluate (its rules are broken): let another lead
                self.lead.release()
                stop.wait(self.poll_s)
                continue
            while not stop.wait(self.heartbeat_s) and self.lead.heartbeat():
                pass
            halt()
            if not stop.is_set():
                log.warning("no longer leading: evaluation stopped, standing by")
        self.lead.release()

    def _schema(self, stop: threading.Event) -> None:
        """The leader table must exist before anyone can lead: wait for PostgreSQL."""
        while not stop.is_set():
            try:
                self.lead.prepare()
                return
            except StateDBError as exc:
                log.warning("waiting for the shared state: %s", exc)
                stop.wait(self.poll_s)

    def start_in_background(self) -> Callable[[], None]:
        stop = threading.Event()
        thread = threading.Thread(target=self.run, args=(stop,), name="standby", daemon=True)
        thread.start()

        def halt() -> None:
            stop.set()
            thread.join(timeout=30)

        return halt
