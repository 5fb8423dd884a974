"""``zrmon serve``: the public listener (gunicorn) and the writer, supervised together.

Two process trees, one command: gunicorn's workers answer Zoom and append to
the spool; a single writer process drains it and serves the admin listener.
The writer is restarted if it dies (nothing is lost: it resumes from its
committed offsets); if gunicorn dies the whole service exits non-zero so the
init system or container runtime restarts it.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from monitor.core.config import Config
from monitor.core.exitcodes import EXIT_USAGE
from monitor.store.lock import LOCK_FD_ENV, AlreadyRunningError, RoleLock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Listen:
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 2
    threads: int = 8
    admin_host: str = "127.0.0.1"
    admin_port: int = 9108


SHM = Path("/dev/shm")


def metrics_dir(config: Config, shm: Path = SHM) -> Path:
    """Where the processes' metric files live: in memory, not on the data directory's disk.

    prometheus-client's multiprocess mode writes memory-mapped files, and a process
    touching a new page of one on a full file system dies of SIGBUS: with the files
    beside the spool, a writer restarted on a full disk crashed at once, again and
    again. ``/dev/shm`` (RAM, present on Linux and in containers) keeps them off that
    disk; the name is the data directory's, so one service's files are found again
    and its previous run's are cleared (the writer lock allows one service per data
    directory).
    """
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        return config.data_dir / "metrics"
    digest = hashlib.sha256(str(config.data_dir.resolve()).encode()).hexdigest()[:16]
    return shm / f"zrmon-metrics-{digest}"


def child_env(config: Config) -> dict[str, str]:
    directory = metrics_dir(config)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    return {**os.environ, **config.to_env(), "PROMETHEUS_MULTIPROC_DIR": str(directory.resolve())}


def gunicorn_command(listen: Listen) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "--config", "python:monitor.runtime.gunicorn_conf",
            "--bind", f"{listen.host}:{listen.port}", "--workers", str(listen.workers),
            "--threads", str(listen.threads), "monitor.runtime.app:create_app()"]


def writer_command(listen: Listen) -> list[str]:
    return [sys.executable, "-m", "monitor.cli", "writer", "--admin-host", listen.admin_host,
            "--admin-port", str(listen.admin_port)]


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """If the supervisor is SIGKILLed, its children get SIGKILL too (Linux), no orphans."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


class Supervisor:
    def __init__(self, config: Config, listen: Listen) -> None:
        self.config = config
        self.listen = listen
        self.stopping = False
        self.env: dict[str, str] = {}
        self.writer: subprocess.Popen[bytes] | None = None
        self.web: subprocess.Popen[bytes] | None = None
        self.lock = RoleLock(config.state_dir, "writer")

    def run(self) -> int:
        for directory in (self.config.spool_dir, self.config.quarantine_dir,
                          self.config.state_dir):
            directory.mkdir(parents=True, exist_ok=True)
        try:
            self.lock = RoleLock(self.config.state_dir, "writer").acquire()
        except AlreadyRunningError as exc:
            print(f"zrmon: {exc}", file=sys.stderr)
            return exc.exit_code
        self.env = {**child_env(self.config), LOCK_FD_ENV: str(self.lock.fileno())}
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        self.writer = self._start(writer_command(self.listen), (self.lock.fileno(),))
        self.web = self._start(gunicorn_command(self.listen))
        print(f"zrmon: webhooks on http://{self.listen.host}:{self.listen.port}/webhooks/zoom, "
              f"metrics on http://{self.listen.admin_host}:{self.listen.admin_port}/metrics",
              file=sys.stderr, flush=True)
        return self._watch()

    def _start(self, command: list[str],
               pass_fds: tuple[int, ...] = ()) -> subprocess.Popen[bytes]:
        # Own process group: a terminal's Ctrl-C reaches only us, and we stop the children
        # with one orderly SIGTERM (gunicorn's gthread workers can deadlock when SIGINT from
        # the terminal and SIGQUIT from their master arrive together). The writer shares
        # our writer lock through ``pass_fds``.
        return subprocess.Popen(command, env=self.env, process_group=0, pass_fds=pass_fds,
                                preexec_fn=_die_with_parent)  # noqa: PLW1509 (no threads here)

    def _watch(self) -> int:
        status = 0
        while not self.stopping:
            time.sleep(0.2)
            assert self.web is not None and self.writer is not None
            if self.web.poll() is not None:
                log.error("gunicorn exited with %s", self.web.returncode)
                status = 1
                break
            if self.writer.poll() is not None and not self.stopping:
                if self.writer.returncode == EXIT_USAGE:   # refused: its reason is on stderr
                    # It refused to start (another evaluator owns the rule state): a
                    # restart would refuse again, so the whole service stops, saying why.
                    status = EXIT_USAGE
                    break
                print(f"zrmon: writer exited with {self.writer.returncode}; restarting",
                      file=sys.stderr, flush=True)
                time.sleep(1.0)
                self.writer = self._start(writer_command(self.listen), (self.lock.fileno(),))
        self._shutdown()
        return status

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def _shutdown(self) -> None:
        for process in (self.web, self.writer):
            if process is not None and process.poll() is None:
                process.terminate()
        for process in (self.web, self.writer):
            if process is None:
                continue
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        # The metric files are in memory (/dev/shm): give it back once nobody writes them.
        shutil.rmtree(metrics_dir(self.config), ignore_errors=True)
