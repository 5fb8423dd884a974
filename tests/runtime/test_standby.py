"""Evaluate only while leading (real PostgreSQL): start on the lead, stop when it is lost,
and give the lead away when this process cannot evaluate."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import psycopg
from support.processes import wait_for

from monitor.core.config import Config
from monitor.runtime.standby import ROLE, Standby
from monitor.store.leader import Leadership


def test_evaluates_while_leading_and_stops_when_the_lead_is_lost(config: Config, state_url: str,
                                                                 tmp_path: Path) -> None:
    local = config.with_(state_url=state_url, data_dir=tmp_path / "a", replica="a")
    running: list[str] = []
    starts: list[int] = []

    def start(lead: Leadership) -> Callable[[], None]:
        starts.append(lead.epoch or 0)
        running.append("on")
        return running.clear

    standby = Standby(local, start, poll_s=0.1, heartbeat_s=0.1)
    stop = threading.Event()
    thread = threading.Thread(target=standby.run, args=(stop,))
    thread.start()
    try:
        wait_for(lambda: running == ["on"], 10, "evaluation to start")
        with psycopg.connect(state_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_locks "
                          "WHERE locktype = 'advisory' AND granted")
        wait_for(lambda: len(starts) == 2, 10, "the lead again, after a stop")
        assert starts[1] == starts[0] + 1 and running == ["on"]     # a new epoch
    finally:
        stop.set()
        thread.join(timeout=10)
    assert running == []                                   # stopped when it ended


def test_a_process_that_cannot_evaluate_gives_the_lead_away(config: Config, state_url: str,
                                                            tmp_path: Path) -> None:
    local = config.with_(state_url=state_url, data_dir=tmp_path / "a", replica="a")
    standby = Standby(local, lambda lead: None, poll_s=0.5)
    stop = threading.Event()
    thread = threading.Thread(target=standby.run, args=(stop,))
    thread.start()
    other = Leadership(state_url, ROLE, "b")
    try:
        wait_for(other.try_acquire, 10, "the other process to take the lead")
    finally:
        other.release()
        stop.set()
        thread.join(timeout=10)
