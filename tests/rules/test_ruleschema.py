"""A rule and its group: defaults, what the rule measures, and the keys that depend on it."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.rulefiles import bad_rule, one_rule, write

from monitor.rules.load import load_file
from monitor.rules.model import IncidentMatch, NoData, Threshold


def test_defaults(tmp_path: Path) -> None:
    group = load_file(write(tmp_path, """\
        group: g
        rules:
          - name: r
            sensor: CO2
            levels: {warning: {above: 1}}
    """))
    assert group.interval_s == 60.0
    rule = group.rules[0]
    assert (rule.aggregate, rule.window_s, rule.for_s, rule.keep_firing_for_s) == (
        "mean", 600.0, 0.0, 0.0)
    assert (rule.no_data, rule.where, rule.labels, rule.annotations, rule.notify) == (
        None, {}, {}, {}, ())


@pytest.mark.parametrize("aggregate", ["mean", "max", "min", "last", "p95", "count"])
def test_every_aggregate(tmp_path: Path, aggregate: str) -> None:
    rule = one_rule(tmp_path, f"sensor: PM25\naggregate: {aggregate}\n"
                              "levels: {info: {above: 1}}\n")
    assert rule.aggregate == aggregate


def test_no_data_state_defaults_and_choices(tmp_path: Path) -> None:
    rule = one_rule(tmp_path, "sensor: CO2\nno_data: {after: 1h}\nlevels: {info: {above: 1}}\n")
    assert rule.no_data == NoData(after_s=3600.0, state="no_data")
    rule = one_rule(tmp_path, "sensor: CO2\nno_data: {after: 90, state: keep}\n"
                              "levels: {info: {above: 1}}\n")
    assert rule.no_data == NoData(after_s=90.0, state="keep")


def test_incident_by_component_and_alert_type(tmp_path: Path) -> None:
    rule = one_rule(tmp_path, "incident: {alert_type: 1, component: 3}\n"
                              "levels: {warning: {above: 1h30m}}\n")
    assert rule.kind == "incident"
    assert rule.incident == IncidentMatch(alert_type=1, component=3)
    assert rule.levels["warning"].value == 5400.0
    rule = one_rule(tmp_path, "incident: {component: 2}\nlevels: {warning: {above: 600}}\n")
    assert rule.incident == IncidentMatch(component=2)


@pytest.mark.parametrize(("body", "expected"), [
    # durations only where the value is seconds
    ("sensor: CO2\nlevels:\n  warning: {above: 10m}\n",
     (6, "rules.0.levels.warning.above", "'10m' is a duration; a sensor rule compares numbers "
                                         "(durations are for incident and silent rules)")),
    ("rate: {sensor: CO2}\nlevels:\n  warning: {inside: [1, 2m]}\n",
     (6, "rules.0.levels.warning.inside.1", "'2m' is a duration; a rate rule compares numbers "
                                            "(durations are for incident and silent rules)")),
    # durations that must be positive
    ("sensor: CO2\nwindow: 0\nlevels: {warning: {above: 1}}\n",
     (5, "rules.0.window", "must be longer than 0s")),
    ("sensor: CO2\nno_data: {after: 0s}\nlevels: {warning: {above: 1}}\n",
     (5, "rules.0.no_data.after", "must be longer than 0s")),
    ("sensor: CO2\nfor: -1m\nlevels: {warning: {above: 1}}\n",
     (5, "rules.0.for",
      "not a duration: '-1m' (write e.g. 30s, 10m, 2h, 1d, 1h30m)")),
    # what the rule measures
    ("levels: {warning: {above: 1}}\n",
     (3, "rules.0", "needs one of sensor, rate, incident, silent (what the rule measures)")),
    ("sensor: CO2\n\nsilent: {sensor: CO2}\nlevels: {warning: {above: 1}}\n",
     (6, "rules.0.silent",
      "only one of sensor, rate, incident, silent per rule (this one already has sensor)")),
    ("silent: {sensor: co2}\nlevels: {warning: {above: 1}}\n",
     (4, "rules.0.silent.sensor", "must be a Zoom sensor type in upper case, e.g. CO2, "
      "TEMPERATURE, HUMIDITY, VOC, AQI, PM25, PM10, AIR_PRESSURE, REAL_TIME_PEOPLE_COUNT")),
    ("rate: {}\nlevels: {warning: {above: 1}}\n",
     (4, "rules.0.rate", "needs sensor (a Zoom sensor type) or receiver "
                         "(deliveries, signature_failures)")),
    ("incident: {}\nlevels: {warning: {above: 1}}\n",
     (4, "rules.0.incident", "needs alert_type and/or component (Zoom's codes)")),
    ("incident: {alert_type: '3'}\nlevels: {warning: {above: 1}}\n",
     (4, "rules.0.incident.alert_type", "must be an integer")),
    ("silent: {sensor: CO2}\naggregate: max\nlevels: {warning: {above: 1}}\n",
     (5, "rules.0.aggregate", "only sensor rules aggregate; the value of silent rules is "
                              "the seconds since the last reading")),
    ("sensor: CO2\naggregate: median\nlevels: {warning: {above: 1}}\n",
     (5, "rules.0.aggregate", "Must be one of: mean, max, min, last, p95, count.")),
    ("silent: {sensor: CO2}\nno_data: {after: 1m}\nlevels: {warning: {above: 1}}\n",
     (5, "rules.0.no_data", "does not apply to silent rules, whose value is "
                            "the seconds since the last reading")),
    # where / labels / notify
    ("sensor: CO2\nwhere: {buildng: HQ}\nlevels: {warning: {above: 1}}\n",
     (5, "rules.0.where.buildng", "not a tag this rule can filter on; use account_id, room_id, "
                                  "room_name, device_id, building, floor")),
    ("incident: {alert_type: 3}\nwhere: {alert_type: '3'}\nlevels: {warning: {above: 1}}\n",
     (5, "rules.0.where.alert_type", "not a tag this rule can filter on (match codes under "
      "incident:); use account_id, room_id, alert_name, component_name, building, floor")),
    ("sensor: CO2\nwhere: {floor: 3}\nlevels: {warning: {above: 1}}\n",
     (5, "rules.0.where.floor", "must be a non-empty string (quote numbers)")),
    ("sensor: CO2\nlabels: {my-team: x}\nlevels: {warning: {above: 1}}\n",
     (5, "rules.0.labels.my-team", "keys are names such as team or runbook_url")),
    ("sensor: CO2\nlabels: [team]\nlevels: {warning: {above: 1}}\n",
     (5, "rules.0.labels", "must be a mapping")),
    ("sensor: CO2\nnotify: log\nlevels: {warning: {above: 1}}\n",
     (5, "rules.0.notify", "must be a list")),
    ("sensor: CO2\nnotify: ['']\nlevels: {warning: {above: 1}}\n",
     (5, "rules.0.notify.0", "Shorter than minimum length 1.")),
])
def test_each_rule_error_at_its_line_and_field(
        tmp_path: Path, body: str, expected: tuple[int, str, str]) -> None:
    assert bad_rule(tmp_path, body) == [expected]


def test_receiver_sources_load_as_fleet_wide_rules(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        group: webhooks
        rules:
          - name: quiet
            silent: {receiver: deliveries}
            levels: {critical: {above: 30m}}
          - name: refused
            rate: {receiver: signature_failures}
            window: 15m
            levels: {warning: {above: 10}}
    """, "webhooks.yaml")
    quiet, refused = load_file(path).rules
    assert (quiet.kind, quiet.receiver, quiet.sensor, quiet.fleet) == (
        "no_data", "deliveries", None, True)
    assert quiet.levels["critical"] == Threshold("above", value=1800.0)
    assert (refused.kind, refused.receiver, refused.window_s) == (
        "rate", "signature_failures", 900.0)


@pytest.mark.parametrize(("body", "expected"), [
    ("rate: {receiver: deliverys}\nlevels: {warning: {above: 1}}\n",
     [(4, "rules.0.rate.receiver",
       "must be one of deliveries, signature_failures (the receiver's counters)")]),
    ("silent: {receiver: deliveries, sensor: CO2}\nlevels: {warning: {above: 1m}}\n",
     [(4, "rules.0.silent.receiver", "only one of sensor, receiver")]),
    ("rate: {receiver: deliveries}\nwhere: {building: HQ}\nlevels: {warning: {above: 1}}\n",
     [(5, "rules.0.where.building", "receiver counters have no tags to filter on")]),
    ("rate: {receiver: deliveries}\nlevels: {warning: {above: 10m}}\n",
     [(5, "rules.0.levels.warning.above",
       "'10m' is a duration; a rate rule compares numbers (durations are for incident "
       "and silent rules)")]),
])
def test_receiver_source_mistakes(tmp_path: Path, body: str,
                                  expected: list[tuple[int, str, str]]) -> None:
    assert bad_rule(tmp_path, body) == expected
