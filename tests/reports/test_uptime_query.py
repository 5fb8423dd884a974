"""The uptime report against a real influxd: incidents whose answers are known.

Everest: an outage of exactly 47 minutes straddling the range start (27 in
range) and a 30-minute camera incident. K2: an outage still open, and one that
overlaps it and ends after the range. Fuji: readings, and outages only before and
after the range.
"""

from __future__ import annotations

import pytest
from support.readings import hourly_readings, incident, seed

from monitor.core.config import Config
from monitor.core.timeutil import iso_to_ns
from monitor.reports.timerange import TimeRange
from monitor.reports.uptime_query import UptimeReport, uptime
from monitor.store.influx import InfluxClient

DAY = 86400.0


@pytest.fixture
def report(config: Config, influx: InfluxClient) -> UptimeReport:
    seed(config, influx, [
        incident("everest", "2026-09-30T23:40:00Z", "2026-10-01T00:27:00Z"),
        incident("everest", "2026-10-01T10:00:00Z", "2026-10-01T10:30:00Z",
                 alert="audio_video_device_disconnected", component="camera"),
        incident("k2", "2026-10-01T23:00:00Z", None),
        incident("k2", "2026-10-01T22:30:00Z", "2026-10-02T01:00:00Z", component="controller"),
        incident("fuji", "2026-09-29T10:00:00Z", "2026-09-29T11:00:00Z"),
        incident("fuji", "2026-10-02T00:00:00Z", None),                # starts at the end
        *hourly_readings("fuji", "CO2", [500.0], name="Fuji"),        # listed: it has readings
    ])
    span = TimeRange(iso_to_ns("2026-10-01T00:00:00Z"), iso_to_ns("2026-10-02T00:00:00Z"))
    return uptime(influx, span, now_ns=iso_to_ns("2026-10-05T00:00:00Z"))


def test_outage_straddling_the_start(report: UptimeReport) -> None:
    rooms = {room.room_id: figures for room, figures in report.rooms}
    everest = rooms["everest"]
    assert everest.down_s == 27 * 60
    assert everest.availability == 1 - 27 * 60 / DAY
    assert everest.recovered == 2 and everest.recover_s == (47 + 30) * 60
    assert everest.mttr_s == 38.5 * 60
    assert everest.incidents == {("room_offline", "zoom_rooms_computer"): 1,
                                 ("audio_video_device_disconnected", "camera"): 1}
    assert (everest.longest_s, everest.longest_open, everest.open_at_end) == (47 * 60, False, 0)


def test_open_and_overlapping_incidents(report: UptimeReport) -> None:
    rooms = {room.room_id: figures for room, figures in report.rooms}
    k2 = rooms["k2"]
    assert k2.down_s == 90 * 60                       # 22:30-24:00, the overlap counted once
    assert (k2.recovered, k2.open_at_end, k2.mttr_s) == (0, 2, None)
    assert (k2.longest_s, k2.longest_open) == (90 * 60, True)
    assert rooms["fuji"].availability == 1.0 and rooms["fuji"].incident_count == 0


def test_worst_first_and_fleet_totals(report: UptimeReport) -> None:
    assert [room.room_id for room, _ in report.rooms] == ["k2", "everest", "fuji"]
    assert [room.name for room, _ in report.rooms] == ["K2", "Everest", "Fuji"]
    fleet = report.fleet
    assert fleet.elapsed_s == 3 * DAY and fleet.down_s == 117 * 60
    assert fleet.availability == 1 - 117 * 60 / (3 * DAY)
    assert (fleet.incident_count, fleet.recovered, fleet.open_at_end) == (4, 2, 2)
    assert fleet.mttr_s == 38.5 * 60


def test_open_incident_runs_until_now_in_a_current_range(config: Config,
                                                         influx: InfluxClient) -> None:
    seed(config, influx, [incident("k2", "2026-10-01T06:00:00Z", None)])
    span = TimeRange(iso_to_ns("2026-10-01T00:00:00Z"), iso_to_ns("2026-10-02T00:00:00Z"))
    report = uptime(influx, span, now_ns=iso_to_ns("2026-10-01T12:00:00Z"))
    [(_room, figures)] = report.rooms
    assert figures.elapsed_s == 12 * 3600 and figures.down_s == 6 * 3600
    assert figures.availability == 0.5 and figures.open_at_end == 1
