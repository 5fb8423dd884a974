"""Everything the one scheduling process runs: rule groups, raw-data pruning, reports.

``zrmon serve`` (in its writer process) and ``zrmon scheduler`` both call
:func:`schedule_jobs`, so a split deployment runs exactly the same jobs.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.core.config import Config
from monitor.notify.outbox import Outbox
from monitor.reports.schedule import Gate
from monitor.runtime.engine import Engine

log = logging.getLogger("monitor.runtime.jobs")
PRUNE_CRON = "17 3 * * *"     # daily, off the hour: raw readings past ZRMON_RAW_RETENTION
PRUNE_GRACE_S = 6 * 3600


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
    gate = once_per_slot(engine.outbox, config.replica_id())
    scheduler.add_job(prune_job, CronTrigger.from_crontab(PRUNE_CRON, timezone="UTC"),
                      args=(config, gate), id="prune-raw", name="prune raw readings",
                      replace_existing=True, coalesce=True, max_instances=1,
                      misfire_grace_time=PRUNE_GRACE_S)
    add_report_jobs(config, reports, scheduler, gate)
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


def once_per_slot(outbox: Outbox, holder: str) -> Gate:
    """A job's slot is the cron time it runs for; the first process to take it runs it.

    The slot is the first fire time within the job's misfire grace before now, so a
    run that starts late, or a new leader's catch-up run, names the same slot.
    """
    from apscheduler.triggers.cron import CronTrigger

    from monitor.reports.schedule import MISFIRE_GRACE_S

    def gate(job: str, cron: str) -> bool:
        now = datetime.now(UTC)
        grace = PRUNE_GRACE_S if job == "prune-raw" else MISFIRE_GRACE_S
        slot = CronTrigger.from_crontab(cron, timezone="UTC").get_next_fire_time(
            None, now - timedelta(seconds=grace))
        return outbox.claim_job_run(job, (slot or now).isoformat(), holder, time.time_ns())

    return gate


def prune_job(config: Config, gate: Gate | None = None) -> None:
    from monitor.store.influx import InfluxClient, InfluxError
    from monitor.store.retention import prune_raw

    if gate is not None and not gate("prune-raw", PRUNE_CRON):
        log.info("raw readings already pruned for this slot")
        return
    try:
        statement = prune_raw(InfluxClient(config, timeout=600.0), config, time.time_ns())
    except InfluxError as exc:
        log.error("pruning raw readings failed (retried tomorrow): %s", exc)
        return
    if statement:
        log.info("pruned raw readings: %s", statement)
