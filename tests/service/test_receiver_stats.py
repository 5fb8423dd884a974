"""The receiver's own counters reach InfluxDB (measurement ``zrmon_receiver``), for real.

A running ``zrmon serve`` gets signed deliveries and unsigned junk; the
writer process writes one small point per interval with how many of each
arrived. Killing the writer in between neither loses nor doubles a count.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import requests
from support.events import encode, sensor_event, signed_headers
from support.processes import Service, wait_for
from support.rulesdir import FAST_GROUPING, webhook_channel, write_rules_dir
from support.sinks import start_http_sink

from monitor.core.config import Config
from monitor.store.influx import InfluxClient
from monitor.store.influxd import free_port

pytestmark = pytest.mark.slow


def _post(service: Service, signed: int, unsigned: int) -> None:
    for number in range(signed):
        body = encode(sensor_event(f"room-{number}"))
        response = requests.post(f"{service.url}/webhooks/zoom", data=body,
                                 headers=signed_headers(body), timeout=5)
        assert response.status_code == 200
    for _ in range(unsigned):
        body = b'{"event": "zoomroom.sensor_data"}'
        response = requests.post(f"{service.url}/webhooks/zoom", data=body, timeout=5, headers={
            "x-zm-request-timestamp": str(int(time.time())), "x-zm-signature": "v0=forged"})
        assert response.status_code == 401


def _totals(influx: InfluxClient) -> tuple[int, int, int]:
    """(deliveries, signature failures, points) summed over everything written."""
    series = influx.query('SELECT sum("deliveries"), sum("signature_failures"), '
                          'count("deliveries") FROM "zrmon_receiver"')
    if not series or not series[0].values:
        return 0, 0, 0
    _, deliveries, failures, points = series[0].values[0]
    return int(deliveries or 0), int(failures or 0), int(points or 0)


def test_deliveries_and_signature_failures_are_counted_once_across_a_writer_restart(
        config: Config, influx: InfluxClient, tmp_path: Path) -> None:
    service = Service(config.with_(receiver_stats_s=0.5), free_port(), free_port(),
                      log=tmp_path / "serve.log", args=("--no-rules",))
    try:
        service.start()
        _post(service, signed=3, unsigned=4)
        wait_for(lambda: _totals(influx)[:2] == (3, 4), 30, "3 deliveries and 4 failures")

        writer = service.writer_pid()
        assert writer is not None
        os.kill(writer, signal.SIGKILL)               # its baseline is on disk
        wait_for(lambda: service.writer_pid() not in (None, writer), 30, "a new writer")
        _post(service, signed=2, unsigned=1)
        wait_for(lambda: _totals(influx)[:2] == (5, 5), 30, "the counts after the restart")
        points = _totals(influx)[2]
        wait_for(lambda: _totals(influx)[2] >= points + 3, 30, "three more points")
        assert _totals(influx)[:2] == (5, 5)           # zeros since: nothing counted twice
    finally:
        service.stop()


SIGNATURE_RULE = """\
group: webhooks
interval: 1s
rules:
  - name: signature-failures
    rate: {receiver: signature_failures}
    window: 1m
    levels:
      warning: {above: 2}
    annotations: {summary: "{{ value | round | int }} requests failed their signature"}
    notify: [hook]
"""


def test_forged_requests_raise_one_fleet_alert_through_the_running_service(
        config: Config, tmp_path: Path) -> None:
    """Receiver counters → zrmon_receiver → a fleet-wide rate rule → one notification."""
    sink = start_http_sink()
    rules = write_rules_dir(tmp_path / "rules", rules={"webhooks.yaml": SIGNATURE_RULE},
                            channels=webhook_channel(sink.url()), notify=FAST_GROUPING)
    service = Service(config.with_(rules_dir=rules, receiver_stats_s=0.5), free_port(),
                      free_port(), log=tmp_path / "serve.log")
    try:
        service.start()
        _post(service, signed=1, unsigned=3)
        [message] = sink.wait_for(1, timeout=60)
        body = message.json()
        assert body["title"] == "[FIRING:1] signature-failures — all rooms"
        [alert] = body["alerts"]
        assert (alert["rule"], alert["room_id"], alert["level"], alert["value"]) == (
            "webhooks/signature-failures", "fleet", "warning", 3.0)
        assert alert["annotations"]["summary"] == "3 requests failed their signature"
    finally:
        service.stop()
        sink.close()
