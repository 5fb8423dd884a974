"""The admin listener's views: Prometheus metrics and health, never exposed to Zoom's side."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

from flask import Blueprint, Flask, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from monitor.core.config import Config
from monitor.notify.outbox_metrics import OutboxCollector
from monitor.runtime.evaluator import evaluator_leads, evaluator_state
from monitor.runtime.health import Readiness, influx_check, problem_check, state_check
from monitor.store.influx import CachedPing, InfluxClient
from monitor.store.quarantine import Quarantine
from monitor.store.spool import disk_problem, free_bytes, spool_status
from monitor.store.state import read_offsets
from monitor.store.statefiles import StateHealth

bp = Blueprint("admin", __name__)

EXTENSION = "zrmon_admin"


@dataclass
class AdminServices:
    """The admin app's per-process objects, built once by ``create_admin_app``.

    Like :class:`monitor.runtime.services.Services` for the receiver: nothing is made
    at import or inside a view, and views reach these through ``current_app``.
    """

    config: Config
    ping: CachedPing
    state: StateHealth
    registry: CollectorRegistry

    @classmethod
    def build(cls, config: Config) -> AdminServices:
        return cls(config=config, ping=CachedPing(InfluxClient(config, timeout=2.0)),
                   state=StateHealth(config), registry=build_registry(config))

    def readiness(self) -> Readiness:
        """InfluxDB, disk space and state files; a failed evaluator makes it unready too."""
        return Readiness(self.config, (influx_check(self.ping),
                                       problem_check(lambda: disk_problem(self.config)),
                                       state_check(self.state)), evaluator_gates=True)

    def install(self, app: Flask) -> None:
        app.extensions[EXTENSION] = self
        self.readiness().install(app)


def admin_services() -> AdminServices:
    found: AdminServices = current_app.extensions[EXTENSION]
    return found


class DiskCollector(Collector):
    """Spool and quarantine gauges read from disk at scrape time, so never stale."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.state = StateHealth(config)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        status = spool_status(self.config.spool_dir, read_offsets(self.config))
        yield GaugeMetricFamily("zrmon_spool_depth", "Events spooled but not yet in InfluxDB.",
                                value=status.depth)
        yield GaugeMetricFamily("zrmon_spool_bytes", "Bytes spooled but not yet in InfluxDB.",
                                value=status.bytes)
        yield GaugeMetricFamily("zrmon_spool_oldest_age_seconds",
                                "Age of the oldest event not yet in InfluxDB.",
                                value=status.oldest_age_s(time.time_ns()))
        yield GaugeMetricFamily("zrmon_disk_free_bytes",
                                "Free bytes on the data directory's file system.",
                                value=free_bytes(self.config.data_dir))
        yield GaugeMetricFamily("zrmon_state_file_errors",
                                "State files that exist but cannot be used (see /readyz).",
                                value=len(self.state.problems()))
        yield GaugeMetricFamily("zrmon_quarantine_events",
                                "Signed events kept in quarantine awaiting replay.",
                                value=Quarantine(self.config.quarantine_dir).count())
        if self.config.evaluate:
            state = evaluator_state(self.config)
            yield GaugeMetricFamily(
                "zrmon_evaluator_up", "1 while every rule group evaluates on time, else 0.",
                value=1 if state == "running" else 0)
            yield GaugeMetricFamily(
                "zrmon_evaluator_leader",
                "1 while this process leads evaluation, 0 while it stands by (docs/ha.md).",
                value=1 if evaluator_leads(self.config) else 0)


def build_registry(config: Config) -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = CollectorRegistry()
        registry.register(_Forward(REGISTRY))
    registry.register(DiskCollector(config))
    registry.register(OutboxCollector(config.state_dir, config.state_url))
    return registry


class _Forward(Collector):
    """Expose this process's default registry beside the disk gauges."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self.source.collect()  # type: ignore[misc]


@bp.get("/metrics")
def metrics() -> Response:
    return Response(generate_latest(admin_services().registry), mimetype=CONTENT_TYPE_LATEST)
