"""Report arithmetic without servers: clipping, union, availability, MTTR, shares, ranges."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from monitor.core.timeutil import iso_to_ns
from monitor.reports.airmaths import (
    HOUR_NS,
    HourRow,
    Stats,
    checkin_intervals,
    hours_touched,
    merge,
    nearest_rank,
    occupied_from_hours,
    worst_first_key,
    worst_share,
)
from monitor.reports.guidance import GuidanceLine
from monitor.reports.timerange import TimeRange, parse_range, relative_range
from monitor.reports.uptime import Incident, fleet_uptime, room_uptime, union_ns
from monitor.rules.model import Threshold

MIN = 60 * 1_000_000_000


def test_nearest_rank_matches_influxdb() -> None:
    assert nearest_rank([700.0] * 7 + [1200.0] * 3, 95) == 1200.0
    assert nearest_rank([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert nearest_rank([5.0], 95) == 5.0
    assert nearest_rank([], 95) is None


def test_union_counts_overlaps_once() -> None:
    assert union_ns([(0, 10), (5, 15), (20, 30), (21, 22)]) == 25
    assert union_ns([]) == 0


def _incident(start: int, end: int | None, alert: str = "room_offline") -> Incident:
    return Incident("r", alert, "zoom_rooms_computer", start * MIN, None if end is None
                    else end * MIN)


def test_outage_straddling_the_start_is_clipped_but_recovers_whole() -> None:
    figures = room_uptime([_incident(-20, 27)], 0, 1440 * MIN, now_ns=10**20)
    assert figures.down_s == 27 * 60 and figures.recover_s == 47 * 60
    assert figures.availability == 1 - 27 / 1440


def test_incident_after_the_end_and_open_ones() -> None:
    figures = room_uptime([_incident(1400, 1500), _incident(1430, None, "high_cpu"),
                           _incident(1440, None)], 0, 1440 * MIN, now_ns=10**20)
    assert figures.down_s == 40 * 60
    assert (figures.recovered, figures.open_at_end, figures.incident_count) == (0, 2, 2)
    assert (figures.longest_s, figures.longest_open) == (40 * 60, True)


def test_fleet_totals_weight_by_time() -> None:
    rooms = [room_uptime([_incident(0, 60)], 0, 1440 * MIN, now_ns=10**20),
             room_uptime([], 0, 1440 * MIN, now_ns=10**20)]
    fleet = fleet_uptime(rooms)
    assert fleet.availability == 1 - 60 / 2880 and fleet.mttr_s == 3600
    assert fleet_uptime([]).availability is None


LINE = GuidanceLine("co2", "CO2", Threshold("above", value=1000.0), "air-quality/co2-high",
                    "warning", "CO2")
BAND = GuidanceLine("rh", "HUMIDITY", Threshold("outside", low=30.0, high=60.0),
                    "air-quality/humidity-out-of-range", "warning", "RH")


def test_guidance_conditions_negate_the_rule() -> None:
    assert LINE.within(1000.0) and not LINE.within(1000.5)
    assert LINE.condition("mean") == '"mean" <= 1000.0'
    assert BAND.condition("occupied_mean") == \
        '("occupied_mean" >= 30.0 AND "occupied_mean" <= 60.0)'
    assert (LINE.label, BAND.label) == ("CO2 ≤ 1000", "RH 30-60")


@dataclass
class _Line:
    limit: float

    def within(self, value: float) -> bool:
        return value <= self.limit


def test_occupied_hours_merge_people_and_checkins() -> None:
    rows = [HourRow(0, 500.0, 6000.0, 12, 520.0, 900.0, 1800.0, 2, 950.0),
            HourRow(HOUR_NS, 1100.0, 13200.0, 12, 1150.0),
            HourRow(2 * HOUR_NS, 400.0, 4800.0, 12, 410.0)]
    stats = occupied_from_hours(rows, {HOUR_NS, 5 * HOUR_NS}, {"co2": _Line(1000.0)})
    assert (stats.hours, stats.covered, stats.count) == (3, 2, 14)
    assert stats.total == 1800.0 + 13200.0 and stats.max == 1150.0
    assert stats.within == {"co2": 1} and stats.share("co2") == 1 / 3
    assert stats.p95 == 1100.0


def test_checkins_pair_and_cap() -> None:
    events = [(0, True), (30 * MIN, False), (60 * MIN, True), (90 * MIN, True),
              (100 * MIN, False), (200 * MIN, False), (300 * MIN, True)]
    assert checkin_intervals(events, 10**15, 240 * MIN) == [
        (0, 30 * MIN), (60 * MIN, 90 * MIN), (90 * MIN, 100 * MIN), (300 * MIN, 540 * MIN)]
    assert hours_touched([(30 * MIN, 61 * MIN), (-5, 1)], 0, 10 * HOUR_NS) == {0, HOUR_NS}


def test_shares_count_missing_hours_against() -> None:
    stats = Stats(hours=12, covered=6, within={"co2": 6})
    assert (stats.share("co2"), stats.coverage, stats.mean) == (0.5, 0.5, None)
    merged = merge([stats, Stats(hours=12, covered=12, total=10.0, count=2, max=7.0,
                                 within={"co2": 12})], p95=3.0)
    assert (merged.hours, merged.covered, merged.share("co2"), merged.mean, merged.max,
            merged.p95) == (24, 18, 0.75, 5.0, 7.0, 3.0)
    assert Stats().share("co2") is None


def test_worst_share_prefers_occupied_time_and_orders_worst_first() -> None:
    sensors = {"CO2": (Stats(hours=10, within={"co2": 9}), Stats(hours=4, within={"co2": 1})),
               "HUMIDITY": (Stats(hours=10, within={"rh": 5}), Stats())}
    assert worst_share(sensors, {"co2": "CO2", "rh": "HUMIDITY", "pm": "PM25"}) == 0.25
    keys = sorted([worst_first_key(None, "a"), worst_first_key(0.9, "b"),
                   worst_first_key(0.2, "c")])
    assert [k[1] for k in keys] == ["c", "b", "a"]


def test_relative_ranges() -> None:
    now = iso_to_ns("2026-11-01T06:00:00Z")
    assert relative_range("last_month", now) == TimeRange(iso_to_ns("2026-10-01T00:00:00Z"),
                                                          iso_to_ns("2026-11-01T00:00:00Z"))
    assert relative_range("last_month", iso_to_ns("2026-01-15T00:00:00Z")) == TimeRange(
        iso_to_ns("2025-12-01T00:00:00Z"), iso_to_ns("2026-01-01T00:00:00Z"))
    assert relative_range("last_week", iso_to_ns("2026-11-04T12:00:00Z")) == TimeRange(
        iso_to_ns("2026-10-26T00:00:00Z"), iso_to_ns("2026-11-02T00:00:00Z"))
    assert relative_range("last_day", now) == TimeRange(iso_to_ns("2026-10-31T00:00:00Z"),
                                                        iso_to_ns("2026-11-01T00:00:00Z"))
    with pytest.raises(ValueError, match="unknown range"):
        relative_range("last_year", now)


def test_parse_range_and_whole_hours() -> None:
    span = parse_range("2026-10-01", "2026-11-01")
    assert span.hour_count == 31 * 24
    with pytest.raises(ValueError, match="empty"):
        parse_range("2026-11-01", "2026-10-01")
    with pytest.raises(ValueError):
        parse_range("October", "2026-11-01")
    odd = TimeRange(HOUR_NS + 1, 2 * HOUR_NS + 1)
    assert odd.hours() == TimeRange(HOUR_NS, 3 * HOUR_NS) and odd.hour_count == 2
