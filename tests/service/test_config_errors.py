"""Config errors are loud, run for real: ``zrmon serve``/``scheduler``/``rules check`` processes.

A typo in notify.yaml, channels.yaml or reports.yaml once left a receiver
that looked healthy and evaluated nothing. Now each command refuses it with
exit 2 and one ``file:line`` line; receiving without evaluating is an
explicit switch, and a receiver that evaluates says how its evaluator is
doing in ``/readyz`` and ``zrmon_evaluator_up``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from support.events import encode, sensor_event, signed_headers
from support.processes import ZRMON, Service, wait_for
from support.rulesdir import co2_rule, write_rules_dir

from monitor.core.config import Config
from monitor.store.influx import InfluxClient
from monitor.store.influxd import free_port

pytestmark = pytest.mark.slow

# (file, broken text, line of the mistake)
TYPOS = {
    "notify.yaml": ("grouping:\n  group_wiat: 30s\n", 2),
    "channels.yaml": ("channels:\n  log: {type: log}\n  hook: {type: webhok, url: 'http://x'}\n",
                      3),
    "reports.yaml": ("reports:\n  - name: monthly\n    cron: '0 6 1 * *'\n    kind: uptime\n"
                     "    range: last_mnth\n    out_dir: out\n", 5),
}


def rules_dir(tmp_path: Path, broken: str | None = None) -> Path:
    directory = write_rules_dir(tmp_path / "rules", rules={"air.yaml": co2_rule(window=None)})
    if broken is not None:
        (directory / broken).write_text(TYPOS[broken][0])
    return directory


def run(config: Config, *argv: str, extra_env: dict[str, str] | None = None,
        ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **config.to_env(), **(extra_env or {})}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return subprocess.run([ZRMON, *argv], env=env, capture_output=True, text=True, timeout=60,
                          check=False)


COMMANDS = {
    "serve": lambda: ["serve", "--port", str(free_port()), "--admin-port", str(free_port())],
    "scheduler": lambda: ["scheduler", "--admin-port", "0"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("broken", list(TYPOS))
def test_a_typo_in_any_config_file_stops_serve_and_scheduler_with_file_line(
        config: Config, tmp_path: Path, broken: str, command: str) -> None:
    rules = rules_dir(tmp_path, broken)
    done = run(config.with_(rules_dir=rules), *COMMANDS[command]())
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"zrmon: {rules / broken}:{TYPOS[broken][1]}: "), lines[0]


@pytest.mark.parametrize("broken", list(TYPOS))
def test_rules_check_catches_a_typo_in_any_config_file(config: Config, tmp_path: Path,
                                                       broken: str) -> None:
    rules = rules_dir(tmp_path, broken)
    done = run(config, "rules", "check", str(rules))
    assert done.returncode == 2
    assert done.stdout == ""
    assert [line for line in done.stderr.splitlines()
            if line.startswith(f"{rules / broken}:{TYPOS[broken][1]}: ")], done.stderr
    rules_dir(tmp_path)                              # channels.yaml as it should be
    if broken != "channels.yaml":
        (rules / broken).unlink()
    fixed = run(config, "rules", "check", str(rules))
    assert (fixed.returncode, fixed.stdout) == (0, f"{rules}: 1 group(s), 1 rule(s) OK\n")


def test_serve_without_a_rules_directory_and_without_the_switch_exits_2(
        config: Config, tmp_path: Path) -> None:
    missing = tmp_path / "no-rules-here"
    done = run(config.with_(rules_dir=missing), *COMMANDS["serve"]())
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"zrmon: {missing}: rules directory does not exist")
    assert "--no-rules" in line and "ZRMON_EVALUATE=false" in line


def _readyz(url: str) -> tuple[int, dict[str, object]]:
    response = requests.get(f"{url}/readyz", timeout=5)
    return response.status_code, response.json()


def _metric(admin_url: str, name: str) -> float | None:
    text = requests.get(f"{admin_url}/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                return float(sample.value)
    return None


def _ingest_one(service: Service, influx: InfluxClient, room: str) -> None:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 30))
    body = encode(sensor_event(room, when=now, readings=[
        {"date_time": now, "sensor_type": "CO2", "sensor_value": "700"}]))
    response = requests.post(f"{service.url}/webhooks/zoom", data=body,
                             headers=signed_headers(body), timeout=5)
    assert response.status_code == 200, response.text

    def landed() -> bool:
        series = influx.query(
            f"SELECT count(\"value\") FROM \"sensor\" WHERE \"room_id\" = '{room}'")
        return bool(series and series[0].values and series[0].values[0][1])

    wait_for(landed, 30, f"the reading of {room} in InfluxDB")


@pytest.mark.parametrize("switch", ["--no-rules", "ZRMON_EVALUATE=false"])
def test_a_receiver_only_serve_ingests_and_says_its_evaluator_is_disabled(
        config: Config, influx: InfluxClient, tmp_path: Path, switch: str) -> None:
    config = config.with_(rules_dir=tmp_path / "no-rules-here")
    if switch == "ZRMON_EVALUATE=false":
        config = config.with_(evaluate=False)
    args = ("--no-rules",) if switch == "--no-rules" else ()
    service = Service(config, free_port(), free_port(), log=tmp_path / "serve.log", args=args)
    try:
        service.start()
        _ingest_one(service, influx, "room-receiver-only")
        assert _readyz(service.url) == (200, {"status": "ready", "evaluator": "disabled"})
        admin = f"http://127.0.0.1:{service.admin_port}"
        wait_for(lambda: _status(f"{admin}/healthz") == 200, 20, "the admin listener")
        assert _metric(admin, "zrmon_evaluator_up") is None     # nothing evaluates here
    finally:
        service.stop()
    assert "rules not loaded" not in service.log_text()


def test_an_evaluating_receiver_reports_a_failed_evaluator_and_keeps_ingesting(
        config: Config, influx: InfluxClient, tmp_path: Path) -> None:
    """The files break after start; the restarted writer cannot load them: failed, not silent."""
    rules = rules_dir(tmp_path)
    service = Service(config.with_(rules_dir=rules), free_port(), free_port(),
                      log=tmp_path / "serve.log")
    admin = f"http://127.0.0.1:{service.admin_port}"
    try:
        service.start()
        wait_for(lambda: _readyz(service.url)[1].get("evaluator") == "running", 30,
                 "the evaluator to run")
        wait_for(lambda: _metric(admin, "zrmon_evaluator_up") == 1.0, 30, "evaluator up")

        (rules / "notify.yaml").write_text(TYPOS["notify.yaml"][0])
        writer = service.writer_pid()
        assert writer is not None
        os.kill(writer, signal.SIGKILL)           # the supervisor starts a new writer

        def failed() -> bool:
            evaluator = str(_readyz(service.url)[1].get("evaluator", ""))
            return evaluator.startswith(f"failed: rules not loaded: {rules / 'notify.yaml'}:2:")

        wait_for(failed, 30, "the evaluator to report the broken notify.yaml")
        status, body = _readyz(service.url)
        assert status == 200 and body["status"] == "ready"       # Zoom is still answered
        _ingest_one(service, influx, "room-after-the-typo")
        wait_for(lambda: _status(f"{admin}/readyz") == 503, 30, "the admin /readyz to fail")
        assert _metric(admin, "zrmon_evaluator_up") == 0.0
    finally:
        service.stop()


def _status(url: str) -> int:
    try:
        return requests.get(url, timeout=2).status_code
    except requests.RequestException:
        return 0
