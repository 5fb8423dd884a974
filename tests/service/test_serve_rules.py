"""``zrmon serve`` end to end: a signed webhook in, a rule fires, a notification out — once."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
from support.events import encode, sensor_event, signed_headers
from support.processes import ZRMON, Service, metric, wait_for
from support.rulesdir import FAST_GROUPING, co2_rule, webhook_channel, write_rules_dir
from support.sinks import start_http_sink

from monitor.core.config import Config
from monitor.store.influxd import free_port

RULES = co2_rule(notify="hook", summary="CO2 {{ value | round | int }} ppm in {{ room_name }}")


@pytest.mark.slow
def test_webhook_to_notification_through_the_running_service(config: Config,
                                                              tmp_path: Path) -> None:
    sink = start_http_sink()
    rules = write_rules_dir(tmp_path / "rules", rules={"air.yaml": RULES},
                            channels=webhook_channel(sink.url()), notify=FAST_GROUPING)
    service = Service(config.with_(rules_dir=rules), free_port(), free_port(),
                      log=tmp_path / "serve.log")
    try:
        service.start()
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 30))
        body = encode(sensor_event("room-9", room_name="Matterhorn", when=now,
                                   readings=[{"date_time": now, "sensor_type": "CO2",
                                              "sensor_value": "1400"}]))
        assert requests.post(f"{service.url}/webhooks/zoom", data=body,
                             headers=signed_headers(body)).status_code == 200
        [message] = sink.wait_for(1, timeout=30)
        alert = message.json()["alerts"][0]
        assert (alert["room_id"], alert["status"], alert["value"]) == ("room-9", "firing", 1400)
        assert alert["annotations"]["summary"] == "CO2 1400 ppm in Matterhorn"
        # Several more evaluations, counted by the service itself: still one message, as
        # one scheduler process evaluates however many receiver workers run.
        wait_for(lambda: _evaluations(service) is not None, 20, "the evaluation counter")
        evaluated = _evaluations(service) or 0.0
        wait_for(lambda: (_evaluations(service) or 0.0) >= evaluated + 4, 30,
                 "four more evaluations")
        assert len(sink.requests) == 1
    finally:
        service.stop()
        sink.close()


@pytest.mark.slow
def test_scheduler_alone_answers_health_checks_and_stops_on_sigterm(
        config: Config, tmp_path: Path) -> None:
    """``zrmon scheduler`` has no public listener: compose health-checks its admin /readyz."""
    rules = write_rules_dir(tmp_path / "rules")
    port = free_port()
    env = {**os.environ, **config.with_(rules_dir=rules).to_env()}
    process = subprocess.Popen([ZRMON, "scheduler", "--admin-port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _status(f"http://127.0.0.1:{port}/readyz") == 200, 20, "/readyz")
        assert _status(f"http://127.0.0.1:{port}/healthz") == 200
        assert "zrmon_rule_evaluations_total" in requests.get(
            f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode()
    assert process.returncode == 0, output


@pytest.mark.slow
def test_scheduler_with_broken_rule_files_exits_2_saying_why(config: Config,
                                                              tmp_path: Path) -> None:
    env = {**os.environ, **config.with_(rules_dir=tmp_path).to_env()}
    (tmp_path / "air.yaml").write_text(RULES)
    done = subprocess.run([ZRMON, "scheduler", "--admin-port", "0"], env=env,
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2
    assert "channels.yaml" in done.stderr


def _status(url: str) -> int:
    try:
        return requests.get(url, timeout=2).status_code
    except requests.RequestException:
        return 0


def _evaluations(service: Service) -> float | None:
    return metric(service.metrics(), 'zrmon_rule_evaluations_total{rule="air/co2-high"}')
