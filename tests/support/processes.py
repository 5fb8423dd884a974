"""Real ``zrmon`` processes for the service tests: start, stop, kill, find children."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from monitor.core.config import Config
from monitor.datamodel.points import Point, encode_lines
from monitor.store.influx import InfluxClient
from monitor.store.influxd import free_port
from support.events import encode, signed_headers
from support.rulesdir import SUMMARY, co2_rule
from support.sinks import HttpSink

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"   # Debian's prometheus package
ZRMON = str(Path(sys.executable).parent / "zrmon")
NS = 1_000_000_000
# One CO2 rule with hysteresis notifying channel "hook": what the scheduler tests evaluate.
CO2_RULES = co2_rule(notify="hook", aggregate="last", summary=SUMMARY,
                     warning="{above: 1000, resolve_below: 900}")


@dataclass
class Service:
    config: Config
    port: int
    admin_port: int
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    args: tuple[str, ...] = ()          # more `zrmon serve` flags, e.g. ("--no-rules",)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> Service:
        env = {**os.environ, **self.config.to_env()}
        assert self.log is not None
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            [ZRMON, "serve", "--port", str(self.port), "--admin-port", str(self.admin_port),
             "--workers", "2", *self.args],
            env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        handle.close()
        self.wait_listening(timeout)
        return self

    def wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise AssertionError(f"zrmon serve did not start:\n{self.log_text()}")

    def post(self, event: dict[str, Any], **signing: Any) -> int:
        """POST one signed event to this service's public listener; the status code."""
        body = encode(event)
        answer = requests.post(f"{self.url}/webhooks/zoom", data=body,
                               headers=signed_headers(body, **signing), timeout=10)
        return int(answer.status_code)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log and self.log.exists() else ""

    def readyz(self) -> tuple[int, str]:
        """The public listener's /readyz: status and body; (0, "") while it does not answer."""
        try:
            response = requests.get(f"{self.url}/readyz", timeout=5)
        except requests.RequestException:
            return 0, ""
        return response.status_code, response.text

    def metrics(self) -> str:
        """The admin listener's /metrics, summed over every process; empty until it listens.

        The writer process serves it, so it may start listening after the receiver does.
        """
        try:
            return requests.get(f"http://127.0.0.1:{self.admin_port}/metrics", timeout=5).text
        except requests.RequestException:
            return ""

    def stop(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.kill_everything()
            log = self.log_text()
            raise AssertionError(f"zrmon serve did not stop on SIGINT:\n{log}") from None

    def kill_everything(self) -> None:
        """SIGKILL the supervisor, gunicorn, its workers and the writer at once."""
        assert self.process is not None
        tree = descendants(self.process.pid)
        for pid in [self.process.pid, *tree]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()
        wait_for(lambda: not any(Path(f"/proc/{pid}").exists() and
                                 _state(pid) != "Z" for pid in tree), 10, "processes to die")

    def writer_pid(self) -> int | None:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            assert self.process is not None
            if b"writer" in cmdline and int(stat[1]) == self.process.pid and stat[0] != "Z":
                return int(entry.name)
        return None


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "X"


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError):
        return -1


def descendants(root: int) -> list[int]:
    pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]
    found: list[int] = []
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid in pids if _ppid(pid) == parent]
        found.extend(children)
        frontier.extend(children)
    return found


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Scheduler:
    """One ``zrmon scheduler`` process, its log in a file the test can watch."""

    config: Config
    log: Path
    admin_port: int = 0
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Scheduler:
        self.admin_port = free_port()
        with self.log.open("ab") as handle:
            self.process = subprocess.Popen(
                [ZRMON, "scheduler", "--admin-port", str(self.admin_port)],
                env={**os.environ, **self.config.to_env()}, stdout=handle,
                stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=30) == 0, self.log_text()

    def metrics(self) -> str:
        """The admin listener's /metrics; empty while it is not listening yet."""
        try:
            return requests.get(f"http://127.0.0.1:{self.admin_port}/metrics", timeout=5).text
        except requests.RequestException:
            return ""


def co2(influx: InfluxClient, value: float, at_s: float | None = None) -> None:
    at = time.time() if at_s is None else at_s
    influx.write(encode_lines([Point("sensor", {"room_id": "r1", "room_name": "Everest",
                                                "sensor_type": "CO2"}, {"value": value},
                                     int(at * NS))]))


def delivered_kinds(sink: HttpSink) -> list[str]:
    """Each message once, in the order first delivered: what a deduping receiver shows."""
    seen: dict[str, str] = {}
    for request in sink.delivered():
        seen.setdefault(request.json()["id"], request.json()["status"])
    return list(seen.values())


def metric(text: str, sample: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def metric_total(text: str, name: str) -> float:
    """The sum of every sample of ``name``, whatever its labels (0 when there is none)."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith((name + " ", name + "{")))
