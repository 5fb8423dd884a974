"""Two ``zrmon scheduler`` processes on one shared PostgreSQL state: exactly one evaluates and
delivers; a killed or frozen leader is replaced within 30 s and never delivers after it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.processes import CO2_RULES, ZRMON, Scheduler, metric, wait_for
from support.rulesdir import webhook_channel, write_rules_dir
from support.sinks import HttpSink

from monitor.core.config import Config
from monitor.datamodel.points import Point, encode_lines
from monitor.store.influx import InfluxClient

pytestmark = pytest.mark.slow
NS = 1_000_000_000
BY_ROOM = "grouping: {group_by: [room_id], group_wait: 1s, group_interval: 1s}\n"
TAKEOVER_S = 30.0


def co2(influx: InfluxClient, rooms: list[str], value: float) -> None:
    now = time.time_ns()
    influx.write(encode_lines([Point("sensor", {"room_id": room, "room_name": room,
                                                "sensor_type": "CO2"}, {"value": value}, now)
                               for room in rooms]))


@pytest.fixture
def shared(config: Config, influx: InfluxClient, state_url: str, http_sink: HttpSink,
           tmp_path: Path) -> Config:
    rules = write_rules_dir(tmp_path / "rules", rules={"air.yaml": CO2_RULES},
                            channels=webhook_channel(http_sink.url()), notify=BY_ROOM)
    return config.with_(rules_dir=rules, state_url=state_url)


@pytest.fixture
def pair(shared: Config, tmp_path: Path) -> Iterator[list[Scheduler]]:
    started = [Scheduler(shared.with_(data_dir=tmp_path / name, replica=name),
                         tmp_path / f"{name}.log").start() for name in ("s1", "s2")]
    yield started
    for one in started:
        assert one.process is not None
        if one.process.poll() is None:
            os.kill(one.process.pid, signal.SIGCONT)
            one.kill()


def leader(schedulers: list[Scheduler]) -> Scheduler | None:
    leading = [s for s in schedulers
               if metric(s.metrics(), "zrmon_evaluator_leader") == 1.0]
    return leading[0] if len(leading) == 1 else None


def wait_leader(schedulers: list[Scheduler], timeout: float = TAKEOVER_S) -> Scheduler:
    wait_for(lambda: leader(schedulers) is not None, timeout, "one leader")
    found = leader(schedulers)
    assert found is not None
    return found


def ids(sink: HttpSink) -> Counter[str]:
    return Counter(request.json()["id"] for request in sink.delivered())


def statuses(sink: HttpSink, room: str) -> list[str]:
    return [r.json()["status"] for r in sink.delivered()
            if any(a["room_id"] == room for a in r.json()["alerts"])]


def test_one_leader_delivers_every_notification_exactly_once(
        pair: list[Scheduler], influx: InfluxClient, http_sink: HttpSink) -> None:
    wait_leader(pair)
    rooms = [f"room-{n}" for n in range(5)]
    for _ in range(6):                                  # readings over several cycles
        co2(influx, rooms, 1400.0)
        time.sleep(1.0)
    wait_for(lambda: len(ids(http_sink)) >= len(rooms), 30, "a notification per room")
    co2(influx, rooms, 500.0)
    wait_for(lambda: len(ids(http_sink)) >= 2 * len(rooms), 30, "a resolve per room")
    time.sleep(3)                                        # several more cycles: nothing new
    delivered = ids(http_sink)
    assert len(delivered) == 2 * len(rooms) and set(delivered.values()) == {1}
    assert metric(pair[0].metrics(), "zrmon_evaluator_leader") != \
        metric(pair[1].metrics(), "zrmon_evaluator_leader")


def test_a_killed_leader_is_replaced_and_the_resolve_after_it_is_delivered(
        pair: list[Scheduler], influx: InfluxClient, http_sink: HttpSink) -> None:
    first = wait_leader(pair)
    http_sink.hold()                                     # the firing message stays in flight
    co2(influx, ["room-1"], 1400.0)
    http_sink.wait_for(1, timeout=30)
    first.kill()
    killed_at = time.monotonic()
    second = wait_leader([s for s in pair if s is not first])
    assert time.monotonic() - killed_at < TAKEOVER_S
    http_sink.release()
    co2(influx, ["room-1"], 500.0)
    wait_for(lambda: "resolved" in statuses(http_sink, "room-1"), 30, "the resolve")
    assert max(ids(http_sink).values()) <= 2                # only the in-flight one may repeat
    assert second.process is not None and second.process.poll() is None


def test_a_frozen_leader_is_fenced_out_after_the_takeover(
        pair: list[Scheduler], influx: InfluxClient, http_sink: HttpSink) -> None:
    first = wait_leader(pair)
    co2(influx, ["room-1"], 1400.0)
    wait_for(lambda: "firing" in statuses(http_sink, "room-1"), 30, "the firing message")
    assert first.process is not None
    os.kill(first.process.pid, signal.SIGSTOP)
    frozen_at = time.monotonic()
    second = wait_leader([s for s in pair if s is not first])
    assert time.monotonic() - frozen_at < TAKEOVER_S
    co2(influx, ["room-1"], 500.0)
    wait_for(lambda: "resolved" in statuses(http_sink, "room-1"), 30, "the resolve")
    before_wake = len(http_sink.requests)
    os.kill(first.process.pid, signal.SIGCONT)             # it wakes up believing it leads
    co2(influx, ["room-1"], 1400.0)                          # work it would do if not fenced
    time.sleep(8)
    assert max(ids(http_sink).values()) == 1                 # nothing sent twice
    assert "no longer" in first.log_text() or "lost the" in first.log_text()
    assert leader(pair) is second
    assert len(http_sink.requests) >= before_wake


def test_a_silence_added_on_any_host_holds_and_survives_failover(
        pair: list[Scheduler], shared: Config, influx: InfluxClient, http_sink: HttpSink,
        tmp_path: Path) -> None:
    first = wait_leader(pair)
    standby = next(s for s in pair if s is not first)
    env = {**os.environ, **standby.config.to_env()}
    added = subprocess.run([ZRMON, "silence", "add", "room_id=room-9", "--duration", "1h"],
                           env=env, capture_output=True, text=True, timeout=30, check=False)
    assert added.returncode == 0, added.stderr
    co2(influx, ["room-9", "room-8"], 1400.0)
    wait_for(lambda: statuses(http_sink, "room-8") == ["firing"], 30, "the unsilenced room")
    first.kill()
    wait_leader([standby])
    co2(influx, ["room-9"], 1450.0)
    time.sleep(4)                                             # cycles of the new leader
    assert statuses(http_sink, "room-9") == []
