"""``zrmon simulate --api-port``: a real simulator process serves its rooms as a Zoom API,
read with the monitor's own client; the REST history is what the webhooks carried."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.events import SECRET
from support.sinks import free_port
from support.store import drain

from monitor.core.timeutil import to_ns
from monitor.simulate.fleet import make_fleet
from monitor.store.influx import InfluxClient
from monitor.store.writer import Writer
from monitor.zoom.client import ZoomApi, ZoomSettings
from monitor.zoom.fake_faults import FakeOptions
from monitor.zoom.inventory import collect

ZRMON = str(Path(sys.executable).parent / "zrmon")
ROOMS = 4


class Simulator:
    """A ``zrmon simulate`` process; :meth:`wait_for` reads its stderr for a line."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "ZOOM_WEBHOOK_SECRET_TOKEN": SECRET}
        self.process = subprocess.Popen([ZRMON, "simulate", *args], env=env, text=True,
                                        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [line for line in self.lines if text in line]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                assert left > 0 and self.process.poll() is None, "".join(self.lines)
                self._changed.wait(min(left, 0.5))

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


@pytest.fixture
def simulator(receiver_url: str) -> Iterator[tuple[Simulator, ZoomApi]]:
    port = free_port()
    sim = Simulator("--url", receiver_url, "--rooms", str(ROOMS), "--backfill", "30m",
                    "--backfill-only", "--api-port", str(port), "--api-history", "2h",
                    "--wait-ready", "10s")
    try:
        sim.wait_for("Zoom API for")
        options = FakeOptions()
        api = ZoomApi(ZoomSettings(
            account_id=make_fleet(ROOMS).account_id, client_id=options.client_id,
            client_secret=options.client_secret, api_url=f"http://127.0.0.1:{port}/v2",
            oauth_url=f"http://127.0.0.1:{port}/oauth/token", rate=20.0))
        yield sim, api
        api.close()
    finally:
        if sim.process.poll() is None:
            sim.stop()


@pytest.mark.slow
def test_the_simulators_rooms_through_the_real_client(
        simulator: tuple[Simulator, ZoomApi], writer: Writer, influx: InfluxClient) -> None:
    sim, api = simulator
    fleet = make_fleet(ROOMS)
    rows = {row.room.room_id: row for row in collect(api)}
    assert set(rows) == {room.room_id for room in fleet.rooms}
    for room in fleet.rooms:
        row = rows[room.room_id]
        assert (row.room.name, row.room.location_id) == (room.name, room.location_id)
        assert (row.level("building"), row.level("floor")) == (room.building, room.floor)
        assert row.devices[0].id == room.device_id
    cities = {loc.name: api.location(loc.id).timezone
              for loc in api.locations() if loc.type == "city"}
    assert cities == {"San Jose": "America/Los_Angeles", "Berlin": "Europe/Berlin"}
    assert rows[fleet.rooms[1].room_id].room.status == "Offline"     # Matterhorn, since 25 min

    # Two hours of history by REST; the last 30 minutes also came as webhooks, identically.
    everest = rows[fleet.rooms[0].room_id].room
    now = time.time()
    rest = api.sensor_data(everest.id, _iso(now - 3 * 3600), _iso(now))
    assert len(rest) == 24 * 9 and {r.device_id for r in rest} == {fleet.rooms[0].device_id}
    rest_co2 = {to_ns(r.date_time): float(r.sensor_value) for r in rest
                if r.sensor_type == "CO2"}
    webhook_co2 = _webhook_co2(writer, influx, fleet.rooms[0].room_id, expected=6)
    assert len(webhook_co2) == 6
    assert all(rest_co2[at] == value for at, value in webhook_co2.items())
    assert sim.stop() == 0
    assert "events posted" in sim.wait_for("events posted")


def _webhook_co2(writer: Writer, influx: InfluxClient, room_id: str,
                 expected: int) -> dict[int, float]:
    """Everest's CO2 readings that arrived as webhooks, once all ``expected`` are in."""
    deadline = time.monotonic() + 30
    while True:
        drain(writer)
        series = influx.query(f'SELECT "value" FROM "sensor" WHERE "room_id" = \'{room_id}\' '
                              "AND \"sensor_type\" = 'CO2'", epoch="ns")
        values = {int(t): float(v) for t, v in series[0].values} if series else {}
        if len(values) >= expected or time.monotonic() > deadline:
            return values
        time.sleep(0.2)


def _iso(at_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at_s))
