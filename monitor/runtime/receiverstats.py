"""The receiver's own counters, written to InfluxDB where the rules can see them.

Rules evaluate InfluxQL, so "Zoom has gone quiet" and "requests fail their
signature" (usually a rotated secret) must be stored like any reading. The
gunicorn workers already count every delivery in the Prometheus multiprocess
registry (``zrmon_events_received_total`` by outcome); once per
``ZRMON_RECEIVER_STATS_S`` the writer process adds up the workers' counters and
writes ONE point, measurement ``zrmon_receiver``, with what changed since the
last point:

* ``deliveries``: signed requests from Zoom (any outcome but ``unauthorized``),
* ``signature_failures``: requests refused with 401.

One small point per interval whatever the traffic: unsigned junk can never
fill the database or the disk, as one record per bad request could.

Nothing is lost or counted twice across restarts: the totals already
written are kept in ``state/receiver-stats.json`` together with the
generation of the metrics directory (``zrmon serve`` empties it when it
starts), and a failed write leaves them unchanged, so the next point carries
the counts. Every interval gets a point, zeros included: a silent rule over
``deliveries`` then means Zoom sent nothing, not that nobody looked.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry

from monitor.core.atomicfile import StateFileError, create_exclusive
from monitor.core.config import Config
from monitor.core.jsonutil import read_json_state, write_atomic
from monitor.datamodel.measurements import RECEIVER
from monitor.datamodel.points import Point, encode_lines
from monitor.store.influx import InfluxClient, InfluxError

log = logging.getLogger("monitor.runtime.receiverstats")
STATE_FILE = "receiver-stats.json"
GENERATION_FILE = ".receiver-stats-generation"    # not *.db: prometheus-client ignores it
EVENTS_METRIC = "zrmon_events_received"
UNAUTHORIZED = "unauthorized"
Totals = dict[str, int]


def read_totals(multiproc_dir: str | None = None) -> Totals:
    """Deliveries and signature failures counted so far by every receiver process."""
    directory = multiproc_dir if multiproc_dir is not None \
        else os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    totals: Totals = {"deliveries": 0, "signature_failures": 0}
    for metric in registry.collect():
        if metric.name not in (EVENTS_METRIC, f"{EVENTS_METRIC}_total"):
            continue
        for sample in metric.samples:
            if not sample.name.endswith("_total"):
                continue
            key = "signature_failures" if sample.labels.get("outcome") == UNAUTHORIZED \
                else "deliveries"
            totals[key] += int(sample.value)
    return totals


def generation(multiproc_dir: str | None) -> str:
    """An id for the current set of counters: new whenever they start again from zero."""
    if not multiproc_dir:
        return f"process-{os.getpid()}-{uuid.uuid4().hex}"
    marker = Path(multiproc_dir) / GENERATION_FILE
    try:
        return marker.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        create_exclusive(marker, uuid.uuid4().hex.encode("ascii"))   # the first one wins
        return marker.read_text(encoding="utf-8").strip()


def increase(totals: Mapping[str, int], written: Mapping[str, int]) -> Totals:
    """What to write: the growth since the last point (the whole total after a reset)."""
    out = {}
    for key, now in totals.items():
        before = int(written.get(key, 0))
        out[key] = now - before if now >= before else now
    return out


class ReceiverStats:
    """The thread beside the writer loop that writes one ``zrmon_receiver`` point per interval."""

    def __init__(self, config: Config, stop: threading.Event,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self.config = config
        self.stop = stop
        self.clock = clock
        self.influx = InfluxClient(config, timeout=5.0)
        self.state_path = config.state_dir / STATE_FILE
        self.multiproc_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        self.generation = ""

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="receiver-stats", daemon=True)
        thread.start()
        return thread

    def run(self) -> None:
        self.generation = generation(self.multiproc_dir)
        while not self.stop.wait(self.config.receiver_stats_s):
            self.record()
        self.record()       # what the last, partial interval counted

    def record(self) -> Point | None:
        """Write one point; None when InfluxDB refused it (its counts go into the next one)."""
        if not self.generation:
            self.generation = generation(self.multiproc_dir)
        totals = read_totals(self.multiproc_dir)
        try:
            state = read_json_state(self.state_path, dict)
        except StateFileError as exc:   # counting on beats stopping the rules' input
            log.error("%s; counting from this process's totals", exc)
            state = {}
        written = state.get("totals", {}) if state.get("generation") == self.generation else {}
        fields = increase(totals, written)
        point = Point(RECEIVER, {}, dict(fields), self.clock())
        try:
            self.influx.write(encode_lines([point]))
        except InfluxError as exc:
            log.warning("receiver counters not written (next interval carries them): %s", exc)
            return None
        write_atomic(self.state_path, {"generation": self.generation, "totals": totals})
        return point
