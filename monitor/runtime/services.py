"""The per-process objects a Flask app needs, built from a Config and kept on the app.

Flask's pattern: no connection lives at module level; ``create_app`` builds
these once per process (gunicorn workers each build their own after fork)
and views reach them through ``current_app``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from monitor.core.config import Config
from monitor.runtime.health import Readiness, influx_check, problem_check, state_check
from monitor.store.influx import CachedPing, InfluxClient
from monitor.store.quarantine import Quarantine
from monitor.store.spool import SpoolAppender, disk_problem, spool_bytes
from monitor.store.statefiles import StateHealth
from monitor.webhooks.bounds import limits_of
from monitor.webhooks.intake import Privacy
from monitor.webhooks.privacy import load_salt
from monitor.webhooks.receiver import Receiver
from monitor.webhooks.signature import SignaturePolicy


@dataclass(kw_only=True)
class Services(Receiver):
    config: Config
    influx: InfluxClient
    ping: CachedPing = field(init=False)
    state: StateHealth = field(init=False)

    def __post_init__(self) -> None:
        self.ping = CachedPing(self.influx)
        self.state = StateHealth(self.config)

    @classmethod
    def build(cls, config: Config) -> Services:
        return cls(
            config=config,
            signature=SignaturePolicy(config.secret_token.encode("utf-8"),
                                      config.timestamp_window_s, config.retry_window_s,
                                      config.previous_secret_token.encode("utf-8"),
                                      config.previous_secret_until_s()),
            privacy=Privacy(load_salt(config),
                            config.store_visitor_pii),
            spool=SpoolAppender(config.spool_dir, fsync=config.spool_fsync,
                                segment_bytes=config.spool_segment_bytes,
                                max_bytes=config.spool_max_bytes),
            quarantine=Quarantine(config.quarantine_dir),
            influx=InfluxClient(config, timeout=2.0),
            limits=limits_of(config),
        )

    def spool_problem(self) -> str | None:
        directory = self.config.spool_dir
        directory.mkdir(parents=True, exist_ok=True)
        if not os.access(directory, os.W_OK):
            return f"spool directory {directory} is not writable"
        if spool_bytes(directory) >= self.config.spool_max_bytes:
            return "spool is full"
        return disk_problem(self.config)

    def readiness(self) -> Readiness:
        """What taking a delivery needs; the evaluator's state is only reported here."""
        return Readiness(self.config, (influx_check(self.ping), problem_check(self.spool_problem),
                                       state_check(self.state)), evaluator_gates=False)


