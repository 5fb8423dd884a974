"""The heartbeat (dead man's switch), for real: a ``zrmon scheduler``, a private influxd, a sink.

Pings reach a local HTTP receiver while every group evaluates; once InfluxDB
is gone evaluation fails, and the pings stop -- judged from the scheduler's
own signals (its ``/readyz`` and its withheld-ping counter), never a sleep.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from support.processes import PROMTOOL, ZRMON, wait_for
from support.rulesdir import co2_rule, write_rules_dir
from support.sinks import start_http_sink

from monitor.core.config import Config
from monitor.store.influx import InfluxClient
from monitor.store.influxd import LocalInfluxd, free_port

pytestmark = pytest.mark.slow



def _withheld(admin: str) -> float:
    try:
        text = requests.get(f"{admin}/metrics", timeout=5).text
    except requests.RequestException:
        return 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (sample.name == "zrmon_heartbeat_pings_total"
                    and sample.labels.get("outcome") == "withheld"):
                return float(sample.value)
    return 0.0


def _evaluator(admin: str) -> str:
    try:
        return str(requests.get(f"{admin}/readyz", timeout=5).json().get("evaluator", ""))
    except (requests.RequestException, ValueError):
        return ""


def test_pings_while_evaluation_is_healthy_and_none_once_influxdb_is_gone(
        config: Config, tmp_path: Path) -> None:
    sink = start_http_sink()
    influxd = LocalInfluxd(tmp_path / "influxd").start()
    rules = write_rules_dir(tmp_path / "rules", rules={"air.yaml": co2_rule(window=None)},
                            notify='heartbeat:\n  url: "${PING_URL}"\n  every: 1s\n')
    local = config.with_(influx_url=influxd.url, rules_dir=rules)
    InfluxClient(local).create_database()
    port = free_port()
    admin = f"http://127.0.0.1:{port}"
    env = {**os.environ, **local.to_env(), "PING_URL": sink.url("/ping/secret-uuid")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen([ZRMON, "scheduler", "--admin-port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        pings = sink.wait_for(2, timeout=60)           # healthy: pings arrive
        assert pings[0].path == "/ping/secret-uuid"
        assert pings[0].json()["status"] == "ok" and pings[0].json()["groups"] == ["air"]
        assert _evaluator(admin) == "running"

        influxd.stop()                                  # every rule now fails to query
        wait_for(lambda: _evaluator(admin).startswith("failed: group air not evaluated"),
                 60, "the evaluator to report failing evaluations")
        wait_for(lambda: _withheld(admin) >= 1, 30, "a withheld ping")
        heard, withheld = len(sink.requests), _withheld(admin)
        wait_for(lambda: _withheld(admin) >= withheld + 2, 30, "two more ping slots")
        assert len(sink.requests) == heard               # none got through meanwhile
        metrics = requests.get(f"{admin}/metrics", timeout=5).text
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode()
        influxd.stop()
        sink.close()
    assert "heartbeat withheld: group air not evaluated successfully" in output, output
    assert "secret-uuid" not in output
    assert 'zrmon_heartbeat_pings_total{outcome="sent"}' in metrics
    assert "zrmon_evaluator_up 0.0" in metrics
    checked = subprocess.run([PROMTOOL, "check", "metrics"], input=metrics, text=True,
                             capture_output=True, timeout=60, check=False)
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, ""), metrics
