"""Run a private ``influxd`` (InfluxDB 1.x) in a directory of our own.

``make run``, the test suite and the benchmarks all need a real server that
nobody else is using. Debian's package ships ``/usr/bin/influxd`` with a
system-wide config; we write our own config instead so every path, port and
log lives under one directory and several servers can run side by side.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from monitor.core.errors import ServiceError

INSTALL_HINT = (
    "influxd not found: install InfluxDB 1.x, e.g. as root "
    "`apt-get update && apt-get install -y influxdb`, or set ZRMON_INFLUX_URL "
    "to a server you already run"
)

_CONFIG = """\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{root}/meta"
  logging-enabled = false

[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  query-log-enabled = false
  index-version = "inmem"
  max-series-per-database = 0
  max-values-per-tag = 0

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{http_port}"
  log-enabled = false
  max-body-size = 0

[continuous_queries]
  log-enabled = false
"""


def free_port() -> int:
    """A loopback port nobody is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class InfluxdError(ServiceError):
    """A private influxd could not be started (not installed, or never answered)."""


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def find_influxd() -> str | None:
    return shutil.which("influxd") or (
        "/usr/bin/influxd" if os.path.exists("/usr/bin/influxd") else None
    )


@dataclass
class LocalInfluxd:
    """One influxd process whose data, config and log live under ``root``."""

    root: Path
    http_port: int = 0
    rpc_port: int = 0
    binary: str | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, timeout: float = 30.0) -> LocalInfluxd:
        binary = self.binary or find_influxd()
        if binary is None:
            raise InfluxdError(INSTALL_HINT)
        self.root.mkdir(parents=True, exist_ok=True)
        self.http_port = self.http_port or free_port()
        self.rpc_port = self.rpc_port or free_port()
        config = self.root / "influxdb.conf"
        config.write_text(
            _CONFIG.format(root=self.root.resolve(), http_port=self.http_port,
                           rpc_port=self.rpc_port)
        )
        log = (self.root / "influxd.log").open("ab")
        self.process = subprocess.Popen(
            [binary, "-config", str(config)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise InfluxdError(
                    f"influxd exited with {self.process.returncode}; see {self.root}/influxd.log"
                )
            if ping(self.url):
                return
            time.sleep(0.05)
        raise InfluxdError(f"influxd did not answer /ping within {timeout:.0f}s")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Stop abruptly: what a crash or an OOM kill looks like to us."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self, timeout: float = 30.0) -> None:
        """Start again on the same ports and data, as after an outage."""
        self.stop()
        self.start(timeout)

    def __enter__(self) -> LocalInfluxd:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def ping(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/ping", timeout=timeout) as response:
            return int(response.status) == 204
    except (urllib.error.URLError, OSError):
        return False
