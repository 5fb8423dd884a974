"""``timezone: building`` mute windows in the policy and the dispatcher (pure; the engine
test with InfluxDB is tests/rules/test_building_mute.py)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from monitor.notify.dispatch import Dispatcher
from monitor.notify.policy import PolicyError, alert_zone, parse_policy
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
    with pytest.raises(PolicyError, match=r"notify\.yaml:5: .*unknown timezone 'Mars/Base'"):
        parse_policy(POLICY.replace("America/Los_Angeles", "Mars/Base"))
    with pytest.raises(PolicyError, match="unknown timezone 'buildings'"):
        parse_policy(POLICY.replace("timezone: building", "timezone: buildings"))
