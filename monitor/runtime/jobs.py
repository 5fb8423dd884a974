"""Everything the one scheduling process runs: rule groups, raw-data pruning, reports.

``zrmon serve`` (in its writer process) and ``zrmon scheduler`` both call
:func:`schedule_jobs`, so a split deployment runs exactly the same jobs.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from monitor.core.config import Config
from monitor.runtime.engine import Engine

log = logging.getLogger("monitor.runtime.jobs")
PRUNE_CRON = "17 3 * * *"     # daily, off the hour: raw readings past ZRMON_RAW_RETENTION


def schedule_jobs(config: Config, engine: Engine, scheduler: Any) -> None:
    """Rule groups, the daily prune and the reports of ``rules/reports.yaml``.

    A broken reports.yaml raises (``ConfigFileError``, a ValueError) before any job
    is added, so the caller decides whether that stops the process.
    """
    from apscheduler.triggers.cron import CronTrigger

    from monitor.reports.schedule import add_report_jobs, load_schedule

    reports = load_schedule(config.rules_dir)     # validate first: all jobs or none
    quiet_apscheduler()
    engine.schedule(scheduler)
    scheduler.add_job(prune_job, CronTrigger.from_crontab(PRUNE_CRON, timezone="UTC"),
                      args=(config,), id="prune-raw", name="prune raw readings",
                      replace_existing=True, coalesce=True, max_instances=1,
                      misfire_grace_time=6 * 3600)
    add_report_jobs(config, reports, scheduler)
    log.info("scheduled %d rule groups, the daily prune and %d reports",
             len(engine.groups), len(reports))


def quiet_apscheduler() -> None:
    """APScheduler logs two INFO lines per job run: with the 10 s dispatch tick, a flood.

    Here, not in ``zrmon``'s ``main``: this is the one function every scheduling
    process calls (``serve``'s writer and ``scheduler``), and the other commands never
    load APScheduler. Its warnings (missed runs, job errors) still show, and an
    explicit level set for the ``apscheduler`` logger elsewhere wins.
    """
    logger = logging.getLogger("apscheduler")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)


def prune_job(config: Config) -> None:
    from monitor.store.influx import InfluxClient, InfluxError
    from monitor.store.retention import prune_raw

    try:
        statement = prune_raw(InfluxClient(config, timeout=600.0), config, time.time_ns())
    except InfluxError as exc:
        log.error("pruning raw readings failed (retried tomorrow): %s", exc)
        return
    if statement:
        log.info("pruned raw readings: %s", statement)
