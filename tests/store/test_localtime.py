"""Reports on a local calendar (``--tz``) against a real influxd, with exact numbers.

Spree is a building in Berlin. Its room reads CO2 once an hour at hh:30 UTC
around local midnight, with a value that says which local day it belongs to,
so a report in the wrong zone gets the wrong count and the wrong mean.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from support.paths import RULES
from support.readings import zoom_room_lines

from monitor.cli import main
from monitor.core.config import Config
from monitor.core.configfile import ConfigFileError
from monitor.core.timeutil import iso_to_ns
from monitor.reports.air_query import air_quality
from monitor.reports.guidance import load_guidance
from monitor.reports.schedule import parse_schedule, run_job
from monitor.reports.timerange import parse_range, relative_range
from monitor.store.influx import InfluxClient
from monitor.store.retention import apply_setup, backfill

BERLIN = ZoneInfo("Europe/Berlin")
HOUR_NS = 3600 * 1_000_000_000
# UTC time → CO2 value. Berlin is UTC+2 until 25 October 2026 03:00, then UTC+1.
READINGS = {
    "2026-09-30T21:30:00Z": 401.0,   # 23:30 on 30 September in Berlin: before October
    "2026-09-30T22:30:00Z": 1001.0,  # 00:30 on 1 October in Berlin (30 September in UTC)
    "2026-10-01T21:30:00Z": 1002.0,  # 23:30 on 1 October in Berlin
    "2026-10-01T22:30:00Z": 2001.0,  # 00:30 on 2 October in Berlin (still 1 October in UTC)
    "2026-10-31T22:30:00Z": 1031.0,  # 23:30 on 31 October in Berlin (CET now)
    "2026-10-31T23:30:00Z": 1101.0,  # 00:30 on 1 November in Berlin
}


def _sensor_lines() -> str:
    return "\n".join(f"sensor,room_id=spree-1,room_name=Spree\\ 1,sensor_type=CO2,"
                     f"building=Spree,floor=F1 value={value} {iso_to_ns(at)}"
                     for at, value in READINGS.items())


@pytest.fixture
def seeded(config: Config, influx: InfluxClient) -> Config:
    apply_setup(influx, config.with_(raw_retention="INF", rollup_retention="INF"))
    influx.write(_sensor_lines().encode())
    influx.write(zoom_room_lines(iso_to_ns("2026-11-01T05:00:00Z")))
    backfill(influx, iso_to_ns("2026-09-30T00:00:00Z"), iso_to_ns("2026-11-02T00:00:00Z"))
    return config


def _co2(config: Config, influx: InfluxClient, start: str, end: str,
         tz: Any = BERLIN) -> tuple[int, float | None, int]:
    report = air_quality(influx, parse_range(start, end, tz), load_guidance(RULES))
    if not report.rooms:
        return 0, None, report.hours
    every, _ = report.rooms[0].sensors["CO2"]
    return every.count, every.mean, report.hours


def test_a_berlin_day_runs_from_local_midnight(seeded: Config, influx: InfluxClient) -> None:
    assert _co2(seeded, influx, "2026-10-01", "2026-10-02") == (2, (1001 + 1002) / 2, 24)
    assert _co2(seeded, influx, "2026-10-02", "2026-10-03") == (1, 2001.0, 24)
    # the same dates in UTC cut elsewhere
    assert _co2(seeded, influx, "2026-10-01", "2026-10-02", tz=ZoneInfo("UTC")) == \
        (2, (1002 + 2001) / 2, 24)


def test_october_in_berlin_has_31_local_days_and_745_hours(seeded: Config,
                                                           influx: InfluxClient) -> None:
    span = parse_range("2026-10-01", "2026-11-01", BERLIN)
    assert (span.iso(span.start_ns), span.iso(span.end_ns)) == \
        ("2026-10-01T00:00:00.000+02:00", "2026-11-01T00:00:00.000+01:00")
    assert span.hour_count == 745 and span.local_dates() == ("2026-10-01", "2026-11-01")
    assert relative_range("last_month", iso_to_ns("2026-11-01T06:00:00Z"), BERLIN) == span
    count, mean, hours = _co2(seeded, influx, "2026-10-01", "2026-11-01")
    assert (count, hours) == (4, 745)
    assert mean == (1001 + 1002 + 2001 + 1031) / 4


def test_local_date_times_and_explicit_offsets(seeded: Config) -> None:
    local = parse_range("2026-10-25T02:30", "2026-10-25T04:00", BERLIN)   # the repeated hour
    assert local.start_ns == iso_to_ns("2026-10-25T00:30:00Z")             # its first time
    assert local.end_ns - local.start_ns == int(2.5 * HOUR_NS)
    offset = parse_range("2026-10-01T00:00:00+02:00", "2026-10-02T00:00:00Z", BERLIN)
    assert offset.start_ns == iso_to_ns("2026-09-30T22:00:00Z")
    week = relative_range("last_week", iso_to_ns("2026-10-26T00:30:00Z"), BERLIN)
    assert week.start_ns == iso_to_ns("2026-10-18T22:00:00Z")     # Monday 19 October, 00:00
    assert week.end_ns == iso_to_ns("2026-10-25T23:00:00Z")       # Monday 26 October, 00:00 CET


def _report(config: Config, *args: str) -> int:
    return main(["report", *args, "--influx-url", config.influx_url, "--influx-db",
                 config.influx_db, "--rules-dir", str(RULES)])


def test_tz_building_reads_the_zone_of_the_buildings_city(
        seeded: Config, capsys: pytest.CaptureFixture[str]) -> None:
    assert _report(seeded, "air-quality", "--from", "2026-10-01", "--to", "2026-11-01",
                   "--tz", "building", "--building", "Spree", "--format", "json") == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["from"], document["to"], document["timezone"], document["hours"]) == \
        ("2026-10-01T00:00:00.000+02:00", "2026-11-01T00:00:00.000+01:00", "Europe/Berlin",
         745)
    [room] = [r for r in document["rows"] if r["level"] == "room" and r["time"] == "all"]
    assert room["mean"] == round((1001 + 1002 + 2001 + 1031) / 4, 2)
    assert room["coverage"] == 4 / 745


def test_uptime_in_a_zone_shows_local_times(seeded: Config,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert _report(seeded, "uptime", "--from", "2026-10-02", "--to", "2026-10-03",
                   "--tz", "Europe/Berlin", "--format", "json") == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["from"], document["to"]) == ("2026-10-02T00:00:00.000+02:00",
                                                  "2026-10-03T00:00:00.000+02:00")
    assert [r["room_id"] for r in document["rows"] if r["level"] == "room"] == ["spree-1"]


@pytest.mark.parametrize(("args", "message"), [
    (["--tz", "building"], "--tz: building needs --building"),
    (["--tz", "building", "--building", "Nowhere"], "--tz: building 'Nowhere' has no time zone"),
    (["--tz", "Mars/Olympus"], "--tz: unknown time zone 'Mars/Olympus'"),
])
def test_unusable_zones_exit_2_with_one_line(seeded: Config, args: list[str], message: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert _report(seeded, "uptime", "--from", "2026-10-01", "--to", "2026-10-02", *args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"zrmon: {message}") and err.count("\n") == 1, err


def test_a_scheduled_report_with_tz_building(seeded: Config, tmp_path: Path) -> None:
    [entry] = parse_schedule({"reports": [{
        "name": "spree-monthly", "cron": "0 6 1 * *", "kind": "air-quality",
        "range": "last_month", "out_dir": str(tmp_path), "format": "json",
        "building": "Spree", "tz": "building"}]})
    out = run_job(seeded.with_(rules_dir=RULES), entry, iso_to_ns("2026-11-01T06:00:00Z"))
    assert out.name == "air-quality_Spree_2026-10-01_2026-11-01.json"
    document = json.loads(out.read_text())
    assert (document["from"], document["hours"]) == ("2026-10-01T00:00:00.000+02:00", 745)


@pytest.mark.parametrize(("change", "message"), [
    ({"tz": "building"}, "tz: building needs building:"),
    ({"tz": "Europe/Berln"}, "unknown time zone 'Europe/Berln'"),
])
def test_bad_tz_in_reports_yaml(change: dict[str, str], message: str) -> None:
    entry = {"cron": "0 6 1 * *", "kind": "uptime", "range": "last_month", "out_dir": "o",
             **change}
    with pytest.raises(ConfigFileError, match=message):
        parse_schedule({"reports": [entry]})
