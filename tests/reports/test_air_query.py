"""The air-quality report against a real influxd, with answers known by construction.

Everest (HQ/F1) is occupied 10 of 12 hours and at 1,200 ppm for exactly 3 of
them; K2 (HQ/F2) has CO2 for 6 of 12 hours and no people counter, but was
checked in during hours 1-3 and 9; Fuji (HQ/F1) measures humidity only, out of
range for 2 hours. Every figure below follows from that.
"""

from __future__ import annotations

import pytest
from support.airquality import EVEREST_CO2, EVEREST_PEOPLE, K2_CO2
from support.paths import RULES
from support.readings import HOUR_NS, MIN_NS, T0, checkin, hourly_readings, seed

from monitor.core.config import Config
from monitor.reports.air_query import AirReport, air_quality
from monitor.reports.guidance import load_guidance
from monitor.reports.timerange import TimeRange
from monitor.store.influx import InfluxClient


@pytest.fixture
def report(config: Config, influx: InfluxClient) -> AirReport:
    lines = [
        *hourly_readings("everest", "CO2", EVEREST_CO2, people=EVEREST_PEOPLE, name="Everest"),
        *hourly_readings("everest", "PM25", [15.0] * 6 + [15.5] * 6, people=EVEREST_PEOPLE,
                         name="Everest"),
        *hourly_readings("k2", "CO2", K2_CO2, name="K2", floor="F2"),
        *hourly_readings("fuji", "HUMIDITY", [25.0] * 2 + [45.0] * 10, name="Fuji"),
        checkin("k2", "checked_in", T0 + HOUR_NS + 30 * MIN_NS),
        checkin("k2", "checked_out", T0 + 3 * HOUR_NS + 10 * MIN_NS),
        checkin("k2", "checked_in", T0 + 9 * HOUR_NS),
        checkin("k2", "checked_out", T0 + 9 * HOUR_NS + 30 * MIN_NS),
        checkin("k2", "checked_in", T0 + 30 * HOUR_NS),       # after the range: ignored
    ]
    seed(config, influx, lines)
    return air_quality(influx, TimeRange(T0, T0 + 12 * HOUR_NS), load_guidance(RULES),
                       group_p95=True)


def _room(report: AirReport, room_id: str):  # type: ignore[no-untyped-def]
    return next(room for room in report.rooms if room.room_id == room_id)


def test_room_at_1200_ppm_for_3_of_10_occupied_hours(report: AirReport) -> None:
    every, occupied = _room(report, "everest").sensors["CO2"]
    assert (every.hours, every.covered, every.count) == (12, 12, 144)
    assert every.mean == (3 * 1200 + 7 * 700 + 2 * 500) / 12
    assert (every.max, every.p95) == (1200.0, 1200.0)
    assert every.share("co2_warning") == 9 / 12 and every.share("co2_info") == 9 / 12
    assert (occupied.hours, occupied.covered, occupied.count) == (10, 10, 120)
    assert occupied.mean == (3 * 1200 + 7 * 700) / 10
    assert occupied.share("co2_warning") == 0.7 and occupied.share("co2_info") == 0.7


def test_boundary_value_is_within_guidance(report: AirReport) -> None:
    every, occupied = _room(report, "everest").sensors["PM25"]
    assert every.share("pm25") == 0.5 and occupied.share("pm25") == 0.6


def test_gaps_are_not_compliant_and_checkins_make_occupied_time(report: AirReport) -> None:
    every, occupied = _room(report, "k2").sensors["CO2"]
    assert (every.hours, every.covered, every.coverage) == (12, 6, 0.5)
    assert every.share("co2_warning") == 0.5
    # checked in during hours 1, 2, 3 (readings) and 9 (no readings: occupied, not within)
    assert (occupied.hours, occupied.covered, occupied.count) == (4, 3, 36)
    assert occupied.mean == 600.0 and occupied.p95 == 600.0
    assert occupied.share("co2_warning") == 0.75
    assert report.checkin_rooms == 1


def test_band_guidance_from_the_humidity_rule(report: AirReport) -> None:
    every, occupied = _room(report, "fuji").sensors["HUMIDITY"]
    assert every.share("humidity") == 10 / 12
    assert occupied.hours == 0 and occupied.share("humidity") is None


def test_worst_rooms_first_and_rollups(report: AirReport) -> None:
    assert [room.room_id for room in report.rooms] == ["everest", "k2", "fuji"]
    assert _room(report, "everest").worst == 0.6          # PM2.5 over occupied hours
    assert [floor.name for floor in report.floors] == ["HQ / F1", "HQ / F2"]
    building = report.buildings[0]
    assert building.name == "HQ" and len(report.buildings) == 1
    every, occupied = building.sensors["CO2"]
    assert (every.hours, every.covered) == (24, 18)
    assert every.mean == (114000 + 43200) / 216
    assert every.share("co2_warning") == 15 / 24
    assert every.p95 == 1200.0                       # of the 18 room-hour means
    assert (occupied.hours, occupied.within["co2_warning"]) == (14, 10)
    assert report.fleet.sensors["CO2"][0].share("co2_warning") == 15 / 24
    assert report.hours == 12 and report.sensors == ["CO2", "HUMIDITY", "PM25"]


def test_group_p95_is_opt_in(config: Config, influx: InfluxClient) -> None:
    seed(config, influx, hourly_readings("everest", "CO2", EVEREST_CO2, people=EVEREST_PEOPLE))
    report = air_quality(influx, TimeRange(T0, T0 + 12 * HOUR_NS), load_guidance(RULES))
    assert report.rooms[0].sensors["CO2"][0].p95 == 1200.0
    assert report.fleet.sensors["CO2"][0].p95 is None
    assert report.fleet.sensors["CO2"][0].max == 1200.0


def test_range_is_widened_to_whole_hours(config: Config, influx: InfluxClient) -> None:
    seed(config, influx, hourly_readings("everest", "CO2", EVEREST_CO2, people=EVEREST_PEOPLE))
    report = air_quality(influx, TimeRange(T0 + 10 * MIN_NS, T0 + HOUR_NS + 1),
                         load_guidance(RULES))
    assert report.hours == 2 and report.range.start_ns == T0
    assert report.rooms[0].sensors["CO2"][0].count == 24


def test_whole_days_read_the_daily_rollup_and_give_the_same_numbers(
        report: AirReport, influx: InfluxClient) -> None:
    """The seeded day is 08:00-20:00; midnight to midnight takes the daily-rollup path."""
    day = air_quality(influx, TimeRange(T0 - 8 * HOUR_NS, T0 + 16 * HOUR_NS),
                      load_guidance(RULES))
    assert day.hours == 24
    for room in report.rooms:
        same = _room(day, room.room_id)
        for sensor, (every, occupied) in room.sensors.items():
            again, again_occupied = same.sensors[sensor]
            assert (again.hours, again.covered) == (24, every.covered)
            assert (again.total, again.count, again.max, again.p95, again.within) == \
                (every.total, every.count, every.max, every.p95, every.within)
            assert again_occupied == occupied
