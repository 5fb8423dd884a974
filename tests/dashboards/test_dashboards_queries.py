"""Every query of every committed dashboard, run against a real influxd with known data.

Grafana cannot run here, so :mod:`support.grafana` interpolates each panel,
variable and annotation query the way Grafana's InfluxDB data source does
and the test runs it. A query that fails or returns nothing fails the test;
the key panels' numbers are checked against values computed from the seed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
from support import dashboards as dashseed
from support.dashboards import EVEREST, K2, LOBBY, Seeded
from support.grafana import TimeRange, interpolate, queries, resolve
from support.paths import REPO

from monitor.store.influx import Series
from monitor.store.influxd import LocalInfluxd

BOARDS = ("fleet-overview.json", "room-detail.json", "incidents-uptime.json", "air-quality.json")
Results = dict[str, list[Series]]


@pytest.fixture(scope="module")
def seeded(influxd: LocalInfluxd, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return dashseed.load(influxd.url, tmp_path_factory.mktemp("dash") / "var")


def board(name: str) -> dict[str, Any]:
    return dict(json.loads((REPO / "dashboards" / name).read_text(encoding="utf-8")))


def span(seeded: Seeded) -> TimeRange:
    return TimeRange((seeded.t0 - 6 * dashseed.H) * 1000, seeded.now_ms)


def run_all(seeded: Seeded, name: str, pick: Mapping[str, Sequence[str]]) -> Results:
    """Resolve the variables, then run every query; an InfluxDB error fails here."""
    dashboard, when = board(name), span(seeded)

    def values(query: str) -> list[str]:
        return [str(row[1]) for series in seeded.influx.query(query) for row in series.values]

    choices = resolve(dashboard, values, when, pick)
    found = queries(dashboard)
    assert len({query.where for query in found}) == len(found), "panel titles must be unique"
    return {query.where: seeded.influx.query(interpolate(query.text, choices, when))
            for query in found}


def empty(results: Results) -> list[str]:
    return [where for where, series in results.items()
            if not any(one.values for one in series)]


def rows(results: Results, where: str) -> Iterator[dict[str, Any]]:
    """Each row with its series' tags, as Grafana's table view shows them."""
    for series in results[where]:
        for row in series.rows():
            yield {**series.tags, **row}


def by(results: Results, where: str, key: str, column: str) -> dict[str, Any]:
    return {str(row.get(key, "")): row[column] for row in rows(results, where)}


# ---------------------------------------------------------------- every query answers

SCENARIOS = [
    ("fleet-overview.json", {}),
    ("fleet-overview.json", {"building": ["HQ"], "room": ["K2 (North)"]}),
    ("room-detail.json", {"room": ["Everest"]}),
    ("room-detail.json", {"room": ["Everest"], "source": ['"rollup"."sensor_5m"']}),
    ("room-detail.json", {"room": ["Everest"], "source": ['"rollup"."sensor_1h"']}),
    ("room-detail.json", {"room": ["Everest", "K2 (North)"], "source": ['"rollup"."sensor_1h"']}),
    ("incidents-uptime.json", {}),
    ("air-quality.json", {}),
    ("air-quality.json", {"building": ["HQ"], "floor": ["Level 1", "Level 2"]}),
]


@pytest.mark.parametrize(("name", "pick"), SCENARIOS)
def test_every_query_returns_data(seeded: Seeded, name: str,
                                  pick: dict[str, list[str]]) -> None:
    results = run_all(seeded, name, pick)
    assert len(results) >= 4
    assert empty(results) == []


def test_all_keeps_rooms_without_a_location(seeded: Seeded) -> None:
    results = run_all(seeded, "fleet-overview.json", {})
    co2 = "panel 'Rooms: latest readings and firing rules' A"
    assert by(results, co2, "room_name", "CO₂") == {"Everest": 650, "K2 (North)": 540,
                                                     "Lobby pod": 1300}


def test_a_chosen_building_and_room_narrow_every_panel(seeded: Seeded) -> None:
    results = run_all(seeded, "fleet-overview.json", {"building": ["HQ"], "room": ["K2 (North)"]})
    co2 = "panel 'Rooms: latest readings and firing rules' A"
    assert by(results, co2, "room_name", "CO₂") == {"K2 (North)": 540}
    assert [row["room_name"] for row in rows(results, "panel 'Incidents open now' A")] == [K2.name]
    states = list(rows(results, "panel 'Rule state per room' A"))
    assert {(row["rule"], row["status"]) for row in states} == {
        ("room-health/room-offline", "firing")}


# ---------------------------------------------------------------- fleet overview

def test_fleet_overview_values(seeded: Seeded) -> None:
    results = run_all(seeded, "fleet-overview.json", {})
    assert by(results, "variable building", "key", "value") == {"building": "HQ"}
    assert results["panel 'Rooms offline now' A"][0].values[0][1] == 1
    assert results["panel 'Open incidents' A"][0].values[0][1] == 1
    firing = by(results, "panel 'Rules firing, by severity' A", "level", "firing")
    assert firing == {"warning": 1, "critical": 1}
    table = "panel 'Rooms: latest readings and firing rules' "
    assert by(results, table + "E", "room_name", "People") == {
        "Everest": 0, "K2 (North)": 2, "Lobby pod": 1}
    assert by(results, table + "F", "room_name", "rules firing") == {"Everest": 1,
                                                                     "K2 (North)": 1}
    statuses = {(row["room_name"], row["rule"]): row["status"]
                for row in rows(results, "panel 'Rule state per room' A")}
    assert statuses[(EVEREST.name, "air-quality/humidity-out-of-range")] == "inactive"
    assert statuses[(EVEREST.name, "air-quality/co2-high")] == "firing"


# ---------------------------------------------------------------- room detail

def test_room_detail_raw_and_rollups_agree(seeded: Seeded) -> None:
    raw = run_all(seeded, "room-detail.json", {"room": ["Everest"]})
    hourly = run_all(seeded, "room-detail.json", {"room": ["Everest"],
                                                  "source": ['"rollup"."sensor_1h"']})
    [raw_co2] = raw["panel 'CO₂' A"]
    assert raw_co2.tags == {"room_name": "Everest"}
    assert [value for _, value in raw_co2.values] == list(EVEREST.co2)
    [hour] = hourly["panel 'CO₂' A"]
    assert hour.columns == ["time", "mean_mean"]
    assert hour.values[0][1] == pytest.approx(sum(EVEREST.co2) / len(EVEREST.co2))
    assert hourly["panel 'CO₂' B"][0].values[0][1] == min(EVEREST.co2)
    assert hourly["panel 'CO₂' C"][0].values[0][1] == max(EVEREST.co2)
    assert hourly["panel 'CO₂' D"][0].values[0][1] == max(EVEREST.people)
    assert [v for _, v in raw["panel 'CO₂' D"][0].values] == list(EVEREST.people)


def test_room_detail_annotations_are_the_rooms_own(seeded: Seeded) -> None:
    results = run_all(seeded, "room-detail.json", {"room": ["Everest"]})
    assert by(results, "variable room_id", "key", "value") == {"room_id": EVEREST.id}
    events = {row["event"]: row["title"] for row in rows(results, "annotation 'Zoom events'")}
    assert events == {"zoomroom.created": "Room created: Everest",
                      "zoomroom.checked_in": "Checked in: Everest",
                      "zoomroom.digital_signage_app_started": "Signage started: Menu board"}
    alerts = [(row["alert_name"], row["alert_kind"])
              for row in rows(results, "annotation 'Zoom alerts'")]
    assert alerts.count(("room_offline", "triggered")) == 1
    assert len(alerts) == 4
    rules = [row["rule"] for row in rows(results, "annotation 'Rule transitions'")]
    assert sorted(rules) == ["air-quality/co2-high"] * 2 + ["air-quality/humidity-out-of-range"]
    reservations = list(rows(results, "annotation 'Workspace reservations (all rooms)'"))
    assert [row["title"] for row in reservations] == ["Reservation created: Standup"]


def test_a_room_name_with_regex_characters_is_matched_literally(seeded: Seeded) -> None:
    results = run_all(seeded, "room-detail.json", {"room": ["K2 (North)"]})
    assert by(results, "variable room_id", "key", "value") == {"room_id": K2.id}
    [co2] = results["panel 'CO₂' A"]
    assert [value for _, value in co2.values] == list(K2.co2)


# ---------------------------------------------------------------- incidents and uptime

def test_incidents_mttr_and_availability(seeded: Seeded) -> None:
    results = run_all(seeded, "incidents-uptime.json", {})
    when = span(seeded)
    assert results["panel 'Incidents started' A"][0].values[0][1] == 3
    assert results["panel 'Mean time to recover' A"][0].values[0][1] == (3600 + 600) / 2
    assert results["panel 'Open now' A"][0].values[0][1] == 1
    mttr = {(row["alert_name"], row["component_name"]): row["mean time to recover"]
            for row in rows(results, "panel 'Time to recover, by alert type and component' A")}
    assert mttr == {("room_offline", "zoom_rooms_computer"): 3600,
                    ("controller_or_display_disconnected", "controller"): 600}
    started = {series.tags["alert_name"]: sum(v for _, v in series.values)
               for series in results[
                   "panel 'Incidents started, by alert type and component' A"]}
    assert started == {"room_offline": 2, "controller_or_display_disconnected": 1}
    range_ms = when.to_ms - when.from_ms
    k2_down = when.to_ms - (seeded.t0 - 30 * 60) * 1000
    availability = by(results, "panel 'Availability per room' A", "room", "availability")
    assert availability["Everest"] == pytest.approx(100 * (1 - 3_600_000 / range_ms))
    assert availability["K2 (North)"] == pytest.approx(100 * (1 - k2_down / range_ms))


def test_availability_clips_incidents_to_the_range(seeded: Seeded) -> None:
    """A range that starts mid-incident counts only the part inside it."""
    dashboard = board("incidents-uptime.json")
    when = TimeRange((seeded.t0 - 150 * 60) * 1000, (seeded.t0 - 60 * 60) * 1000)
    choices = resolve(dashboard, lambda q: [str(r[1]) for s in seeded.influx.query(q)
                                            for r in s.values], when, {})
    [query] = [q for q in queries(dashboard) if q.where == "panel 'Availability per room' A"]
    series = seeded.influx.query(interpolate(query.text, choices, when))
    availability = {row["room"]: row["availability"] for s in series for row in s.rows()}
    # Everest offline until t0 - 2h: 30 of the range's 90 minutes.
    assert availability == {"Everest": pytest.approx(100 * (1 - 30 / 90))}


# ---------------------------------------------------------------- air quality

def test_air_quality_shares_match_counting_the_readings(seeded: Seeded) -> None:
    results = run_all(seeded, "air-quality.json", {})
    def hq(room: dashseed.Room) -> bool:
        return bool(room.location_id)

    expected_rooms = {room.name: dashseed.share_within(lambda r, room=room: r is room, 800)
                      for room in (EVEREST, K2, LOBBY)}
    assert expected_rooms == {"Everest": 50.0, "K2 (North)": 100.0, "Lobby pod": 0.0}
    for where in ("panel 'Per room' A", "panel 'Per room (raw readings)' A"):
        assert by(results, where, "room_name", "CO₂") == pytest.approx(expected_rooms)
    for where in ("panel 'Per building' A", "panel 'Per building (raw readings)' A"):
        shares = by(results, where, "building", "CO₂")
        assert shares["HQ"] == pytest.approx(dashseed.share_within(hq, 800))
        assert shares[""] == 0.0           # Lobby pod: no building known
    humidity = by(results, "panel 'Per room' E", "room_name", "Humidity")
    assert humidity == {"Everest": 100.0, "K2 (North)": 100.0, "Lobby pod": 100.0}
