"""Failover: two ``zrmon scheduler`` processes on one PostgreSQL state, the leader lost.

Each scheduler has a data directory and replica name of its own, the same
InfluxDB, ``rules/`` and ``ZRMON_STATE_URL``, as in
tests/service/test_ha_schedulers.py. The leader is the one whose admin
``/metrics`` shows ``zrmon_evaluator_leader 1``. Two ways to lose it:

* ``sigkill``: its connections close at once, PostgreSQL drops its advisory
  lock, and the standby holds it at its next try (every ``POLL_S``, 2 s).
* ``sigstop``: frozen, its connections stay open; PostgreSQL ends its leader
  session ``idle_session_timeout`` (20 s) after its last heartbeat (every
  5 s), so expect 15-25 s. After the takeover it gets SIGCONT, and ``old_leader_stepped_down_s``
  is how long until its own ``/metrics`` shows 0 (null: not within 30 s).

The seconds are from the signal until the other process's ``/metrics`` first
shows 1, polled every 50 ms. The killed leader is started again (now a standby)
before the SIGSTOP case.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import tempfile
import time
import urllib.request
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest_events import BIN, DB, ROOT, log
from ingest_landing import fresh_influxd

from monitor.core.config import Config
from monitor.store.influxd import free_port

POLL_S = 0.05
START_TIMEOUT_S = 60.0
TAKEOVER_LIMIT_S = 60.0     # give up measuring after this long (a miss)
STEP_DOWN_LIMIT_S = 30.0


@dataclass
class Scheduler:
    """One ``zrmon scheduler`` in a session of its own, its output in a log file."""

    name: str
    config: Config
    log_path: Path
    admin_port: int = 0
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Scheduler:
        self.admin_port = free_port()
        env = {**os.environ, **self.config.to_env()}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                [str(BIN / "zrmon"), "scheduler", "--admin-port", str(self.admin_port)],
                env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    def leader(self) -> float | None:
        """``zrmon_evaluator_leader`` from its /metrics; None while it does not answer."""
        with suppress(OSError, http.client.HTTPException), urllib.request.urlopen(
                f"http://127.0.0.1:{self.admin_port}/metrics", timeout=2) as response:
            for line in response.read().decode().splitlines():
                if line.startswith("zrmon_evaluator_leader "):
                    return float(line.rsplit(" ", 1)[1])
        return None

    def signal(self, number: int) -> None:
        assert self.process is not None
        with suppress(ProcessLookupError):
            os.kill(self.process.pid, number)

    def end(self) -> None:
        """SIGCONT (it may be stopped), SIGTERM, SIGKILL after 10 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def wait_until(predicate: Any, limit_s: float) -> float | None:
    """Seconds until ``predicate()`` is true, polled every POLL_S; None after ``limit_s``."""
    start = time.monotonic()
    while time.monotonic() - start < limit_s:
        if predicate():
            return round(time.monotonic() - start, 2)
        time.sleep(POLL_S)
    return None


def settled(pair: list[Scheduler]) -> tuple[Scheduler, Scheduler]:
    """(leader, standby) once one shows 1 and the other 0; raises after START_TIMEOUT_S."""
    def one_leader() -> bool:
        return sorted(-1.0 if (v := s.leader()) is None else v for s in pair) == [0.0, 1.0]

    if wait_until(one_leader, START_TIMEOUT_S) is None:
        raise RuntimeError("no single leader among the schedulers:\n"
                           + "\n".join(f"{s.name}:\n{s.log_tail()}" for s in pair))
    first, second = pair
    return (first, second) if first.leader() == 1.0 else (second, first)


def lose_leader(pair: list[Scheduler], how: int) -> dict[str, Any]:
    leader, standby = settled(pair)
    log(f"failover: {leader.name} leads; {signal.Signals(how).name} to it")
    leader.signal(how)
    took = wait_until(lambda: standby.leader() == 1.0, TAKEOVER_LIMIT_S)
    result: dict[str, Any] = {"takeover_s": took, "old": leader.name, "new": standby.name}
    if how == signal.SIGSTOP:
        leader.signal(signal.SIGCONT)
        result["old_leader_stepped_down_s"] = wait_until(lambda: leader.leader() == 0.0,
                                                         STEP_DOWN_LIMIT_S)
    log(f"failover: {signal.Signals(how).name}: {standby.name} leads after {took} s")
    return result


def failover_section(state_url: str) -> dict[str, Any]:
    """Two schedulers; SIGKILL the leader; restart it; SIGSTOP the new leader."""
    with tempfile.TemporaryDirectory(prefix="zrmon-bench-ha-failover-") as tmpdir:
        tmp = Path(tmpdir)
        with fresh_influxd(tmp / "influx") as (influxd, _):
            base = Config(influx_url=influxd.url, influx_db=DB, rules_dir=ROOT / "rules",
                          state_url=state_url)
            pair = [Scheduler(name, base.with_(data_dir=tmp / name, replica=name),
                              tmp / f"{name}.log").start() for name in ("s1", "s2")]
            try:
                killed = lose_leader(pair, signal.SIGKILL)
                again = next(s for s in pair if s.name == killed["old"])
                assert again.process is not None
                again.process.wait(timeout=10)
                again.start()
                frozen = lose_leader(pair, signal.SIGSTOP)
            finally:
                for scheduler in pair:
                    scheduler.end()
    return {"sigkill": killed, "sigstop": frozen}
