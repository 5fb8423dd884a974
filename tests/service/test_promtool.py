"""``promtool check metrics`` (Prometheus' own linter) on what a running ``zrmon serve`` exposes.

Read after a real evaluation and a real delivery, so the rule and
notification series with labels are there to be checked, in the
multi-process form the admin listener aggregates under ``serve``.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import requests
from support.processes import PROMTOOL, Service, wait_for
from support.rulesdir import FAST_GROUPING, co2_rule, webhook_channel, write_rules_dir
from support.sinks import HttpSink

from monitor.core.config import Config
from monitor.datamodel.points import Point, encode_lines
from monitor.store.influx import InfluxClient
from monitor.store.influxd import free_port

pytestmark = pytest.mark.slow


def test_promtool_accepts_the_metrics_of_zrmon_serve(config: Config, influx: InfluxClient,
                                                     http_sink: HttpSink,
                                                     tmp_path: Path) -> None:
    if not Path(PROMTOOL).exists():
        pytest.fail("promtool is missing: install Debian's prometheus package (see .ci/run)")
    rules = write_rules_dir(tmp_path / "rules", rules={"air.yaml": co2_rule(notify="hook")},
                            channels=webhook_channel(http_sink.url()), notify=FAST_GROUPING)
    influx.write(encode_lines([Point("sensor", {"room_id": "r1", "sensor_type": "CO2"},
                                     {"value": 1400.0}, time.time_ns() - 30 * 10**9)]))
    service = Service(config.with_(rules_dir=rules), free_port(), free_port(),
                      log=tmp_path / "serve.log")
    try:
        service.start()
        http_sink.wait_for(1, timeout=30)
        url = f"http://127.0.0.1:{service.admin_port}/metrics"
        wait_for(lambda: 'zrmon_notifications_sent_total{channel="hook"} 1.0'
                 in requests.get(url, timeout=5).text, 15, "the delivery in /metrics")
        text = requests.get(url, timeout=5).text
    finally:
        service.stop()
    for name in ("zrmon_outbox_depth", "zrmon_outbox_oldest_age_seconds",
                 'zrmon_rule_group_evaluation_seconds_count{group="air"}',
                 'zrmon_rule_group_last_success_timestamp_seconds{group="air"}',
                 "zrmon_evaluator_up 1.0"):
        assert name in text, name
    checked = subprocess.run([PROMTOOL, "check", "metrics"], input=text, text=True,
                             capture_output=True, timeout=60, check=False)
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, ""), text
