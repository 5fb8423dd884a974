"""InfluxDB faults while ``zrmon serve`` keeps running: the result equals a fault-free run.

The same deliveries (registry changes, readings, triggers, clears, duplicates via
``delayed_alert`` and retries, alerts out of order) go once through a fault-free
in-process writer and once through a running service whose InfluxDB is stopped,
or sits behind a proxy that answers 500, loses its answers after writing, hangs
or resets connections while a third of them arrive. Afterwards the full contents
of every measurement must be the same.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from support.events import alert_event, encode, sensor_event, signed_headers
from support.faults import FaultProxy
from support.processes import Service, metric_total, wait_for
from support.store import drain

from monitor.core.config import Config
from monitor.store.influx import InfluxClient, InfluxError
from monitor.store.influxd import LocalInfluxd, free_port
from monitor.store.writer import Writer

pytestmark = pytest.mark.slow

MEASUREMENTS = ("room_incident", "room_alert", "sensor", "zoom_event")
T = 1_793_527_200  # 2026-11-01T10:00:00Z


def _location(event_ts: int, location_id: str, name: str, kind: str,
              parent: str) -> dict[str, Any]:
    return {"event": "zoomroom.location_created", "event_ts": event_ts,
            "payload": {"account_id": "acct-1", "operator": "o", "operator_id": "o",
                        "object": {"id": location_id, "name": name, "type": kind,
                                   "parent_location_id": parent}}}


def _room(event_ts: int, room: str, location_id: str,
          name: str = "zoomroom.created") -> dict[str, Any]:
    return {"event": name, "event_ts": event_ts,
            "payload": {"account_id": "acct-1",
                        "object": {"id": room, "room_name": room.title(),
                                   "location_id": location_id}}}


def _reading(room: str, minute: int) -> dict[str, Any]:
    when = f"2026-11-01T10:{minute:02d}:00Z"
    return sensor_event(room, when=when, event_ts=(T + minute * 60) * 1000, room_name=room)


def _alert(kind: int, room: str, minute: int, **extra: Any) -> dict[str, Any]:
    return alert_event(kind, (T + minute * 60) * 1000, room=room,
                       event_ts=(T + minute * 60) * 1000 + 7, **extra)


def deliveries() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Before, during and after the fault."""
    before = [
        _location(T * 1000 - 3000, "b1", "HQ", "building", ""),
        _location(T * 1000 - 2000, "f1", "1st floor", "floor", "b1"),
        _location(T * 1000 - 1000, "f2", "2nd floor", "floor", "b1"),
        _room(T * 1000 - 500, "room-1", "f1"),
        _room(T * 1000 - 400, "room-2", "f1"),
        _reading("room-1", 0), _reading("room-2", 0),
        _alert(1, "room-1", 1),                                   # room-1 goes offline
    ]
    during = [
        _alert(1, "room-1", 1, name="zoomroom.delayed_alert"),    # the same trigger again
        _alert(2, "room-1", 11),                                  # ... and its clear
        _alert(2, "room-2", 8),                                   # a clear before its trigger
        _alert(1, "room-2", 3),
        _room(T * 1000 + 600_000, "room-2", "f2", name="zoomroom.updated"),  # moves floor
        _room(T * 1000 + 610_000, "room-3", "f2"),
        _alert(1, "room-3", 12), _alert(2, "room-3", 14),         # a whole pair
        _reading("room-1", 12), _reading("room-2", 12), _reading("room-3", 12),
        _alert(1, "room-2", 20, component=2),
    ]
    after = [
        _alert(2, "room-1", 11),                                  # a retried clear
        _alert(1, "room-1", 30),                                  # offline again, still open
        _alert(2, "room-2", 25, component=2),
        _reading("room-1", 31), _reading("room-3", 31),
    ]
    return before, during, after


def dump(influx: InfluxClient) -> dict[str, list[tuple[tuple[str, Any], ...]]]:
    out: dict[str, list[tuple[tuple[str, Any], ...]]] = {}
    for measurement in MEASUREMENTS:
        try:
            series = influx.query(f'SELECT * FROM "{measurement}"', epoch="ns")
        except InfluxError as exc:
            if "database not found" not in str(exc):
                raise
            series = []
        rows = [tuple(sorted(row.items())) for s in series for row in s.rows()]
        out[measurement] = sorted(rows, key=repr)
    return out


