"""The one scheduling process runs rule groups, the daily raw-data prune and the reports."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from support.paths import RULES

from monitor.core.config import Config
from monitor.core.configfile import ConfigFileError
from monitor.runtime.engine import Engine
from monitor.runtime.jobs import schedule_jobs


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
