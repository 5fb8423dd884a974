"""One owner per state: a second writer or evaluator on the same data directory exits 2."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest
import requests
from support.processes import ZRMON, Service, wait_for
from support.rulesdir import write_rules_dir

from monitor.core.config import Config
from monitor.store.influxd import free_port

pytestmark = pytest.mark.slow



@pytest.fixture
def rules(tmp_path: Path) -> Path:
    return write_rules_dir(tmp_path / "rules")


def _run(config: Config, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **config.to_env()}
    return subprocess.run([ZRMON, *argv], env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def _scheduler(config: Config, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, **config.to_env()}
    return subprocess.Popen([ZRMON, "scheduler", "--admin-port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _ready(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_a_second_serve_on_one_data_dir_exits_2_naming_the_first(
        config: Config, rules: Path, tmp_path: Path) -> None:
    local = config.with_(rules_dir=rules)
    first = Service(local, free_port(), free_port(), log=tmp_path / "first.log").start()
    try:
        second = _run(local, "serve", "--port", str(free_port()),
                      "--admin-port", str(free_port()))
        assert second.returncode == 2, second.stderr
        [line] = second.stderr.strip().splitlines()
        assert "another writer already runs on" in line
        assert first.process is not None and f"pid {first.process.pid}" in line
        assert socket.gethostname() in line

        scheduler = _run(local, "scheduler", "--admin-port", "0")
        assert scheduler.returncode == 2
        assert "another evaluator already runs on" in scheduler.stderr

        first.kill_everything()          # SIGKILL leaves no stale lock behind
        again = Service(local, free_port(), free_port(), log=tmp_path / "again.log").start()
        assert again.stop() == 0
    finally:
        first.stop()


def test_a_second_scheduler_exits_2_and_a_receiver_only_serve_may_run_beside_it(
        config: Config, rules: Path, tmp_path: Path) -> None:
    local = config.with_(rules_dir=rules)
    port = free_port()
    first = _scheduler(local, port)
    try:
        wait_for(lambda: _ready(port), 30, "the first scheduler")
        second = _run(local, "scheduler", "--admin-port", "0")
        assert second.returncode == 2
        assert f"pid {first.pid}" in second.stderr and "evaluator" in second.stderr
        # The split deployment: receiver without rules beside the scheduler, one state.
        receiver = Service(local.with_(evaluate=False), free_port(), free_port(),
                           log=tmp_path / "receiver.log").start()
        assert receiver.stop() == 0
        # serve with rules would be a second evaluator: it refuses as a whole.
        serve = _run(local, "serve", "--port", str(free_port()),
                     "--admin-port", str(free_port()))
        assert serve.returncode == 2
        assert "another evaluator already runs on" in serve.stderr
    finally:
        first.terminate()
        first.wait(timeout=30)
