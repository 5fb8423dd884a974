"""Real ``zrmon`` processes for the service tests: start, stop, kill, find children."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from monitor.config import Config

ZRMON = str(Path(sys.executable).parent / "zrmon")


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

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log and self.log.exists() else ""

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


