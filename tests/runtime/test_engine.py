"""The whole rule path against real servers: InfluxDB in, a webhook notification out."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from prometheus_client import REGISTRY
from support.rulesdir import SUMMARY, co2_rule, webhook_channel, write_rules_dir
from support.sinks import HttpSink, free_port
from support.sqlitelock import Locker

from monitor.core.config import Config
from monitor.datamodel.points import Point, encode_lines
from monitor.notify.silences import SilenceStore
from monitor.runtime.engine import (
    COMMIT_ERROR,
    FIRST_RUN_DELAY_S,
    Engine,
    first_run_delay_s,
    influx_pool_size,
)
from monitor.runtime.journal import CommitRetry
from monitor.store.influx import InfluxClient
from monitor.store.statedb import SQLiteDB

NS = 10**9
RULES = co2_rule(notify="hook", interval="1m", window="5m", summary=SUMMARY,
                 warning="{above: 1000, resolve_below: 900}")
POLICY = """\
grouping: {group_by: [rule], group_wait: 1s, group_interval: 1s, repeat_interval: 1h}
"""


@pytest.fixture
def sink(http_sink: HttpSink) -> HttpSink:
    return http_sink


@pytest.fixture
def rules_dir(tmp_path: Path, sink: HttpSink) -> Path:
    return write_rules_dir(tmp_path / "rules", rules={"air.yaml": RULES},
                           channels=webhook_channel(sink.url()), notify=POLICY)


def co2(influx: InfluxClient, at_s: float, value: float) -> None:
    influx.write(encode_lines([Point("sensor", {"room_id": "r1", "room_name": "Everest",
                                                "sensor_type": "CO2"}, {"value": value},
                                     int(at_s * NS))]))


def test_firing_and_resolved_reach_a_real_webhook_once(config: Config, influx: InfluxClient,
                                                       rules_dir: Path, sink: HttpSink) -> None:
    now = time.time()
    co2(influx, now - 60, 1250)
    engine = Engine.build(config, rules_dir, env={})
    [group] = engine.groups
    engine.run_group(group, at_ns=int(now * NS))
    engine.tick(at_ns=int((now + 2) * NS))           # group_wait has passed
    assert engine.deliver.run_once() == 1
    [firing] = sink.wait_for(1)
    body = firing.json()
    assert body["status"] == "firing"
    assert body["alerts"][0]["room_id"] == "r1"
    assert body["alerts"][0]["value"] == 1250
    assert body["alerts"][0]["annotations"]["summary"] == "CO2 1250 ppm in Everest"

    # A restart re-evaluates the same state: nothing is sent twice.
    again = Engine.build(config, rules_dir, env={})
    again.run_group(group, at_ns=int((now + 3) * NS))
    again.tick(at_ns=int((now + 5) * NS))
    assert again.deliver.run_once() == 0

    co2(influx, now + 350, 850)
    again.run_group(group, at_ns=int((now + 400) * NS))   # only the 850 is in the window
    again.tick(at_ns=int((now + 402) * NS))
    assert again.deliver.run_once() == 1
    resolved = sink.wait_for(2)[1].json()
    assert resolved["status"] == "resolved"
    assert resolved["alerts"][0]["value"] == 850          # the value at resolve time


def test_a_silence_added_on_another_host_mutes_from_the_next_cycle(
        config: Config, influx: InfluxClient, rules_dir: Path, sink: HttpSink,
        state_url: str) -> None:
    now = time.time()
    co2(influx, now - 60, 1250)
    engine = Engine.build(config.with_(state_url=state_url), rules_dir, env={})
    other_host = SilenceStore(config.data_dir.parent / "other-host", state_url=state_url)
    try:
        made = other_host.add({"room_id": "r1"}, starts_ns=int((now - 1) * NS),
                              ends_ns=int((now + 3600) * NS), comment="window open")
        [group] = engine.groups
        engine.run_group(group, at_ns=int(now * NS))
        engine.tick(at_ns=int((now + 2) * NS))
        assert engine.deliver.run_once() == 0
        assert list(engine.dispatcher.suppressed.values()) == ["silenced"]
        other_host.expire(made.id, now_ns=int((now + 2) * NS))
        engine.tick(at_ns=int((now + 3) * NS))              # no longer silenced: group_wait
        engine.tick(at_ns=int((now + 5) * NS))
        assert engine.deliver.run_once() == 1
        assert sink.wait_for(1)[0].json()["status"] == "firing"
    finally:
        other_host.close()
        engine.stop()


def test_one_job_per_group_plus_the_dispatch_tick(config: Config, rules_dir: Path) -> None:
    engine = Engine.build(config, rules_dir, env={})
    scheduler = BackgroundScheduler(timezone="UTC")
    engine.schedule(scheduler)
    assert sorted(job.id for job in scheduler.get_jobs()) == ["dispatch-tick", "group:air"]


def test_groups_first_run_soon_after_the_start_then_every_interval(config: Config,
                                                                    rules_dir: Path) -> None:
    """Not one whole interval after the start: alerts must not wait 60 s plus group_wait."""
    engine = Engine.build(config, rules_dir, env={})
    scheduler = BackgroundScheduler(timezone="UTC")
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    engine.schedule(scheduler, now=start)
    job = scheduler.get_job("group:air")
    assert job.next_run_time == start + timedelta(seconds=FIRST_RUN_DELAY_S)
    following = job.trigger.get_next_fire_time(job.next_run_time, job.next_run_time)
    assert following == start + timedelta(seconds=FIRST_RUN_DELAY_S + 60)


@pytest.mark.parametrize(("interval_s", "delay_s"), [(60.0, FIRST_RUN_DELAY_S), (10.0, 10.0),
                                                     (300.0, FIRST_RUN_DELAY_S)])
def test_first_run_delay_never_exceeds_the_interval(interval_s: float, delay_s: float) -> None:
    assert first_run_delay_s(interval_s) == delay_s


def test_the_engine_pool_holds_every_concurrent_request(config: Config, rules_dir: Path) -> None:
    """Every group querying at once (or writing transitions): no connection beyond the pool."""
    engine = Engine.build(config, rules_dir, env={})
    pool = engine.evaluator.influx._http.connection_from_url(config.influx_url)
    assert pool.pool is not None
    assert pool.pool.maxsize >= len(engine.groups) * engine.evaluator.concurrency + 1


@pytest.mark.parametrize(("groups", "size"), [(1, 8), (2, 8), (5, 11), (20, 41)])
def test_the_pool_grows_with_the_groups(groups: int, size: int) -> None:
    assert influx_pool_size(groups) == size


# ---------------------------------------------------------------------------
# One commit per transition (a second real connection holds the database's write lock)




def quick_failing(engine: Engine) -> Engine:
    """Give up fast: the lock is held for the whole attempt (retries have their own test)."""
    engine.journal.retry = CommitRetry(attempts=2, base_delay_s=0.01)
    assert isinstance(engine.outbox.db, SQLiteDB)
    engine.outbox.db.db.execute("PRAGMA busy_timeout = 50")
    return engine


def sqlite_path(engine: Engine) -> Path:
    assert engine.outbox.path is not None
    return engine.outbox.path


def test_a_failed_commit_changes_nothing_and_the_next_run_derives_it_again(
        config: Config, influx: InfluxClient, rules_dir: Path, sink: HttpSink) -> None:
    now = time.time()
    co2(influx, now - 60, 1250)
    engine = quick_failing(Engine.build(config, rules_dir, env={}))
    [group] = engine.groups
    before = engine.dispatcher.to_json()
    locker = Locker(sqlite_path(engine))
    try:
        result = engine.run_group(group, at_ns=int(now * NS))
        engine.tick(at_ns=int((now + 2) * NS))
    finally:
        locker.release()
    assert result.committed is False and [t.current for t in result.transitions] == ["firing"]
    assert "database is locked" in result.errors[COMMIT_ERROR]      # health checks see it
    assert engine.evaluator.states.rule_ids() == []          # memory did not run ahead
    assert engine.dispatcher.to_json() == before and engine.current == {}
    assert engine.outbox.pending() == [] and engine.outbox.pending_points() == []

    again = engine.run_group(group, at_ns=int((now + 3) * NS))   # the same transition
    assert again.committed and [t.current for t in again.transitions] == ["firing"]
    engine.tick(at_ns=int((now + 5) * NS))
    assert engine.deliver.run_once() == 1
    assert sink.wait_for(1)[0].json()["status"] == "firing"

    # The resolve is the transition a lost commit used to lose for good.
    co2(influx, now + 350, 850)
    locker = Locker(sqlite_path(engine))
    try:
        lost = engine.run_group(group, at_ns=int((now + 400) * NS))
    finally:
        locker.release()
    assert not lost.committed and [a.status for a in lost.alerts] == ["resolved"]
    assert engine.evaluator.states.get("air/co2-high", "r1").status == "firing"
    engine.run_group(group, at_ns=int((now + 401) * NS))
    engine.tick(at_ns=int((now + 403) * NS))
    assert engine.deliver.run_once() == 1
    assert [r.json()["status"] for r in sink.wait_for(2)] == ["firing", "resolved"]
    assert sink.requests[1].json()["alerts"][0]["value"] == 850


def test_a_restart_after_a_commit_neither_resends_nor_forgets(
        config: Config, influx: InfluxClient, rules_dir: Path, sink: HttpSink) -> None:
    """What the process test kills for real: state, dispatcher and outbox come back as one."""
    now = time.time()
    co2(influx, now - 60, 1250)
    first = Engine.build(config, rules_dir, env={})
    [group] = first.groups
    first.run_group(group, at_ns=int(now * NS))
    first.tick(at_ns=int((now + 2) * NS))             # enqueued, never delivered: "killed"
    [pending] = first.outbox.pending()
    first.outbox.close()

    second = Engine.build(config, rules_dir, env={})
    assert second.evaluator.states.get("air/co2-high", "r1").status == "firing"
    second.run_group(group, at_ns=int((now + 3) * NS))
    second.tick(at_ns=int((now + 5) * NS))
    assert [item.id for item in second.outbox.pending()] == [pending.id]
    assert second.deliver.run_once() == 1
    assert [r.json()["id"] for r in sink.wait_for(1)] == [pending.id]


def test_transition_points_wait_out_an_influxdb_outage(
        config: Config, influx: InfluxClient, rules_dir: Path) -> None:
    now = time.time()
    co2(influx, now - 60, 1250)
    engine = Engine.build(config, rules_dir, env={})
    [group] = engine.groups
    result = engine.evaluator.prepare(group, int(now * NS))
    reachable = engine.evaluator.influx
    engine.evaluator.influx = InfluxClient(config.with_(
        influx_url=f"http://127.0.0.1:{free_port()}"), timeout=1.0)   # nothing listens
    assert engine.settle(group, result, int(now * NS)).committed
    assert len(engine.outbox.pending_points()) == 1         # kept, not lost
    assert engine.evaluator.states.get("air/co2-high", "r1").status == "firing"

    engine.evaluator.influx = reachable                    # InfluxDB is back
    engine.tick(at_ns=int((now + 2) * NS))
    assert engine.outbox.pending_points() == []
    [series] = influx.query('SELECT "previous", "status" FROM rule_state GROUP BY "room_id"')
    assert series.tags == {"room_id": "r1"}
    assert [row[1:] for row in series.values] == [["inactive", "firing"]]


def test_states_of_rules_no_longer_in_the_files_are_dropped_at_start(
        config: Config, influx: InfluxClient, rules_dir: Path) -> None:
    now = time.time()
    co2(influx, now - 60, 1250)
    engine = Engine.build(config, rules_dir, env={})
    engine.run_group(engine.groups[0], at_ns=int(now * NS))
    engine.outbox.close()
    assert Engine.build(config, rules_dir, env={}).evaluator.states.rule_ids() == [
        "air/co2-high"]

    (rules_dir / "air.yaml").write_text(RULES.replace("co2-high", "co2-very-high"))
    restarted = Engine.build(config, rules_dir, env={})
    assert restarted.evaluator.states.rule_ids() == []
    assert json.loads(restarted.outbox.load_state()["rules/air"])["rules"] == {}


def test_rule_errors_and_evaluations_are_counted_by_group(config: Config,
                                                         rules_dir: Path) -> None:
    engine = Engine.build(config.with_(influx_url=f"http://127.0.0.1:{free_port()}"),
                          rules_dir, env={})
    [group] = engine.groups
    labels = {"group": "air", "rule": "air/co2-high"}
    errors = REGISTRY.get_sample_value("zrmon_rule_errors_total", labels) or 0.0
    runs = REGISTRY.get_sample_value("zrmon_rule_group_evaluation_seconds_count",
                                     {"group": "air"}) or 0.0
    result = engine.run_group(group)
    assert result.errors and result.committed
    assert REGISTRY.get_sample_value("zrmon_rule_errors_total", labels) == errors + 1
    assert REGISTRY.get_sample_value("zrmon_rule_group_evaluation_seconds_count",
                                     {"group": "air"}) == runs + 1
