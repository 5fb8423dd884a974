"""The per-process objects a Flask app needs, built from a Config and kept on the app.

Flask's pattern: no connection lives at module level; ``create_app`` builds
these once per process (gunicorn workers each build their own after fork)
and views reach them through ``current_app``.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

from flask import Flask, current_app

from monitor.config import Config
from monitor.store.influx import InfluxClient
from monitor.store.quarantine import Quarantine
from monitor.store.spool import SpoolAppender, spool_bytes
from monitor.webhooks.intake import Privacy
from monitor.webhooks.privacy import load_salt
from monitor.webhooks.signature import SignaturePolicy

EXTENSION = "zrmon"


@dataclass
class Services:
    config: Config
    signature: SignaturePolicy
    privacy: Privacy
    spool: SpoolAppender
    quarantine: Quarantine
    influx: InfluxClient
    _ping_lock: threading.Lock = field(default_factory=threading.Lock)
    _ping_at: float = 0.0
    _ping_ok: bool = False

    @classmethod
    def build(cls, config: Config) -> Services:
        return cls(
            config=config,
            signature=SignaturePolicy(config.secret_token.encode("utf-8"),
                                      config.timestamp_window_s, config.retry_window_s),
            privacy=Privacy(load_salt(config.hash_salt, config.state_dir),
                            config.store_visitor_pii),
            spool=SpoolAppender(config.spool_dir, fsync=config.spool_fsync,
                                segment_bytes=config.spool_segment_bytes,
                                max_bytes=config.spool_max_bytes),
            quarantine=Quarantine(config.quarantine_dir),
            influx=InfluxClient(config, timeout=2.0),
        )

    def influx_reachable(self) -> bool:
        """Cached for a second: a load balancer polling /readyz must not load InfluxDB."""
        with self._ping_lock:
            now = time.monotonic()
            if now - self._ping_at > 1.0:
                self._ping_ok = self.influx.ping()
                self._ping_at = now
            return self._ping_ok

    def spool_problem(self) -> str | None:
        directory = self.config.spool_dir
        directory.mkdir(parents=True, exist_ok=True)
        if not os.access(directory, os.W_OK):
            return f"spool directory {directory} is not writable"
        if spool_bytes(directory) >= self.config.spool_max_bytes:
            return "spool is full"
        return None

    def install(self, app: Flask) -> None:
        app.extensions[EXTENSION] = self


def services() -> Services:
    found: Services = current_app.extensions[EXTENSION]
    return found
