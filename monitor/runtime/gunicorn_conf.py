"""Gunicorn settings and hooks for the public listener (used by ``zrmon serve``).

The ``gthread`` worker keeps Zoom's connections alive and lets the spool's
fsync of one request overlap with the parsing of the next.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from monitor.webhooks.receiver import EXTENSION as RECEIVER

worker_class = "gthread"
keepalive = 75          # Zoom reuses connections; longer than typical LB idle timeouts
graceful_timeout = 20
timeout = 30
accesslog = None
errorlog = "-"
loglevel = "warning"
limit_request_field_size = 8190
# gunicorn ≥ 23 opens a control socket in ~/.gunicorn shared by every instance on the
# host; we do not use it, and two services must not fight over it.
control_socket_disable = True


def worker_exit(server: Any, worker: Any) -> None:
    """Seal this worker's spool segment so the writer can delete it once drained."""
    app = getattr(worker, "wsgi", None)
    services = getattr(app, "extensions", {}).get(RECEIVER) if app is not None else None
    if services is not None:
        with contextlib.suppress(OSError):
            services.spool.close()


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
