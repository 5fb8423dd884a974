"""The evaluator as a service: start-up refusal, group health, the state file, the heartbeat.

The processes themselves are exercised in ``tests/service/test_config_errors.py``
and ``tests/service/test_heartbeat.py``; here the pieces, with real files and a
real local HTTP receiver.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

from support.sinks import HttpSink

from monitor.core.config import Config
from monitor.notify.policy import Heartbeat
from monitor.rules.evaluate import GroupResult
from monitor.rules.model import Group
from monitor.runtime.evaluator import (
    STALE_AFTER_S,
    GroupHealth,
    Watch,
    allowed_lag_s,
    evaluator_state,
    startup_problem,
    status_path,
    write_status,
)

NS = 1_000_000_000
T0 = 1_800_000_000 * NS
GROUPS = [Group("fast", 10.0, ()), Group("slow", 60.0, ())]


def test_allowed_lag_is_two_missed_runs_plus_slack() -> None:
    assert allowed_lag_s(1.0) == 3.0
    assert allowed_lag_s(60.0) == 150.0
    assert allowed_lag_s(600.0) == 1230.0


def test_a_group_without_a_good_evaluation_in_time_is_the_problem() -> None:
    health = GroupHealth(GROUPS, started_ns=T0)
    assert health.problem(T0 + 30 * NS) is None          # 30 s: within 2 x 10 s + 10 s
    assert health.not_yet_evaluated() == "waiting for the first evaluation of fast, slow"
    health.record("fast", "air/co2-high: InfluxDB unreachable", T0 + 20 * NS)
    assert health.problem(T0 + 31 * NS) == (
        "group fast not evaluated successfully for 31s: air/co2-high: InfluxDB unreachable")
    health.record("fast", None, T0 + 31 * NS)
    health.record("slow", None, T0 + 31 * NS)
    assert health.problem(T0 + 60 * NS) is None
    assert health.not_yet_evaluated() is None


def test_scheduler_events_feed_the_health() -> None:
    health = GroupHealth(GROUPS, started_ns=0)
    health.on_job_event(SimpleNamespace(job_id="dispatch-tick", exception=None, retval=None))
    assert health.evaluated == set()
    health.on_job_event(SimpleNamespace(job_id="group:fast", exception=None,
                                        retval=GroupResult()))
    assert health.evaluated == {"fast"}
    failing = GroupResult(errors={"slow/b": "HTTP 500\nmore", "slow/a": "timed out"})
    health.on_job_event(SimpleNamespace(job_id="group:slow", exception=None, retval=failing))
    assert health.last_error["slow"] == "slow/a: timed out"
    health.on_job_event(SimpleNamespace(job_id="group:slow", exception=OSError("disk full"),
                                        retval=None))
    assert health.last_error["slow"] == "disk full"
    assert "slow" not in health.evaluated


def test_the_state_file_says_running_failed_stale_or_disabled(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path)
    assert evaluator_state(config.with_(evaluate=False)) == "disabled"
    assert evaluator_state(config) == "starting"
    write_status(config, None, T0)
    assert evaluator_state(config, T0 + NS) == "running"
    write_status(config, "group fast not evaluated successfully for 31s", T0)
    assert evaluator_state(config, T0 + NS) == (
        "failed: group fast not evaluated successfully for 31s")
    stale = T0 + int((STALE_AFTER_S + 1) * NS)
    assert evaluator_state(config, stale).startswith("failed: the evaluator has not reported")
    status_path(config).write_text("")                  # what a crash mid-write leaves
    assert evaluator_state(config).startswith(f"failed: {status_path(config)}: is empty")


def test_startup_refuses_a_missing_or_broken_directory(tmp_path: Path) -> None:
    missing = tmp_path / "rules"
    problem = startup_problem(missing)
    assert problem is not None and problem.startswith(
        f"{missing}: rules directory does not exist (ZRMON_RULES_DIR; ")
    missing.mkdir()
    (missing / "a.yaml").write_text("group: a\nrules:\n  - name: x\n")
    (missing / "notify.yaml").write_text("grouping: {group_wiat: 1s}\n")
    problem = startup_problem(missing)
    assert problem is not None and "\n" not in problem
    assert problem.startswith(f"{missing / 'a.yaml'}:3: rules.0: needs one of sensor")
    assert problem.endswith(f"(and 3 more: zrmon rules check {missing})")
    (missing / "a.yaml").write_text("group: a\nrules: []\n")
    (missing / "notify.yaml").unlink()
    (missing / "channels.yaml").write_text("channels: {log: {type: log}}\n")
    assert startup_problem(missing) is None


def test_the_heartbeat_pings_only_while_healthy(tmp_path: Path, http_sink: HttpSink) -> None:
    now = [T0]
    health = GroupHealth(GROUPS, started_ns=T0)
    watch = Watch(Config(data_dir=tmp_path), health, Heartbeat(http_sink.url("/hb"), 10 * NS),
                  clock=lambda: now[0])
    assert watch.beat() is False                       # no group has evaluated yet
    health.record("fast", None, T0)
    health.record("slow", None, T0)
    assert watch.beat() is True
    [ping] = http_sink.wait_for(1)
    assert (ping.path, ping.json()["status"], ping.json()["groups"]) == ("/hb", "ok",
                                                                          ["fast", "slow"])
    now[0] = T0 + 31 * NS                              # "fast" is overdue
    assert watch.beat() is False
    http_sink.fail_next(1, 503)
    health.record("fast", None, now[0])
    assert watch.beat() is False                       # the service is down: not heard
    assert watch.beat() is True
    assert len(http_sink.wait_for(3)) == 3


def test_report_writes_the_state_for_other_processes(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path)
    now = [T0]
    health = GroupHealth(GROUPS, started_ns=T0)
    watch = Watch(config, health, clock=lambda: now[0])
    watch.report()
    assert evaluator_state(config, T0) == "running"
    now[0] = T0 + 200 * NS
    watch.report()
    assert evaluator_state(config, now[0]).startswith("failed: group fast not evaluated")
    assert os.stat(status_path(config)).st_mode & 0o777 == 0o600
