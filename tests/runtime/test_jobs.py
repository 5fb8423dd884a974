"""The one scheduling process runs rule groups, the daily raw-data prune and the reports."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from support.paths import RULES

from monitor.core.config import Config
from monitor.core.configfile import ConfigFileError
from monitor.notify.outbox import Outbox
from monitor.runtime.engine import Engine
from monitor.runtime.jobs import PRUNE_CRON, once_per_slot, prune_job, schedule_jobs


def test_the_shipped_rules_directory_schedules_every_job(config: Config) -> None:
    config = config.with_(rules_dir=RULES)
    scheduler = BackgroundScheduler(timezone="UTC")
    schedule_jobs(config, Engine.build(config, RULES), scheduler)
    assert {job.id for job in scheduler.get_jobs()} == {
        "group:air-quality", "group:room-health", "group:webhooks", "dispatch-tick",
        "prune-raw",
        "report:monthly-air-quality", "report:weekly-uptime"}


def test_a_broken_reports_file_adds_no_job_at_all(config: Config, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    (rules / "reports.yaml").write_text("reports:\n  - {name: x, cron: 'not cron'}\n")
    config = config.with_(rules_dir=rules)
    scheduler = BackgroundScheduler(timezone="UTC")
    with pytest.raises(ConfigFileError):
        schedule_jobs(config, Engine.build(config, rules), scheduler)
    assert scheduler.get_jobs() == []


def test_a_scheduled_slot_runs_once_whichever_leader_asks(state_url: str, tmp_path: Path) -> None:
    """A leader replaced mid-slot: its successor's catch-up run of the same slot is skipped."""
    old = Outbox.open(tmp_path / "a", state_url)
    new = Outbox.open(tmp_path / "b", state_url)
    try:
        assert once_per_slot(old, "host-a")("prune-raw", PRUNE_CRON)
        assert not once_per_slot(new, "host-b")("prune-raw", PRUNE_CRON)
        assert once_per_slot(new, "host-b")("report:monthly", "0 6 1 * *")   # another job
    finally:
        old.close()
        new.close()


def test_a_prune_whose_slot_is_taken_does_not_run(config: Config, tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    outbox = Outbox.open(tmp_path / "state")
    try:
        gate = once_per_slot(outbox, "here")
        assert gate("prune-raw", PRUNE_CRON)
        with caplog.at_level("INFO", logger="monitor.runtime.jobs"):
            prune_job(config.with_(influx_url="http://127.0.0.1:9"), gate)
        assert "already pruned for this slot" in caplog.text     # never reached InfluxDB
    finally:
        outbox.close()
