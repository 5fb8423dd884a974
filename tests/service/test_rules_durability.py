"""A real ``zrmon scheduler`` SIGKILLed at each step from evaluation to delivery, then restarted.

Every kill follows a real signal: the sink holding a request (a delivery in
flight), the outbox row of a RESOLVED appearing in SQLite (committed, not
delivered), the process logging that it cannot commit an evaluated
transition (evaluated, not committed: the test holds the database's write
lock). After each restart, every firing and resolved message must arrive at
the sink exactly once by id; only the delivery in flight at a kill may
arrive twice, with the same ``Idempotency-Key``.
"""

from __future__ import annotations

import collections
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.processes import CO2_RULES as RULES
from support.processes import Scheduler, co2, delivered_kinds, metric, wait_for
from support.rulesdir import webhook_channel, write_rules_dir
from support.sinks import Captured, HttpSink
from support.sqlitelock import Locker

from monitor.core.config import Config
from monitor.store.influx import InfluxClient

pytestmark = pytest.mark.slow
NS = 1_000_000_000
NOTIFY = "grouping: {group_by: [rule], group_wait: 1s, group_interval: 1s}\n"




def outbox_kinds(state_dir: Path) -> list[str]:
    path = state_dir / "outbox.sqlite"
    if not path.exists():
        return []
    with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as db:
        return [str(kind) for (kind,) in db.execute("SELECT kind FROM outbox ORDER BY seq")]


@pytest.fixture
def sink(http_sink: HttpSink) -> HttpSink:
    return http_sink


@pytest.fixture
def start(scheduler_config: Config, tmp_path: Path) -> Iterator[Callable[[], Scheduler]]:
    """``start()`` runs a scheduler (all logging to one file); none outlives the test."""
    started: list[Scheduler] = []

    def run() -> Scheduler:
        started.append(Scheduler(scheduler_config, tmp_path / "scheduler.log").start())
        return started[-1]

    yield run
    for scheduler in started:
        scheduler.kill()


@pytest.fixture
def scheduler_config(config: Config, tmp_path: Path, sink: HttpSink) -> Config:
    rules = write_rules_dir(tmp_path / "rules", rules={"air.yaml": RULES},
                            channels=webhook_channel(sink.url()), notify=NOTIFY)
    return config.with_(rules_dir=rules)


def test_sigkill_at_every_step_loses_no_message_and_repeats_none(
        scheduler_config: Config, influx: InfluxClient, sink: HttpSink,
        start: Callable[[], Scheduler]) -> None:
    state_dir = scheduler_config.state_dir
    co2(influx, 1400, time.time() - 30)

    # 1. Killed while the FIRING is in flight: the sink has it and has not answered.
    sink.hold()
    first = start()
    [in_flight] = sink.wait_for(1, timeout=30)
    first.kill()
    sink.release()

    # 2. Restarted: the leased row is sent again at once. Then killed once the RESOLVED
    #    is committed to the outbox but not delivered (the sink answers 503).
    second = start()
    resent = sink.wait_for(2, timeout=30)[1]
    assert resent.json()["id"] == in_flight.json()["id"]
    sink.fail_next(1000, 503)
    co2(influx, 800)
    wait_for(lambda: "resolved" in outbox_kinds(state_dir), 30, "the RESOLVED outbox row")
    # Its first attempt failed: the scrape-time gauges and the retry counter say so.
    wait_for(lambda: (metric(second.metrics(), 'zrmon_notification_retries_total{channel="hook"}')
                      or 0) >= 1, 15, "a retried attempt in /metrics")
    text = second.metrics()
    assert metric(text, "zrmon_outbox_depth") == 1
    assert (metric(text, "zrmon_outbox_oldest_age_seconds") or 0) > 0
    second.kill()
    with sink.lock:
        sink.failures.clear()

    # 3. Restarted: the RESOLVED goes out. Then a new episode is evaluated while the
    #    database is locked, and the process killed before it could commit.
    third = start()
    wait_for(lambda: delivered_kinds(sink) == ["firing", "resolved"], 40, "the RESOLVED")
    rows = len(outbox_kinds(state_dir))
    locker = Locker(state_dir / "outbox.sqlite")
    try:
        co2(influx, 1500)
        wait_for(lambda: "cannot commit rule state with 1 transition(s)" in third.log_text(),
                 30, "a failed commit of the new FIRING transition")
        third.kill()
    finally:
        locker.release()
    assert len(outbox_kinds(state_dir)) == rows        # nothing of it was stored

    # 4. Restarted: the transition is derived again from the stored state, and resolves.
    fourth = start()
    wait_for(lambda: delivered_kinds(sink) == ["firing", "resolved", "firing"], 30,
             "the second FIRING")
    co2(influx, 700)
    wait_for(lambda: delivered_kinds(sink) == ["firing", "resolved"] * 2, 30,
             "the second RESOLVED")
    # A few more evaluations, seen in the process's own counter: still nothing new.
    evaluations = metric(fourth.metrics(), 'zrmon_rule_evaluations_total{rule="air/co2-high"}')
    assert evaluations is not None
    wait_for(lambda: (metric(fourth.metrics(),
                             'zrmon_rule_evaluations_total{rule="air/co2-high"}') or 0)
             >= evaluations + 3, 20, "three more evaluations")
    fourth.stop()

    delivered = sink.delivered()
    counts = collections.Counter(request.json()["id"] for request in delivered)
    assert len(counts) == 4                                   # 2 firing + 2 resolved
    assert counts[in_flight.json()["id"]] == 2                # in flight at kill 1: repeated once
    assert all(n == 1 for key, n in counts.items() if key != in_flight.json()["id"])
    assert all(_key(request) == request.json()["id"] for request in sink.requests)
    assert [r.json()["alerts"][0]["value"] for r in delivered[1:]] == [1400, 800, 1500, 700]
    assert _transitions(influx) == ["firing", "inactive", "firing", "inactive"]


def test_metrics_after_a_real_evaluation_and_delivery(
        influx: InfluxClient, sink: HttpSink, start: Callable[[], Scheduler]) -> None:
    co2(influx, 1400, time.time() - 30)
    started = time.time()
    scheduler = start()
    sink.wait_for(1, timeout=30)
    hook = '{channel="hook"}'
    wait_for(lambda: metric(scheduler.metrics(), f"zrmon_notifications_sent_total{hook}")
             == 1, 10, "the delivery to be counted")
    text = scheduler.metrics()
    scheduler.stop()
    assert metric(text, "zrmon_outbox_depth") == 0
    assert metric(text, "zrmon_outbox_oldest_age_seconds") == 0
    assert metric(text, "zrmon_rule_points_pending") == 0
    assert metric(text, f"zrmon_notification_retries_total{hook}") is None   # none yet
    runs = metric(text, 'zrmon_rule_group_evaluation_seconds_count{group="air"}')
    assert runs is not None and runs >= 1
    last = metric(text, 'zrmon_rule_group_last_success_timestamp_seconds{group="air"}')
    assert last is not None and started <= last <= time.time()
    assert metric(text, "zrmon_rule_state_commit_failures_total") == 0


def _key(request: Captured) -> str | None:
    return request.headers.get("Idempotency-Key")


def _transitions(influx: InfluxClient) -> list[str]:
    series = influx.query('SELECT "previous", "status" FROM rule_state WHERE "room_id" = \'r1\'')
    return [row[2] for s in series for row in s.values]
