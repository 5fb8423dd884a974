"""The admin listener in-process, over real HTTP: health, readiness and metrics, then shutdown.

``/healthz`` and ``/readyz`` are one blueprint on both listeners; these tests
hold the two apps side by side so the shapes stay the same while the checks
differ (a failed evaluator fails only the admin listener).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from monitor.core.config import Config
from monitor.core.jsonutil import write_atomic
from monitor.runtime.adminserver import start_admin_server
from monitor.runtime.app import create_admin_app, create_app
from monitor.runtime.evaluator import status_path
from monitor.store.influx import InfluxClient


@pytest.fixture
def admin_url(config: Config, influx: InfluxClient) -> Iterator[str]:
    server = start_admin_server(create_admin_app(config), "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_health_readiness_and_metrics(admin_url: str) -> None:
    with requests.Session() as session:
        healthz = session.get(f"{admin_url}/healthz", timeout=5)
        readyz = session.get(f"{admin_url}/readyz", timeout=5)
        metrics = session.get(f"{admin_url}/metrics", timeout=5)
    assert (healthz.status_code, healthz.json()) == (200, {"status": "ok"})
    assert (readyz.status_code, readyz.json()) == (200, {"status": "ready",
                                                         "evaluator": "starting"})
    assert metrics.status_code == 200
    assert "zrmon_disk_free_bytes" in metrics.text


def test_shutdown_stops_listening(config: Config) -> None:
    server = start_admin_server(create_admin_app(config), "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.server_port}/healthz"
    assert requests.get(url, timeout=5).status_code == 200
    server.shutdown()
    server.server_close()
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=5)


def test_a_failed_evaluator_fails_only_the_admin_readiness(config: Config,
                                                           influx: InfluxClient) -> None:
    config = config.with_(evaluate=True)
    write_atomic(status_path(config), {"state": "failed", "reason": "rules not loaded",
                                       "updated_ns": time.time_ns()})
    admin = create_admin_app(config).test_client().get("/readyz")
    public = create_app(config).test_client().get("/readyz")
    assert (admin.status_code, admin.json) == (503, {
        "status": "unavailable", "problems": ["evaluator failed: rules not loaded"],
        "evaluator": "failed: rules not loaded"})
    assert (public.status_code, public.json) == (200, {
        "status": "ready", "evaluator": "failed: rules not loaded"})


def test_a_damaged_state_file_fails_both_readiness_checks_alike(config: Config,
                                                                influx: InfluxClient) -> None:
    config.state_dir.mkdir(parents=True, exist_ok=True)
    (config.state_dir / "offsets.json").write_text("{not json")
    admin = create_admin_app(config).test_client().get("/readyz")
    public = create_app(config).test_client().get("/readyz")
    assert admin.status_code == public.status_code == 503
    assert admin.json == public.json
    assert admin.json is not None
    [problem] = admin.json["problems"]
    assert "offsets.json" in problem
