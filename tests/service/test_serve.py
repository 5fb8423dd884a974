"""``zrmon serve`` as real processes: gunicorn, the writer and influxd, killed and restarted.

These are the tests behind "nothing acknowledged is lost": they send signed
webhooks over HTTP, kill processes with SIGKILL mid-load or take InfluxDB
away, and then count what actually landed in InfluxDB.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from support.events import SECRET, encode, sensor_event, signed_headers
from support.processes import ZRMON, Service, metric, wait_for

from monitor.core.config import Config
from monitor.store.influx import InfluxClient, InfluxError
from monitor.store.influxd import LocalInfluxd, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def service(config: Config, tmp_path: Path) -> Iterator[Service]:
    svc = Service(config, free_port(), free_port(), log=tmp_path / "serve.log")
    yield svc
    svc.stop()


@dataclass
class Load:
    """Signed sensor events from a client thread; remembers which were acknowledged."""

    url: str
    total: int
    acked: list[int] = field(default_factory=list)
    failed: list[Any] = field(default_factory=list)
    room: str = "room-load"

    def event(self, n: int) -> bytes:
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1_793_527_200 + n * 60))
        return encode(sensor_event(self.room, when=when))

    def run(self, stop_on_error: bool = False) -> None:
        session = requests.Session()
        for n in range(self.total):
            body = self.event(n)
            try:
                response = session.post(f"{self.url}/webhooks/zoom", data=body,
                                        headers=signed_headers(body), timeout=5)
            except requests.RequestException as exc:
                self.failed.append(exc)
                if stop_on_error:
                    return
                session = requests.Session()
                continue
            if response.status_code == 200:
                self.acked.append(n)
            else:
                self.failed.append(response.status_code)

    def acked_times_ms(self) -> set[int]:
        return {(1_793_527_200 + n * 60) * 1000 for n in self.acked}


def landed_times_ms(influx: InfluxClient, room: str = "room-load") -> set[int]:
    """Times of the CO2 readings in InfluxDB (none yet if the writer has not created the db)."""
    try:
        series = influx.query(f"SELECT \"value\" FROM \"sensor\" WHERE room_id = '{room}' "
                              "AND sensor_type = 'CO2'")
    except InfluxError as exc:
        if "database not found" in str(exc):
            return set()
        raise
    return {row[0] for s in series for row in s.values}


def test_serve_end_to_end_with_metrics_on_the_admin_listener(service: Service,
                                                             influx: InfluxClient) -> None:
    service.start()
    wait_for(lambda: requests.get(f"{service.url}/readyz").status_code == 200, 20, "readyz")
    load = Load(service.url, 20)
    load.run()
    assert len(load.acked) == 20
    wait_for(lambda: len(landed_times_ms(influx)) == 20, 20, "20 events in InfluxDB")
    bad = encode({"event": "zoomroom.alert", "event_ts": 1, "payload": {"account_id": "a"}})
    assert requests.post(f"{service.url}/webhooks/zoom", data=bad,
                         headers=signed_headers(bad)).status_code == 422
    assert requests.get(f"{service.url}/metrics").status_code == 404
    metrics = requests.get(f"http://127.0.0.1:{service.admin_port}/metrics").text
    assert ('zrmon_events_received_total{event="zoomroom.sensor_data",outcome="accepted"} 20.0'
            in metrics)
    assert 'zrmon_events_received_total{event="zoomroom.alert",outcome="invalid"} 1.0' in metrics
    assert "zrmon_readings_written_total 180.0" in metrics
    assert "zrmon_quarantine_events 1.0" in metrics
    assert "zrmon_spool_depth 0.0" in metrics
    assert "zrmon_influx_write_seconds_count" in metrics
    assert service.stop() == 0


def test_sigkill_of_the_writer_mid_load_loses_nothing(service: Service,
                                                      influx: InfluxClient) -> None:
    service.start()
    load = Load(service.url, 300)
    client = threading.Thread(target=load.run)
    client.start()
    wait_for(lambda: len(load.acked) >= 100, 30, "100 acknowledged events")
    first_writer = service.writer_pid()
    assert first_writer is not None
    os.kill(first_writer, signal.SIGKILL)
    client.join()
    assert load.failed == []
    wait_for(lambda: service.writer_pid() not in (None, first_writer), 20,
             "the writer to be restarted")
    wait_for(lambda: landed_times_ms(influx) >= load.acked_times_ms(), 30,
             "every acknowledged event in InfluxDB")
    assert len(load.acked) == 300


def test_sigkill_of_the_whole_service_mid_load_then_restart(service: Service,
                                                            influx: InfluxClient) -> None:
    service.start()
    load = Load(service.url, 100_000)
    client = threading.Thread(target=load.run, kwargs={"stop_on_error": True})
    client.start()
    wait_for(lambda: len(load.acked) >= 300, 30, "300 acknowledged events")
    service.kill_everything()
    client.join()
    acked = load.acked_times_ms()
    assert len(acked) >= 300
    service.start()
    wait_for(lambda: landed_times_ms(influx) >= acked, 60, "every acknowledged event")
    assert service.stop() == 0


def test_influxdb_down_for_a_while_then_back(config: Config, tmp_path: Path) -> None:
    server = LocalInfluxd(tmp_path / "influx-outage").start()
    local = config.with_(influx_url=server.url)
    svc = Service(local, free_port(), free_port(), log=tmp_path / "serve.log")
    try:
        svc.start()
        client = InfluxClient(local)
        wait_for(lambda: requests.get(f"{svc.url}/readyz").status_code == 200, 20, "ready")
        wait_for(lambda: svc.metrics() != "", 20, "the writer's admin listener")
        server.kill()
        wait_for(lambda: requests.get(f"{svc.url}/readyz").status_code == 503, 10, "not ready")
        failed = _unavailable_writes(svc)
        load = Load(svc.url, 50)
        load.run()
        assert len(load.acked) == 50  # acknowledged from the spool while InfluxDB is down
        # The writer retries with back-off meanwhile: two failed writes, seen in its counter.
        wait_for(lambda: _unavailable_writes(svc) >= failed + 2, 30, "two failed writes")
        server.start()
        wait_for(lambda: landed_times_ms(client) >= load.acked_times_ms(), 60,
                 "the backlog in InfluxDB")
    finally:
        svc.stop()
        server.stop()


def _unavailable_writes(service: Service) -> float:
    sample = 'zrmon_influx_write_errors_total{kind="unavailable"}'
    return metric(service.metrics(), sample) or 0.0


def test_no_request_produces_a_500_or_kills_a_worker(service: Service) -> None:
    service.start()
    deep = b"[" * 100_000 + b"]" * 100_000
    nasty = [b"", b"\xff\xfe\x00", b"null", b"[]", b'"x"', deep,
             encode({"event": 5, "payload": []}),
             encode({"event": "zoomroom.sensor_data", "event_ts": {"a": 1}, "payload": None}),
             encode({"event": "zoomroom.sensor_data", "event_ts": 1,
                     "payload": {"account_id": "a", "object": {"id": "r", "room_name": "x",
                                                               "device_id": "d",
                                                               "sensor_data": "nope"}}}),
             encode({"event": "zoomroom.alert", "event_ts": "1e400",
                     "payload": {"account_id": "a", "object": {"id": ["r"]}}})]
    for body in nasty:
        for headers in (signed_headers(body), {"x-zm-signature": "v0=00"}):
            response = requests.post(f"{service.url}/webhooks/zoom", data=body, headers=headers)
            assert 400 <= response.status_code < 500, (body[:40], response.text)
            assert response.headers["Content-Type"].startswith("application/json")
    assert requests.get(f"{service.url}/healthz").status_code == 200


def test_missing_secret_exits_2_naming_the_variable(config: Config) -> None:
    env = {**os.environ, **config.to_env(), "ZOOM_WEBHOOK_SECRET_TOKEN": ""}
    result = subprocess.run([ZRMON, "serve"], check=False, env=env, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 2
    assert "ZOOM_WEBHOOK_SECRET_TOKEN" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_invalid_setting_exits_2_naming_the_variable(config: Config) -> None:
    env = {**os.environ, **config.to_env(), "ZRMON_SPOOL_MAX_BYTES": "lots"}
    result = subprocess.run([ZRMON, "spool", "status"], check=False, env=env, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 2
    assert "ZRMON_SPOOL_MAX_BYTES" in result.stderr
    assert SECRET not in result.stderr
