"""The rule engine: scheduled evaluation → dispatch policy → durable outbox → delivery.

Built once per process from the config and the rules directory. ``zrmon
serve`` runs it inside the writer process — exactly one process, never one
per gunicorn worker — and ``zrmon scheduler`` runs it alone for deployments
that split receiver and evaluator. Each group is one APScheduler job at its
own interval, first run :data:`FIRST_RUN_DELAY_S` after the start (not one
whole interval later); a job never overlaps itself (``max_instances=1``) and
a missed run is coalesced, not replayed.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import Config
from monitor.jsonutil import write_atomic
from monitor.notify.channels import load_channels
from monitor.notify.dispatch import Dispatcher
from monitor.notify.outbox import DeliveryWorker, Outbox
from monitor.notify.policy import Policy, load_policy
from monitor.notify.senders import build_senders
from monitor.notify.silences import SilenceStore
from monitor.rules.evaluate import QUERY_CONCURRENCY, Evaluator, GroupResult, StateFile
from monitor.rules.load import load_dir
from monitor.rules.model import Alert, Group
from monitor.store.influx import InfluxClient

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


@dataclass
class Engine:
    groups: list[Group]
    evaluator: Evaluator
    dispatcher: Dispatcher
    dispatcher_path: Path
    silences: SilenceStore
    outbox: Outbox
    deliver: DeliveryWorker
    clock: Callable[[], int] = time.time_ns
    current: dict[str, list[Alert]] = field(default_factory=dict)  # group → active alerts
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(cls, config: Config, rules_dir: Path, env: Mapping[str, str] | None = None,
              clock: Callable[[], int] = time.time_ns) -> Engine:
        state_dir = config.state_dir
        groups = load_dir(rules_dir)
        influx = InfluxClient(config, maxsize=influx_pool_size(len(groups)))
        evaluator = Evaluator(influx, StateFile(state_dir / "rules.json"))
        policy = load_policy(rules_dir / "notify.yaml")
        channels = load_channels(rules_dir / "channels.yaml", os.environ if env is None else env)
        outbox = Outbox(state_dir)
        dispatcher_path = state_dir / "dispatch.json"
        return cls(
            groups=groups,
            evaluator=evaluator,
            dispatcher=_load_dispatcher(dispatcher_path, policy),
            dispatcher_path=dispatcher_path,
            silences=SilenceStore(config.data_dir, clock=clock),
            outbox=outbox,
            deliver=DeliveryWorker(outbox, build_senders(channels), threading.Event()),
            clock=clock,
        )

    def run_group(self, group: Group, at_ns: int | None = None) -> GroupResult:
        at = self.clock() if at_ns is None else at_ns
        result = self.evaluator.evaluate(group, at)
        with self.lock:
            self.current[group.name] = [a for a in result.alerts if a.status != "resolved"]
            resolved = [a for a in result.alerts if a.status == "resolved"]
            self._dispatch([*self._active(), *resolved], at)
        return result

    def tick(self, at_ns: int | None = None) -> None:
        at = self.clock() if at_ns is None else at_ns
        with self.lock:
            self._dispatch(self._active(), at)

    def _active(self) -> list[Alert]:
        return [alert for alerts in self.current.values() for alert in alerts]

    def _dispatch(self, alerts: list[Alert], at: int) -> None:
        notifications = self.dispatcher.process(alerts, at, self.silences.active(at))
        if notifications:
            self.outbox.enqueue(notifications)
        write_atomic(self.dispatcher_path, self.dispatcher.to_json())

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


def influx_pool_size(groups: int, concurrency: int = QUERY_CONCURRENCY) -> int:
    """Every group querying at once, plus one spare: idle pool slots cost no socket."""
    return max(MIN_INFLUX_POOL, groups * concurrency + 1)


def first_run_delay_s(interval_s: float) -> float:
    """A group evaluated every 10 s need not wait 15 s for its first run."""
    return min(interval_s, FIRST_RUN_DELAY_S)


def _load_dispatcher(path: Path, policy: Policy) -> Dispatcher:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return Dispatcher(policy)
    return Dispatcher.from_json(data, policy)

