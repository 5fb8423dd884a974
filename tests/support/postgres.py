"""A real PostgreSQL server for tests: Debian's binaries, a temp data dir, a free loopback port.

``initdb`` refuses to run as root, so as root the cluster belongs to the
``postgres`` user (``runuser``) in a directory that user owns; otherwise it
runs as whoever runs the tests. Authentication is ``trust`` on loopback only.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from monitor.store.influxd import free_port

BIN_GLOB = "/usr/lib/postgresql/*/bin"
INSTALL_HINT = ("PostgreSQL is not installed: as root `apt-get install -y postgresql` "
                "(.ci/run does it)")


def postgres_bin() -> Path:
    found = sorted(glob.glob(BIN_GLOB), key=lambda p: int(Path(p).parent.name))
    if not found:
        raise RuntimeError(INSTALL_HINT)
    return Path(found[-1])


@dataclass
class LocalPostgres:
    """One PostgreSQL cluster under a temp directory, on 127.0.0.1:``port``."""

    port: int = 0
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="zrmon-pg-")))
    database: str = "zrmon"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def _as_owner(self, *argv: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else list(argv)

    def _run(self, *argv: str, timeout: float = 60) -> None:
        subprocess.run(self._as_owner(*argv), check=True, capture_output=True, timeout=timeout)

    def start(self) -> LocalPostgres:
        binaries = postgres_bin()
        self.port = self.port or free_port()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        if not self.data.exists():
            self._run(str(binaries / "initdb"), "-D", str(self.data), "-U", "postgres",
                      "--auth=trust", "-E", "UTF8", "--no-sync")
        self.resume()
        self.create_database(self.database)
        return self

    def create_database(self, name: str) -> str:
        """A new empty database on this server; its URL."""
        self._run(str(postgres_bin() / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                  "-U", "postgres", name)
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def resume(self) -> None:
        """Start the server on its data directory (again, after :meth:`stop`)."""
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
                   "-c fsync=off -c max_connections=200")
        self._run(str(postgres_bin() / "pg_ctl"), "-D", str(self.data), "-l",
                  str(self.root / "postgres.log"), "-o", options, "-w", "-t", "60", "start",
                  timeout=90)

    def stop(self) -> None:
        self._run(str(postgres_bin() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                  "stop")

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = subprocess.run([str(postgres_bin() / "pg_isready"), "-h", "127.0.0.1", "-p",
                                   str(self.port)], capture_output=True, check=False)
            if done.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL on port {self.port} not ready within {timeout:.0f}s")
