"""A full disk for real: the data directory on a small tmpfs filled until ENOSPC.

Deliveries then get 503 (Zoom retries them), ``/readyz`` warns before that, the
writer keeps running (no restart loop) and, once space returns, everything
acknowledged lands in InfluxDB and the spool holds no torn record.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from support.events import encode, sensor_event, signed_headers
from support.faults import FaultProxy
from support.processes import (
    Service,
    metric_total,
    wait_for,
)

from monitor.core.config import Config
from monitor.store.influx import InfluxClient, InfluxError
from monitor.store.influxd import LocalInfluxd, free_port
from monitor.store.spool import SpoolAppender, list_segments, read_records

pytestmark = pytest.mark.slow
MiB = 1024 * 1024


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 48 MiB tmpfs of our own: filling it cannot hurt the machine's disk."""
    mountpoint = tmp_path / "fs"
    mountpoint.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m,mode=0755", "tmpfs",
                    str(mountpoint)], check=True)
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def fill(directory: Path, leave: int = 0) -> Path:
    """Write a filler file until only ``leave`` bytes are free (or ENOSPC)."""
    filler = directory / "filler"
    chunk = b"\0" * MiB
    with filler.open("ab") as out:
        while True:
            stats = os.statvfs(directory)
            free = stats.f_bavail * stats.f_frsize
            if free <= leave:
                break
            try:
                out.write(chunk[: min(len(chunk), free - leave)])
                out.flush()
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
    return filler


def test_a_write_that_meets_enospc_leaves_no_torn_record(small_fs: Path) -> None:
    spool = SpoolAppender(small_fs / "spool", fsync=True)
    spool.append(b"first" * 100)
    filler = fill(small_fs, leave=20_000)
    with pytest.raises(OSError) as caught:
        spool.append(b"x" * 200_000)          # the first os.write is short, the next fails
    assert caught.value.errno == errno.ENOSPC
    filler.unlink()
    spool.append(b"after" * 100)
    spool.close()
    [segment] = list_segments(small_fs / "spool")
    payloads = [record.payload for record in read_records(segment, 0, 10)]
    assert payloads == [b"first" * 100, b"after" * 100]


def _post(url: str, n: int) -> int:
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1_793_527_200 + n * 60))
    body = encode(sensor_event("room-disk", when=when))
    try:
        return requests.post(f"{url}/webhooks/zoom", data=body, headers=signed_headers(body),
                             timeout=5).status_code
    except requests.RequestException:
        return 0


def _landed(influx: InfluxClient) -> int:
    try:
        series = influx.query("SELECT count(\"value\") FROM \"sensor\" "
                              "WHERE room_id = 'room-disk' AND sensor_type = 'CO2'")
    except InfluxError:
        return 0
    return int(series[0].values[0][1]) if series else 0


def test_full_disk_answers_503_and_the_service_carries_on(small_fs: Path, config: Config,
                                                          tmp_path: Path,
                                                          influxd: LocalInfluxd) -> None:
    proxy = FaultProxy(influxd.url).start()   # holds the writer's writes while we fill up
    local = config.with_(data_dir=small_fs / "var", min_free_bytes=12 * MiB,
                         influx_url=proxy.url)
    svc = Service(local, free_port(), free_port(), log=tmp_path / "serve.log").start()
    influx = InfluxClient(config)
    acked = set()
    try:
        for n in range(5):
            assert _post(svc.url, n) == 200
            acked.add(n)
        wait_for(lambda: _landed(influx) == 5, 30, "the first readings")
        writer = svc.writer_pid()
        assert svc.readyz()[0] == 200

        proxy.set("hang")
        fill(small_fs, leave=8 * MiB)      # below the threshold, not yet full
        status, text = svc.readyz()
        assert status == 503 and "disk nearly full" in text
        for n in range(5, 10):
            assert _post(svc.url, n) == 200             # still accepting
            acked.add(n)

        fill(small_fs, leave=0)
        refused = [_post(svc.url, n) for n in range(10, 16)]
        # A record that still fits in the segment's last page is taken: 200 or 503, never
        # a 500 or a dropped connection.
        assert 503 in refused and set(refused) <= {200, 503}, refused
        acked.update(10 + i for i, code in enumerate(refused) if code == 200)
        proxy.set("pass")                  # the writer's batch is in InfluxDB; its commit …
        wait_for(lambda: metric_total(svc.metrics(), "zrmon_writer_storage_errors_total") >= 2, 30,
                 "the writer to meet the full disk")   # … fails, and is retried
        assert svc.writer_pid() == writer, svc.log_text()

        for path in small_fs.glob("filler*"):
            path.unlink()
        wait_for(lambda: _post(svc.url, 16) == 200, 20, "deliveries accepted again")
        acked.add(16)
        wait_for(lambda: _landed(influx) == len(acked), 60, "every acknowledged reading")
        assert svc.writer_pid() == writer
        assert "exited with" not in svc.log_text()
    finally:
        svc.stop()
        proxy.close()


def test_a_writer_restarted_on_a_full_disk_starts_and_drains_once_space_returns(
        small_fs: Path, config: Config, tmp_path: Path) -> None:
    """Its last good copy cannot be made then: a warning, not a crash loop."""
    local = config.with_(data_dir=small_fs / "var", min_free_bytes=1 * MiB)
    svc = Service(local, free_port(), free_port(), log=tmp_path / "serve.log").start()
    influx = InfluxClient(local)
    try:
        for n in range(3):
            assert _post(svc.url, n) == 200
        wait_for(lambda: _landed(influx) == 3, 30, "the first readings")
        fill(small_fs, leave=0)
        first = svc.writer_pid()
        assert first is not None
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: svc.writer_pid() not in (None, first), 30, "a new writer")
        second = svc.writer_pid()
        wait_for(lambda: "no last good copy" in svc.log_text(), 30, "the warning")
        for path in small_fs.glob("filler*"):
            path.unlink()
        assert _post(svc.url, 3) == 200
        wait_for(lambda: _landed(influx) == 4, 60, "the reading after the restart")
        wait_for(lambda: '"evaluator":"running"' in requests.get(
            f"http://127.0.0.1:{svc.admin_port}/readyz", timeout=5).text.replace(" ", ""),
            60, "the evaluator reporting again")
        assert svc.writer_pid() == second, svc.log_text()   # started once, never again
    finally:
        svc.stop()
