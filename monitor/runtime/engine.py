"""The rule engine: scheduled evaluation → dispatch policy → durable outbox → delivery.

Built once per process from the config and the rules directory. ``zrmon
serve`` runs it inside the writer process — exactly one process, never one
per gunicorn worker — and ``zrmon scheduler`` runs it alone for deployments
that split receiver and evaluator. Each group is one APScheduler job at its
own interval, first run :data:`FIRST_RUN_DELAY_S` after the start (not one
whole interval later); a job never overlaps itself (``max_instances=1``) and
a missed run is coalesced, not replayed.

An evaluation's outcome — the group's rule states, the dispatcher's state,
the notifications due and the ``rule_state`` points — is committed in one
SQLite transaction (:mod:`monitor.runtime.journal`) and only then made current
in memory. The points reach InfluxDB from that database afterwards, so an
InfluxDB outage delays them and loses none.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.core.config import Config
from monitor.core.metrics import GROUP_LAST_SUCCESS
from monitor.notify.channels.kind import build_senders
from monitor.notify.channels.loader import load_channels
from monitor.notify.delivery import DeliveryWorker
from monitor.notify.dispatch import Dispatcher
from monitor.notify.outbox import Outbox
from monitor.notify.policy_load import load_policy
from monitor.notify.silences import SilenceStore
from monitor.rules.evaluate import QUERY_CONCURRENCY, Evaluator, GroupResult, transition_lines
from monitor.rules.load import load_dir
from monitor.rules.model import Alert, Group
from monitor.rules.roomstate import RuleStates
from monitor.runtime.journal import Change, Journal
from monitor.store.influx import InfluxClient, InfluxError
from monitor.store.localtime import BuildingZones
from monitor.store.statedb import StateDBError, Tx

log = logging.getLogger(__name__)
TICK_S = 10.0   # the dispatcher's clock: group_wait and repeats need not wait for a rule
# A group's first evaluation, after a (re)start: soon, so alerts do not wait a whole interval
# (plus group_wait) to show, but not at once, so the writer has drained what arrived while
# the process was down (and `make demo` has its history in) before rules judge "no data".
FIRST_RUN_DELAY_S = 15.0
# Connections to InfluxDB, at least: APScheduler's thread pool may run every group at once,
# each with QUERY_CONCURRENCY queries (or its transition write). Beyond the pool, urllib3
# opens extra connections and logs "Connection pool is full" as it discards them.
MIN_INFLUX_POOL = 8
COMMIT_ERROR = "(state commit)"   # the key of a failed commit in GroupResult.errors
POINT_BATCHES = 100   # committed evaluations' rule_state points per InfluxDB write


@dataclass
class Engine:
    groups: list[Group]
    evaluator: Evaluator
    dispatcher: Dispatcher
    journal: Journal
    silences: SilenceStore
    outbox: Outbox
    deliver: DeliveryWorker
    clock: Callable[[], int] = time.time_ns
    current: dict[str, list[Alert]] = field(default_factory=dict)  # group → active alerts
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The dispatcher as last committed: what it goes back to when a commit fails.
    committed_dispatcher: dict[str, Any] = field(default_factory=dict)
    points_lock: threading.Lock = field(default_factory=threading.Lock)
    # Buildings' zones for `timezone: building` mute windows (None: no window needs them).
    zones: BuildingZones | None = None

    @classmethod
    def build(cls, config: Config, rules_dir: Path, env: Mapping[str, str] | None = None,
              clock: Callable[[], int] = time.time_ns,
              fence: Callable[[Tx], None] | None = None) -> Engine:
        groups = load_dir(rules_dir)
        influx = InfluxClient(config, maxsize=influx_pool_size(len(groups)))
        policy = load_policy(rules_dir / "notify.yaml")
        channels = load_channels(rules_dir / "channels.yaml", os.environ if env is None else env)
        outbox = Outbox.open(config.state_dir, config.state_url, fence=fence)
        journal = Journal(outbox)
        states, dispatcher = journal.restore(groups, policy)
        return cls(
            groups=groups,
            evaluator=Evaluator(influx, None, write_transitions=False, states=states),
            dispatcher=dispatcher,
            journal=journal,
            silences=SilenceStore(config.data_dir, clock, state_url=config.state_url),
            outbox=outbox,
            deliver=DeliveryWorker(outbox, build_senders(channels), threading.Event()),
            clock=clock,
            committed_dispatcher=dispatcher.to_json(),
            zones=BuildingZones(influx) if policy.uses_building_zones else None,
        )

    def run_group(self, group: Group, at_ns: int | None = None) -> GroupResult:
        """Evaluate, dispatch, commit — and only then adopt the group's new states.

        ``result.committed`` is False when the commit failed for good: memory
        is then as before this run, so the next run derives the same transitions.
        """
        at = self.clock() if at_ns is None else at_ns
        return self.settle(group, self.evaluator.prepare(group, at), at)

    def settle(self, group: Group, result: GroupResult, at: int) -> GroupResult:
        """The second half of :meth:`run_group`, for a result prepared at ``at``."""
        resolved = [a for a in result.alerts if a.status == "resolved"]
        self._refresh_zones()
        with self.lock:
            current = {**self.current,
                       group.name: [a for a in result.alerts if a.status != "resolved"]}
            active = [alert for alerts in current.values() for alert in alerts]
            result.committed = self._commit([*active, *resolved], at, {group.name: result.states},
                                            transition_lines(result, group))
            if result.committed:
                self.evaluator.adopt(result)
                self.current = current
            else:       # health checks read errors: an evaluation not stored did not happen
                result.errors[COMMIT_ERROR] = f"not stored: {self.journal.last_error}"
        if result.committed and not result.errors:
            GROUP_LAST_SUCCESS.labels(group.name).set(at / 1e9)
        self.flush_points()
        return result

    def tick(self, at_ns: int | None = None) -> None:
        """Due repeats and group_wait flushes. One commit attempt: the next tick is the retry."""
        at = self.clock() if at_ns is None else at_ns
        self._refresh_zones()
        with self.lock:
            self._commit(self._active(), at, retry=False)
        self.flush_points()

    def _refresh_zones(self) -> None:
        """Read the buildings' zones (InfluxDB, at most every few minutes) outside the lock."""
        if self.zones is not None:
            self.zones.current()

    def _active(self) -> list[Alert]:
        return [alert for alerts in self.current.values() for alert in alerts]

    def _commit(self, alerts: list[Alert], at: int, rules: Mapping[str, RuleStates] | None = None,
                points: bytes = b"", *, retry: bool = True) -> bool:
        """Dispatch and store the outcome in one transaction; roll the dispatcher back if not."""
        if self.zones is not None:
            self.dispatcher.building_zones = self.zones.zones
        notifications = self.dispatcher.process(alerts, at, self.silences.active(at))
        snapshot = self.dispatcher.to_json()
        change = Change(rules=rules or {}, dispatcher=snapshot, notifications=notifications,
                        points=points)
        if self.journal.commit(change, retry=retry):
            self.committed_dispatcher = snapshot
            return True
        self.dispatcher = Dispatcher.from_json(self.committed_dispatcher, self.dispatcher.policy)
        return False

    def flush_points(self) -> int:
        """Committed ``rule_state`` points into InfluxDB; how many batches went in.

        On an InfluxDB outage they stay in the database and go with the next
        run or tick: a point written twice only overwrites itself (same series
        and timestamp). A batch InfluxDB refuses as malformed (a 4xx) is dropped,
        since repeating it cannot help.
        """
        if not self.points_lock.acquire(blocking=False):
            return 0                 # another thread is at it
        written = 0
        try:
            while batch := self.outbox.pending_points(POINT_BATCHES):
                lines = "\n".join(text for _, text in batch).encode("utf-8")
                try:
                    self.evaluator.influx.write(lines)
                except InfluxError as exc:
                    if exc.retryable or exc.missing_database:
                        log.warning("rule transitions not yet in InfluxDB (kept, retried): %s",
                                    exc)
                        break
                    log.error("InfluxDB refused rule transitions, dropped: %s", exc)
                self.outbox.drop_points(batch[-1][0])
                written += len(batch)
        except (sqlite3.Error, StateDBError) as exc:
            log.warning("cannot read or drop committed rule transitions (retried): %s", exc)
        finally:
            self.points_lock.release()
        return written

    def schedule(self, scheduler: BaseScheduler, now: datetime | None = None) -> None:
        """Each group every interval, the first time :func:`first_run_delay_s` from ``now``."""
        start = datetime.now(UTC) if now is None else now
        for group in self.groups:
            first = start + timedelta(seconds=first_run_delay_s(group.interval_s))
            scheduler.add_job(self.run_group, IntervalTrigger(seconds=group.interval_s),
                              args=[group], id=f"group:{group.name}", max_instances=1,
                              coalesce=True, misfire_grace_time=int(group.interval_s),
                              next_run_time=first)
        scheduler.add_job(self.tick, IntervalTrigger(seconds=TICK_S), id="dispatch-tick",
                          max_instances=1, coalesce=True)

    def start_delivery(self) -> threading.Thread:
        thread = threading.Thread(target=self.deliver.run, name="notify-delivery", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.deliver.stop_event.set()
        self.silences.close()


def influx_pool_size(groups: int, concurrency: int = QUERY_CONCURRENCY) -> int:
    """Every group querying at once, plus one spare: idle pool slots cost no socket."""
    return max(MIN_INFLUX_POOL, groups * concurrency + 1)


def first_run_delay_s(interval_s: float) -> float:
    """A group evaluated every 10 s need not wait 15 s for its first run."""
    return min(interval_s, FIRST_RUN_DELAY_S)