@pytest.fixture
def reference(post: Callable[..., Any], writer: Writer,
              influx: InfluxClient) -> dict[str, list[tuple[tuple[str, Any], ...]]]:
    """The fault-free run: every delivery through the receiver and the writer in process."""
    before, during, after = deliveries()
    for event in [*before, *during, *during[:3], *after]:
        assert post(event).status_code == 200
    drain(writer)
    result = dump(influx)
    assert len(result["room_incident"]) >= 5 and len(result["sensor"]) == 7 * 9
    return result


def _post_all(url: str, events: list[dict[str, Any]], retry: int | None = None) -> None:
    session = requests.Session()
    for event in events:
        body = encode(event)
        response = session.post(f"{url}/webhooks/zoom", data=body,
                                headers=signed_headers(body, retry=retry), timeout=5)
        assert response.status_code == 200, response.text


@pytest.fixture
def own_influxd(tmp_path: Path) -> Iterator[LocalInfluxd]:
    server = LocalInfluxd(tmp_path / "influxd").start()
    yield server
    server.stop()


def _run_with_fault(config: Config, influx_url: str, tmp_path: Path, *,
                    fault_on: Callable[[], None], fault_off: Callable[[], None],
                    faulted: Callable[[Service], bool]) -> Service:
    local = config.with_(influx_url=influx_url, influx_db=config.influx_db + "_faulty",
                         data_dir=tmp_path / "faulty", writer_timeout_s=2.0)
    svc = Service(local, free_port(), free_port(), log=tmp_path / "serve.log").start()
    before, during, after = deliveries()
    _post_all(svc.url, before)
    wait_for(lambda: _landed(local, influx_url), 30, "the first batch")
    fault_on()
    _post_all(svc.url, during)
    _post_all(svc.url, during[:3], retry=1)      # Zoom's retries of the same deliveries
    wait_for(lambda: faulted(svc), 30, "the writer to meet the fault twice")
    fault_off()
    _post_all(svc.url, after)
    return svc


def _landed(config: Config, influx_url: str) -> bool:
    try:
        return bool(InfluxClient(config.with_(influx_url=influx_url)).query(
            'SELECT count("value") FROM "sensor"'))
    except InfluxError:
        return False


def _converges(target: InfluxClient, reference: dict[str, Any]) -> None:
    """Poll until the faulty run caught up; then compare for a readable difference."""
    with contextlib.suppress(AssertionError):
        wait_for(lambda: dump(target) == reference, 60, "the same data as a fault-free run")
    result = dump(target)
    for measurement in MEASUREMENTS:
        extra = set(result[measurement]) - set(reference[measurement])
        missing = set(reference[measurement]) - set(result[measurement])
        assert (extra, missing) == (set(), set()), f"{measurement}: {extra=} {missing=}"
    assert result == reference


@pytest.mark.parametrize("mode", ["error", "lost_answer", "hang", "reset"])
def test_influxdb_behind_a_failing_proxy(mode: str, config: Config, tmp_path: Path,
                                         influxd: LocalInfluxd,
                                         reference: dict[str, Any]) -> None:
    proxy = FaultProxy(influxd.url).start()
    target = InfluxClient(config.with_(influx_db=config.influx_db + "_faulty"))
    svc: Service | None = None
    try:
        seen = proxy.faulted
        svc = _run_with_fault(config, proxy.url, tmp_path,
                              fault_on=lambda: proxy.set(mode),
                              fault_off=lambda: proxy.set("pass"),
                              faulted=lambda _svc: proxy.faulted >= seen + 2)
        _converges(target, reference)
    finally:
        if svc is not None:
            svc.stop()
        proxy.close()


def test_influxdb_stopped_while_the_service_runs(config: Config, tmp_path: Path,
                                                 own_influxd: LocalInfluxd,
                                                 reference: dict[str, Any]) -> None:
    target = InfluxClient(config.with_(influx_url=own_influxd.url,
                                       influx_db=config.influx_db + "_faulty"))
    errors: list[float] = []

    def stop() -> None:
        own_influxd.kill()

    def faulted(svc: Service) -> bool:
        errors.append(metric_total(svc.metrics(), "zrmon_influx_write_errors_total"))
        return errors[-1] >= errors[0] + 2

    svc = _run_with_fault(config, own_influxd.url, tmp_path, fault_on=stop,
                          fault_off=own_influxd.start, faulted=faulted)
    try:
        _converges(target, reference)
    finally:
        svc.stop()
