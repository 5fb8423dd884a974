"""A damaged state file under a running ``zrmon serve``: 503 naming it, then recovery."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import requests
from support.events import encode, sensor_event, signed_headers
from support.processes import ZRMON, Service, metric, wait_for

from monitor.core.config import Config
from monitor.notify.silences import SilenceStore
from monitor.store.influx import InfluxClient, InfluxError
from monitor.store.influxd import free_port

pytestmark = pytest.mark.slow


def _restore(config: Config, path: Path) -> None:
    env = {**os.environ, **config.to_env()}
    done = subprocess.run([ZRMON, "state", "restore", str(path)], env=env, check=False,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr


def _landed(influx: InfluxClient) -> int:
    try:
        series = influx.query("SELECT count(\"value\") FROM \"sensor\" WHERE room_id = 'r-9'")
    except InfluxError:
        return 0
    return int(series[0].values[0][1]) if series else 0


def test_damaged_files_turn_readyz_503_naming_them_until_restored(config: Config,
                                                                   tmp_path: Path) -> None:
    local = config.with_(evaluate=False)
    store = SilenceStore(local.data_dir)
    store.add({"room_id": "r1"}, ends_ns=2**62)
    store.add({"room_id": "r2"}, ends_ns=2**62)
    svc = Service(local, free_port(), free_port(), log=tmp_path / "serve.log").start()
    try:
        wait_for(lambda: svc.readyz()[0] == 200, 30, "ready")
        writer_db = local.state_dir / "writer.sqlite"
        wait_for(lambda: writer_db.with_name("writer.sqlite.last-good").exists(), 30,
                 "the writer's last good copy")
        store.path.write_bytes(b"")
        # Every gunicorn worker checks on its own (at most every few seconds).
        wait_for(lambda: svc.readyz() == svc.readyz() == (503, svc.readyz()[1])
                 and str(store.path) in svc.readyz()[1], 30, "/readyz to name the file")
        wait_for(lambda: metric(svc.metrics(), "zrmon_state_file_errors") == 1, 30, "the metric")
        admin = requests.get(f"http://127.0.0.1:{svc.admin_port}/readyz", timeout=5)
        assert admin.status_code == 503 and "silences.sqlite" in admin.text
        _restore(local, store.path)
        wait_for(lambda: svc.readyz()[0] == svc.readyz()[0] == 200, 30,
                 "/readyz after the restore")
        wait_for(lambda: metric(svc.metrics(), "zrmon_state_file_errors") == 0, 30, "the metric")
    finally:
        svc.stop()


def test_a_writer_with_an_emptied_database_waits_instead_of_starting_over(
        config: Config, tmp_path: Path) -> None:
    local = config.with_(evaluate=False)
    svc = Service(local, free_port(), free_port(), log=tmp_path / "serve.log").start()
    influx = InfluxClient(local)
    writer_db = local.state_dir / "writer.sqlite"
    try:
        wait_for(lambda: writer_db.with_name("writer.sqlite.last-good").exists(), 30,
                 "the writer's last good copy")
    finally:
        svc.stop()
    writer_db.write_bytes(b"")                      # lost while the service was down
    for suffix in ("-wal", "-shm"):
        writer_db.with_name(writer_db.name + suffix).unlink(missing_ok=True)
    svc.start()
    try:
        body = encode(sensor_event("r-9"))
        assert requests.post(f"{svc.url}/webhooks/zoom", data=body,
                             headers=signed_headers(body), timeout=5).status_code == 200
        wait_for(lambda: "writer.sqlite: is empty" in svc.readyz()[1], 30, "the reason")
        wait_for(lambda: "writer waiting" in svc.log_text(), 30, "the writer to say why")
        assert _landed(influx) == 0
        _restore(local, writer_db)
        wait_for(lambda: _landed(influx) == 9, 30, "the accepted event, once restored")
        wait_for(lambda: svc.readyz()[0] == 200, 30, "ready again")
    finally:
        svc.stop()
