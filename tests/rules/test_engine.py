"""The whole rule path against real servers: InfluxDB in, a webhook notification out."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from notify.support import HttpSink

from monitor.config import Config
from monitor.ingest.points import Point, encode_lines
from monitor.rules.engine import (
    FIRST_RUN_DELAY_S,
    Engine,
    first_run_delay_s,
    influx_pool_size,
)
from monitor.store.influx import InfluxClient

NS = 10**9
RULES = """\
group: air
interval: 1m
rules:
  - name: co2-high
    sensor: CO2
    window: 5m
    levels:
      warning: {above: 1000, resolve_below: 900}
    annotations:
      summary: "CO2 {{ value | round | int }} ppm in {{ room_name }}"
    notify: [hook]
"""
POLICY = """\
grouping: {group_by: [rule], group_wait: 1s, group_interval: 1s, repeat_interval: 1h}
"""


@pytest.fixture
def sink(http_sink: HttpSink) -> HttpSink:
    return http_sink


@pytest.fixture
def rules_dir(tmp_path: Path, sink: HttpSink) -> Path:
    directory = tmp_path / "rules"
    directory.mkdir()
    (directory / "air.yaml").write_text(RULES)
    (directory / "notify.yaml").write_text(POLICY)
    (directory / "channels.yaml").write_text(
        f"channels:\n  hook: {{type: webhook, url: \"{sink.url()}\"}}\n")
    return directory


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
