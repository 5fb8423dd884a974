"""The servers under test, started and stopped the same way, and the CPU their processes use.

``ours`` is ``zrmon serve``; ``ceiling`` and ``naive`` are bare gunicorn apps
(bench/apps) with the same worker class and counts. Each runs in a session of its
own, so its CPU (and influxd's) is summed over that session's processes.
"""

from __future__ import annotations

import argparse
import http.client
import os
import resource
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest_events import BENCH, BIN, DB, ROOT, SECRET, log

from monitor.store.influxd import free_port

APPS_DIR = BENCH / "apps"
READY_TIMEOUT_S = 60.0
STOP_GRACE_S = 10.0


# CPU --------------------------------------------------------------------------------------


def session_processes(sid: int) -> Iterator[tuple[Path, list[str], bytes]]:
    """(/proc entry, stat fields after the command name, command line) of a session's processes."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").strip()
        except OSError:
            continue
        # After "pid (comm) ": state ppid pgrp session ... utime(14) stime cutime cstime.
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[3]) == sid:
            yield entry, fields, cmdline


def session_commands(sid: int) -> list[str]:
    """The live (not zombie) processes of a session, as "pid: command line"."""
    return [f"{entry.name}: {cmdline.decode(errors='replace')[:200]}"
            for entry, fields, cmdline in session_processes(sid) if fields[0] != "Z"]


def session_cpu_s(sid: int) -> dict[str, float]:
    """CPU seconds (user + system, reaped children included) of a session's live processes,
    by role: "writer" and "gunicorn" from the command line, "other" for the rest."""
    ticks: dict[str, int] = {}
    for _, fields, cmdline in session_processes(sid):
        role = next((name for name in ("writer", "gunicorn") if name.encode() in cmdline),
                    "other")
        ticks[role] = ticks.get(role, 0) + sum(int(value) for value in fields[11:15])
    hz = os.sysconf("SC_CLK_TCK")
    return {role: count / hz for role, count in ticks.items()}


def machine_busy_s() -> float:
    """Busy CPU seconds of the whole machine since boot (all but idle and iowait)."""
    with open("/proc/stat") as stat:
        values = [int(value) for value in stat.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuMeter:
    """CPU used by the server, influxd and wrk between start() and stop()."""

    server_sid: int
    influxd_sid: int
    start_values: dict[str, float] = field(default_factory=dict)

    def _now(self) -> dict[str, float]:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        own = resource.getrusage(resource.RUSAGE_SELF)
        server = session_cpu_s(self.server_sid)
        return {**{f"server_{role}": value for role, value in server.items()},
                "server": sum(server.values()),
                "influxd": sum(session_cpu_s(self.influxd_sid).values()),
                "wrk": children.ru_utime + children.ru_stime,
                "bench": own.ru_utime + own.ru_stime,     # this script: lag probe, polling
                "machine": machine_busy_s()}

    def start(self) -> None:
        self.start_values = self._now()

    def stop(self, events: int) -> dict[str, Any]:
        now = self._now()
        used: dict[str, float | None] = {
            f"{key}_s": round(value - self.start_values.get(key, 0.0), 2)
            for key, value in sorted(now.items())}
        def delta(key: str) -> float:
            return now[key] - self.start_values.get(key, 0.0)

        total = delta("server") + delta("influxd")
        used["server_plus_influxd_ms_per_event"] = (
            round(total * 1000 / events, 3) if events > 0 else None)
        # Busy CPU of the whole machine not explained by the above: other processes' work,
        # i.e. how noisy this measurement is.
        used["foreign_s"] = round(delta("machine") - total - delta("wrk") - delta("bench"), 2)
        return used


# Servers ----------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    command: list[str]
    env: dict[str, str]
    port: int
    log_path: Path
    # ours: SIGINT to the process group, like a terminal's Ctrl-C. The bare gunicorn
    # baselines: SIGTERM to the master only, as zrmon serve stops its own gunicorn --
    # gunicorn's gthread worker handles SIGINT/SIGQUIT by shutting its thread pool down
    # inside the signal handler and deadlocks when the signal lands while the worker
    # holds the pool's lock in submit(), e.g. while wrk's idle keep-alive connections
    # close right after a paced run (seen in ~1 of 3 stops).
    stop_signal: int = signal.SIGINT
    stop_group: bool = True
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                self.command, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n"
                                   f"{self.log_tail()}")
            with suppress(OSError, http.client.HTTPException), \
                    urllib.request.urlopen(f"{self.url}/readyz", timeout=1) as response:
                if response.status == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name}: /readyz not 200 within {READY_TIMEOUT_S:.0f}s:\n"
                           f"{self.log_tail()}")

    def stop(self) -> tuple[float, list[str]]:
        """``stop_signal`` (to the group or the leader), SIGKILL after STOP_GRACE_S.

        Returns the seconds it took and the command lines SIGKILL had to end.
        """
        process = self.process
        if process is None:
            return 0.0, []
        start = time.monotonic()
        with suppress(ProcessLookupError):
            (os.killpg if self.stop_group else os.kill)(process.pid, self.stop_signal)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_GRACE_S)
        survivors = session_commands(process.pid)
        if survivors:
            name = signal.Signals(self.stop_signal).name
            log(f"{self.name}: still running {STOP_GRACE_S:.0f}s after {name}, SIGKILL: "
                f"{survivors}\n{self.log_tail()}")
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)   # stragglers in the group, if any
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
        return round(time.monotonic() - start, 2), survivors

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def zrmon_help() -> str | None:
    """``zrmon serve --help``, or None while ``zrmon serve`` does not work yet."""
    zrmon = BIN / "zrmon"
    if not zrmon.exists():
        return None
    try:
        done = subprocess.run([str(zrmon), "serve", "--help"], capture_output=True, text=True,
                              timeout=30, check=False, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def server_for(name: str, args: argparse.Namespace, influx_url: str, tmp: Path,
               help_text: str | None) -> Server:
    port = free_port()
    env = {**os.environ, "ZOOM_WEBHOOK_SECRET_TOKEN": SECRET, "ZRMON_INFLUX_URL": influx_url,
           "ZRMON_INFLUX_DB": DB, "ZRMON_DATA_DIR": str(tmp / "data")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if name == "ours":
        command = [str(BIN / "zrmon"), "serve", "--host", "127.0.0.1", "--port", str(port),
                   "--workers", str(args.workers), "--admin-port", str(free_port())]
        if help_text is not None and "--threads" in help_text:
            command += ["--threads", str(args.threads)]
    else:
        # The same worker class, counts and keep-alive as monitor/runtime/gunicorn_conf.py.
        command = [str(BIN / "gunicorn"), "-k", "gthread", "--workers", str(args.workers),
                   "--threads", str(args.threads), "--keep-alive", "75",
                   "--log-level", "warning", "--no-control-socket",
                   "--bind", f"127.0.0.1:{port}",
                   "--chdir", str(APPS_DIR), f"{name}:app"]
    if name == "ours":
        return Server(name, command, env, port, tmp / f"{name}.log")
    return Server(name, command, env, port, tmp / f"{name}.log",
                  stop_signal=signal.SIGTERM, stop_group=False)
