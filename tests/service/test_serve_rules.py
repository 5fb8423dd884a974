"""``zrmon serve`` end to end: a signed webhook in, a rule fires, a notification out — once."""

from __future__ import annotations

import time
from pathlib import Path

import requests
from conftest import encode, sensor_event, signed_headers
from notify.support import start_http_sink
from test_serve import Service

from monitor.config import Config
from monitor.store.influxd import free_port

RULES = """\
group: air
interval: 1s
rules:
  - name: co2-high
    sensor: CO2
    window: 10m
    levels:
      warning: {above: 1000}
    annotations: {summary: "CO2 {{ value | round | int }} ppm in {{ room_name }}"}
    notify: [hook]
"""


def test_webhook_to_notification_through_the_running_service(config: Config,
                                                              tmp_path: Path) -> None:
    sink = start_http_sink()
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "air.yaml").write_text(RULES)
    (rules / "notify.yaml").write_text("grouping: {group_wait: 1s, group_interval: 1s}\n")
    (rules / "channels.yaml").write_text(
        f"channels:\n  hook: {{type: webhook, url: \"{sink.url()}\"}}\n")
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
        time.sleep(4)   # several more evaluations: still one message (one scheduler process)
        assert len(sink.requests) == 1
    finally:
        service.stop()
        sink.close()
