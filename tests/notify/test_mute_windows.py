"""Mute windows on a local clock: the site's (Berlin) and ``timezone: building``, in the
policy and the dispatcher (pure; the engine test with InfluxDB is
tests/rules/test_building_mute.py)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from support.clocks import berlin_ns
from support.paths import REPO

from monitor.core.configfile import ConfigFileErrors
from monitor.notify.dispatch import Dispatcher
from monitor.notify.mute_windows import MuteWindow, TimeRange, alert_zone
from monitor.notify.policy_load import load_policy, parse_policy
from monitor.rules.model import Alert

NS = 1_000_000_000
POLICY = """\
grouping: {group_by: [rule], group_wait: 0s, group_interval: 1s}
mute_windows:
  nights:
    timezone: building
    default_timezone: America/Los_Angeles
    times: [{start: "19:00", end: "07:00"}]
routes:
  hook: {mute: [nights]}
"""
ZONES = {"Spree": "Europe/Berlin", "HQ": "America/Los_Angeles"}


def utc_ns(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("UTC")).timestamp()) * NS


def alert(building: str, at_ns: int, **labels: str) -> Alert:
    return Alert(rule_id="air/co2-high", room_id=f"{building}-1", status="firing",
                 level="warning", value=1200.0, threshold="above 1000", starts_at_ns=at_ns,
                 at_ns=at_ns, labels={"building": building, **labels}, notify=("hook",))


@pytest.mark.parametrize(("utc", "zones", "muted"), [
    ("2027-01-13 19:00", ["Europe/Berlin"], True),                # 20:00 in Berlin
    ("2027-01-13 19:00", ["America/Los_Angeles"], False),         # 11:00 in San Jose
    ("2027-01-13 19:00", ["Europe/Berlin", "America/Los_Angeles"], False),  # not in all
    ("2027-01-14 04:00", ["Europe/Berlin", "America/Los_Angeles"], True),   # 05:00 and 20:00
    ("2027-01-13 19:00", [""], False),          # unknown: default_timezone (San Jose, 11:00)
    ("2027-01-14 04:00", [], True),             # no alerts: default_timezone (20:00)
])
def test_the_window_reads_the_clocks_of_the_alerts_buildings(utc: str, zones: list[str],
                                                             muted: bool) -> None:
    policy = parse_policy(POLICY)
    assert policy.uses_building_zones
    assert policy.muted("hook", utc_ns(utc), zones) is muted


def test_an_alerts_own_timezone_label_wins_over_its_building() -> None:
    at = utc_ns("2027-01-13 19:00")
    assert alert_zone(alert("Spree", at), ZONES) == "Europe/Berlin"
    assert alert_zone(alert("Spree", at, timezone="Asia/Tokyo"), ZONES) == "Asia/Tokyo"
    assert alert_zone(alert("Nowhere", at), ZONES) == ""


def test_the_dispatcher_mutes_a_berlin_group_and_not_a_san_jose_one() -> None:
    policy = parse_policy(POLICY.replace("group_by: [rule]", "group_by: [rule, building]"))
    dispatcher = Dispatcher(policy)
    dispatcher.building_zones = ZONES
    evening = utc_ns("2027-01-13 19:00")          # 20:00 in Berlin, 11:00 in San Jose
    sent = dispatcher.process([alert("Spree", evening), alert("HQ", evening)], evening)
    assert [n.group_key for n in sent] == ["air/co2-high{building=HQ}"]
    morning = utc_ns("2027-01-14 06:30")          # 07:30 in Berlin
    sent = dispatcher.process([alert("Spree", evening), alert("HQ", evening)], morning)
    assert [n.group_key for n in sent] == ["air/co2-high{building=Spree}"]


def test_bad_zones_are_refused_at_their_line() -> None:
    with pytest.raises(ConfigFileErrors, match=r"notify\.yaml:5: .*unknown timezone 'Mars/Base'"):
        parse_policy(POLICY.replace("America/Los_Angeles", "Mars/Base"))
    with pytest.raises(ConfigFileErrors, match="unknown timezone 'buildings'"):
        parse_policy(POLICY.replace("timezone: building", "timezone: buildings"))


# ---------------------------------------------------------------------------
# On the site's clock


NIGHTS_AND_WEEKENDS = load_policy(REPO / "rules" / "notify.yaml") \
    .mute_windows["nights-and-weekends"]


@pytest.mark.parametrize(("local", "muted"), [
    ("2027-01-13 18:59", False),    # Wednesday evening, before the window
    ("2027-01-13 19:00", True),
    ("2027-01-13 23:59", True),
    ("2027-01-14 00:00", True),     # crosses midnight
    ("2027-01-14 03:00", True),
    ("2027-01-14 06:59", True),
    ("2027-01-14 07:00", False),
    ("2027-01-14 12:00", False),
    ("2027-01-15 20:00", True),     # Friday night
    ("2027-01-16 12:00", True),     # Saturday
    ("2027-01-17 23:30", True),     # Sunday night
    ("2027-01-18 03:00", True),     # Monday 3 a.m.: no message either
    ("2027-01-18 07:00", False),
    ("2027-07-14 19:30", True),     # summer time: the window follows the local clock
    ("2027-07-15 07:30", False),
])
def test_nights_and_weekends_on_berlin_time(local: str, muted: bool) -> None:
    assert NIGHTS_AND_WEEKENDS.active(berlin_ns(local)) is muted


def test_the_window_reads_its_own_timezone() -> None:
    new_york = MuteWindow("ny-nights", "America/New_York",
                          (TimeRange(frozenset(), 19 * 60, 7 * 60),))
    # 02:00 in Berlin is 20:00 the day before in New York: muted there.
    assert new_york.active(berlin_ns("2027-01-14 02:00"))
    # 14:00 in Berlin is 08:00 in New York: not muted.
    assert not new_york.active(berlin_ns("2027-01-14 14:00"))
