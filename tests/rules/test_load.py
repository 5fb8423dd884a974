"""Rule files into model dataclasses, and every mistake at its file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from support.paths import RULES as RULES_DIR

from monitor.rules.load import (
    RuleFileError,
    RuleFileErrors,
    load_dir,
    load_file,
    parse_duration,
    parse_file,
    rule_files,
)
from monitor.rules.model import Group, IncidentMatch, NoData, Rule, Threshold

EXAMPLE = """\
group: air-quality
interval: 1m                       # evaluation interval of the group (duration)
rules:
  - name: co2-high                 # unique within the group, [a-z0-9_-]+
    sensor: CO2
    aggregate: mean
    window: 10m
    levels:
      warning:  {above: 1000, resolve_below: 900}
      critical: {above: 1500, resolve_below: 1300}
    for: 10m
    keep_firing_for: 5m
    no_data: {after: 20m, state: no_data}
    where: {building: HQ}
    labels: {team: facilities}
    annotations: {summary: "CO2 {{ value | round }} ppm in {{ room_name }} ({{ level }})"}
    notify: [facilities-slack]
  - name: co2-rising
    rate: {sensor: CO2}
    window: 15m
    levels: {warning: {above: 300}}
  - name: room-offline
    incident: {alert_type: 3}
    levels: {critical: {above: 10m}}
  - name: co2-silent
    silent: {sensor: CO2}
    levels: {warning: {above: 20m}}
"""


def write(tmp_path: Path, text: str, name: str = "group.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def errors(path: Path) -> list[tuple[int, str, str]]:
    """(line, field, message) of every error the file has; fails if it loads."""
    with pytest.raises(RuleFileErrors) as caught:
        load_file(path)
    for error in caught.value:
        assert error.file == str(path)
    return [(error.line, error.field, error.message) for error in caught.value]


def where(path: Path) -> list[tuple[int, str]]:
    return [(line, field) for line, field, _ in errors(path)]


def one_rule(tmp_path: Path, body: str) -> Rule:
    """A group holding one rule whose keys (after ``- name: r``) are ``body``."""
    text = "group: g\nrules:\n  - name: r\n" + textwrap.indent(textwrap.dedent(body), "    ")
    group = load_file(write(tmp_path, text))
    assert len(group.rules) == 1
    return group.rules[0]


RULE_HEAD = "group: g\nrules:\n  - name: r\n"   # the rule item starts on line 3


def bad_rule(tmp_path: Path, body: str) -> list[tuple[int, str, str]]:
    text = RULE_HEAD + textwrap.indent(textwrap.dedent(body), "    ")
    return errors(write(tmp_path, text))


# ---------------------------------------------------------------- what loads

def test_the_documented_example_loads_into_the_model(tmp_path: Path) -> None:
    path = write(tmp_path, EXAMPLE, "air.yaml")
    group = load_file(path)
    assert isinstance(group, Group)
    assert (group.name, group.interval_s, group.source) == ("air-quality", 60.0, f"{path}:1")
    high, rising, offline, silent = group.rules
    assert high == Rule(
        group="air-quality", name="co2-high", kind="threshold",
        levels={"warning": Threshold("above", value=1000.0, resolve=900.0),
                "critical": Threshold("above", value=1500.0, resolve=1300.0)},
        sensor="CO2", aggregate="mean", window_s=600.0, for_s=600.0, keep_firing_for_s=300.0,
        no_data=NoData(after_s=1200.0, state="no_data"), where={"building": "HQ"},
        labels={"team": "facilities"},
        annotations={"summary": "CO2 {{ value | round }} ppm in {{ room_name }} ({{ level }})"},
        notify=("facilities-slack",), source=f"{path}:4",
    )
    assert (rising.kind, rising.sensor, rising.window_s, rising.source) == (
        "rate", "CO2", 900.0, f"{path}:18")
    assert rising.levels == {"warning": Threshold("above", value=300.0)}
    assert (offline.kind, offline.sensor, offline.incident) == (
        "incident", None, IncidentMatch(alert_type=3))
    assert offline.levels == {"critical": Threshold("above", value=600.0)}
    assert (silent.kind, silent.sensor, silent.incident) == ("no_data", "CO2", None)
    assert silent.levels == {"warning": Threshold("above", value=1200.0)}
    assert silent.id == "air-quality/co2-silent"


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


@pytest.mark.parametrize(("levels", "expected"), [
    ("{warning: {above: 1000, resolve_below: 900}}",
     Threshold("above", value=1000.0, resolve=900.0)),
    ("{warning: {above: 1000}}", Threshold("above", value=1000.0)),
    ("{warning: {below: 18, resolve_above: 19.5}}",
     Threshold("below", value=18.0, resolve=19.5)),
    ("{warning: {below: -5}}", Threshold("below", value=-5.0)),
    ("{warning: {outside: [30, 60], resolve_inside: [32, 58]}}",
     Threshold("outside", low=30.0, high=60.0, resolve_low=32.0, resolve_high=58.0)),
    ("{warning: {outside: [30, 60], resolve_inside: [30, 60]}}",
     Threshold("outside", low=30.0, high=60.0, resolve_low=30.0, resolve_high=60.0)),
    ("{warning: {outside: [30, 60]}}", Threshold("outside", low=30.0, high=60.0)),
    ("{warning: {inside: [10, 20], resolve_outside: [8, 22]}}",
     Threshold("inside", low=10.0, high=20.0, resolve_low=8.0, resolve_high=22.0)),
    ("{warning: {inside: [10, 20]}}", Threshold("inside", low=10.0, high=20.0)),
])
def test_every_comparison_with_and_without_hysteresis(
        tmp_path: Path, levels: str, expected: Threshold) -> None:
    rule = one_rule(tmp_path, f"sensor: TEMPERATURE\nlevels: {levels}\n")
    assert rule.levels == {"warning": expected}


def test_hysteresis_means_what_the_model_says(tmp_path: Path) -> None:
    rule = one_rule(tmp_path, "sensor: HUMIDITY\n"
                              "levels: {warning: {outside: [30, 60], resolve_inside: [32, 58]}}\n")
    band = rule.levels["warning"]
    assert band.breached(29.9) and band.breached(60.1) and not band.breached(45)
    assert not band.recovered(31) and band.recovered(32) and not band.recovered(59)


def test_ordered_levels_load_in_severity_order(tmp_path: Path) -> None:
    rule = one_rule(tmp_path, """\
        sensor: TEMPERATURE
        levels:
          critical: {below: 10}
          info: {below: 18}
          warning: {below: 15}
    """)
    assert list(rule.levels) == ["info", "warning", "critical"]
    rule = one_rule(tmp_path, """\
        sensor: HUMIDITY
        levels:
          warning: {outside: [30, 60]}
          critical: {outside: [20, 70]}
    """)
    assert rule.levels["critical"] == Threshold("outside", low=20.0, high=70.0)
    rule = one_rule(tmp_path, """\
        sensor: CO2
        levels:
          info: {inside: [0, 100]}
          critical: {inside: [10, 20]}
    """)
    assert list(rule.levels) == ["info", "critical"]


def test_yaml_anchors_and_merge_keys_work(tmp_path: Path) -> None:
    group = load_file(write(tmp_path, """\
        group: g
        rules:
          - &base
            name: a
            sensor: CO2
            levels: {warning: {above: 1000}}
            labels: &labels {team: facilities}
          - <<: *base
            name: b
            labels: *labels
    """))
    assert [rule.name for rule in group.rules] == ["a", "b"]
    assert group.rules[1].labels == {"team": "facilities"}
    assert group.rules[1].sensor == "CO2"


def test_label_names_may_be_used_in_templates(tmp_path: Path) -> None:
    rule = one_rule(tmp_path, """\
        sensor: CO2
        levels: {warning: {above: 1000}}
        labels: {team: facilities}
        annotations:
          summary: "{{ team }}: {{ labels.team }} {{ value }} {{ threshold }} {{ since }}"
          description: |
            {% for k, v in labels.items() %}{{ k }}={{ v }} {% endfor %}{{ building }} {{ floor }}
    """)
    assert set(rule.annotations) == {"summary", "description"}


# ---------------------------------------------------------------- durations

@pytest.mark.parametrize(("text", "seconds"), [
    ("30s", 30.0), ("10m", 600.0), ("2h", 7200.0), ("1d", 86400.0), ("1h30m", 5400.0),
    ("1d2h3m4s", 93784.0), ("1w", 604800.0), ("1.5h", 5400.0), ("0s", 0.0),
    (45, 45.0), (1.5, 1.5), ("90", 90.0), (" 10m ", 600.0),
])
def test_parse_duration(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", [
    "30m1h", "10 minutes", "", "m", "-5", -1, "1h-30m", "5x", "inf", float("nan"), "1.2.3s",
])
def test_parse_duration_refuses(text: str | float) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_parse_duration_refuses_non_numbers() -> None:
    for value in (True, None, [1]):
        with pytest.raises(ValueError, match="not a duration"):
            parse_duration(value)  # type: ignore[arg-type]


# ---------------------------------------------------------------- errors, located

def test_error_str_is_file_line_field_message() -> None:
    assert str(RuleFileError("rules/a.yaml", 12, "rules.0.levels", "bad")) == (
        "rules/a.yaml:12: rules.0.levels: bad")
    assert str(RuleFileError("rules/a.yaml", 0, "", "cannot read")) == "rules/a.yaml: cannot read"


def test_unknown_keys_are_errors_with_a_suggestion(tmp_path: Path) -> None:
    found = errors(write(tmp_path, """\
        group: g
        intervall: 1m
        rules:
          - name: r
            sensor: CO2
            levels:
              warning: {abvoe: 1000}
            anotations: {summary: x}
    """))
    assert found == [
        (2, "intervall", "unknown key; did you mean 'interval'?"),
        (7, "rules.0.levels.warning", "needs one of above, below, outside, inside"),
        (7, "rules.0.levels.warning.abvoe", "unknown key; did you mean 'above'?"),
        (8, "rules.0.anotations", "unknown key; did you mean 'annotations'?"),
    ]


def test_a_misspelt_level_is_not_ignored(tmp_path: Path) -> None:
    found = bad_rule(tmp_path, """\
        sensor: CO2
        levels:
          warning: {above: 1000}
          critcal: {above: 1500}
    """)
    assert found == [(7, "rules.0.levels.critcal", "unknown key; did you mean 'critical'?")]


def test_missing_keys_point_at_their_parent_mapping(tmp_path: Path) -> None:
    found = errors(write(tmp_path, """\
        interval: 1m
        rules:
          - name: r
            sensor: CO2
          - name: s
            incident: {alert_type: 3}
            levels: {warning: {above: 1m}}
            no_data: {state: keep}
    """))
    assert found == [
        (1, "group", "required key is missing"),
        (3, "rules.0.levels", "required key is missing"),
        (8, "rules.1.no_data", "does not apply to incident rules, whose value is "
                               "the seconds an incident has been open"),
        (8, "rules.1.no_data.after", "required key is missing"),
    ]


def test_every_error_of_a_file_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        group: Air Quality
        interval: 0s
        rules:
          - name: co2-high
            sensor: co2
            window: 10 minutes
            levels:
              warning: {above: 1000, resolve_below: 1100}
            annotations:
              summary: "{{ value | round }"
            notify: [log, 3]
          - name: co2-high
            rate: {sensor: CO2}
            aggregate: max
            levels: {}
    """)
    assert errors(path) == [
        (1, "group", "must match [a-z0-9_-]+"),
        (2, "interval", "must be longer than 0s"),
        (5, "rules.0.sensor", "must be a Zoom sensor type in upper case, e.g. CO2, "
         "TEMPERATURE, HUMIDITY, VOC, AQI, PM25, PM10, AIR_PRESSURE, REAL_TIME_PEOPLE_COUNT"),
        (6, "rules.0.window",
         "not a duration: '10 minutes' (write e.g. 30s, 10m, 2h, 1d, 1h30m)"),
        (8, "rules.0.levels.warning.resolve_below", "must be below 1000 (the above threshold)"),
        (10, "rules.0.annotations.summary", "template error: unexpected '}'"),
        (11, "rules.0.notify.1", "must be a string"),
        (12, "rules.1.name", "duplicate rule name 'co2-high' (first at line 4)"),
        (14, "rules.1.aggregate", "only sensor rules aggregate; the value of rate rules is "
                                  "last - first of the sensor within the window"),
        (15, "rules.1.levels", "needs at least one of info, warning, critical"),
    ]


def test_errors_come_out_as_one_exception_listing_them(tmp_path: Path) -> None:
    path = write(tmp_path, "group: g\nrules:\n  - name: A\n    sensor: CO2\n"
                           "    levels: {warning: {above: 1}}\n")
    with pytest.raises(RuleFileErrors) as caught:
        load_file(path)
    assert len(caught.value) == 1
    assert str(caught.value) == f"{path}:3: rules.0.name: must match [a-z0-9_-]+"


@pytest.mark.parametrize(("body", "expected"), [
    # thresholds and their hysteresis
    ("sensor: CO2\nlevels:\n  warning: {above: 1000, resolve_below: 1000}\n",
     (6, "rules.0.levels.warning.resolve_below", "must be below 1000 (the above threshold)")),
    ("sensor: CO2\nlevels:\n  warning: {below: 10, resolve_above: 9}\n",
     (6, "rules.0.levels.warning.resolve_above", "must be above 10 (the below threshold)")),
    ("sensor: CO2\nlevels:\n  warning: {outside: [30, 60], resolve_inside: [29, 58]}\n",
     (6, "rules.0.levels.warning.resolve_inside", "must lie within the outside band [30, 60]")),
    ("sensor: CO2\nlevels:\n  warning: {inside: [10, 20], resolve_outside: [11, 25]}\n",
     (6, "rules.0.levels.warning.resolve_outside", "must contain the inside band [10, 20]")),
    ("sensor: CO2\nlevels:\n  warning: {above: 10, resolve_above: 9}\n",
     (6, "rules.0.levels.warning.resolve_above",
      "resolve_above goes with below, but this level uses above")),
    ("sensor: CO2\nlevels:\n  warning: {above: 10, below: 5}\n",
     (6, "rules.0.levels.warning.below",
      "only one comparison per level (this one already has above)")),
    ("sensor: CO2\nlevels:\n  warning: {resolve_below: 5}\n",
     (6, "rules.0.levels.warning", "needs one of above, below, outside, inside")),
    ("sensor: CO2\nlevels:\n  warning: {outside: [60, 30]}\n",
     (6, "rules.0.levels.warning.outside", "low (60) must be below high (30)")),
    ("sensor: CO2\nlevels:\n  warning: {inside: [1, 2, 3]}\n",
     (6, "rules.0.levels.warning.inside", "must be a pair [low, high]")),
    ("sensor: CO2\nlevels:\n  warning: {outside: [1, x]}\n",
     (6, "rules.0.levels.warning.outside.1",
      "must be a number or a duration (not a duration: 'x' (write e.g. 30s, 10m, 2h, 1d, "
      "1h30m))")),
    ("sensor: CO2\nlevels:\n  warning: {above: true}\n",
     (6, "rules.0.levels.warning.above", "must be a number")),
    ("sensor: CO2\nlevels:\n  warning: {above: .inf}\n",
     (6, "rules.0.levels.warning.above", "must be a finite number")),
    ("sensor: CO2\nlevels:\n  warning: null\n",
     (6, "rules.0.levels.warning", "must have a value")),
    ("sensor: CO2\nlevels:\n  warning: 1000\n",
     (6, "rules.0.levels.warning", "must be a mapping")),
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
    # where / labels / annotations / notify
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
    ("sensor: CO2\nannotations: {summary: '{{ room_nmae }}'}\nlevels: {warning: {above: 1}}\n",
     (5, "rules.0.annotations.summary", "unknown template variable room_nmae (known: value, "
      "threshold, level, since, room_id, room_name, building, floor, labels and the rule's "
      "labels)")),
    ("sensor: CO2\nannotations: {summary: '{{ value | rnd }}'}\nlevels: {warning: {above: 1}}\n",
     (5, "rules.0.annotations.summary", "template error: No filter named 'rnd'.")),
    ("sensor: CO2\nnotify: log\nlevels: {warning: {above: 1}}\n",
     (5, "rules.0.notify", "must be a list")),
    ("sensor: CO2\nnotify: ['']\nlevels: {warning: {above: 1}}\n",
     (5, "rules.0.notify.0", "Shorter than minimum length 1.")),
])
def test_each_error_at_its_line_and_field(
        tmp_path: Path, body: str, expected: tuple[int, str, str]) -> None:
    assert bad_rule(tmp_path, body) == [expected]


def test_a_template_error_points_at_its_annotation(tmp_path: Path) -> None:
    found = bad_rule(tmp_path, """\
        sensor: CO2
        levels: {warning: {above: 1}}
        annotations:
          summary: "fine {{ value }}"
          description: |
            first line
            {% if value %}never closed
    """)
    assert found == [(8, "rules.0.annotations.description",
                      "template error: Unexpected end of template. Jinja was looking for the "
                      "following tags: 'elif' or 'else' or 'endif'. The innermost block that "
                      "needs to be closed is 'if'. (template line 2)")]


@pytest.mark.parametrize(("levels", "line", "field", "message"), [
    ("  warning: {above: 1000}\n  critical: {above: 900}\n", 7, "rules.0.levels.critical.above",
     "critical must be above the warning threshold (900 is not > 1000)"),
    ("  info: {above: 1000}\n  warning: {above: 1000}\n", 7, "rules.0.levels.warning.above",
     "warning must be above the info threshold (1000 is not > 1000)"),
    ("  info: {above: 800}\n  critical: {above: 700}\n", 7, "rules.0.levels.critical.above",
     "critical must be above the info threshold (700 is not > 800)"),
    ("  warning: {below: 15}\n  critical: {below: 18}\n", 7, "rules.0.levels.critical.below",
     "critical must be below the warning threshold (18 is not < 15)"),
    ("  warning: {outside: [30, 60]}\n  critical: {outside: [35, 70]}\n", 7,
     "rules.0.levels.critical.outside",
     "critical band must be wider than (contain) the warning band outside [30, 60]"),
    ("  warning: {outside: [30, 60]}\n  critical: {outside: [30, 60]}\n", 7,
     "rules.0.levels.critical.outside",
     "critical band must be wider than (contain) the warning band outside [30, 60]"),
    ("  warning: {inside: [10, 20]}\n  critical: {inside: [5, 15]}\n", 7,
     "rules.0.levels.critical.inside",
     "critical band must be narrower than (lie within) the warning band inside [10, 20]"),
    ("  warning: {above: 1000}\n  critical: {below: 10}\n", 7, "rules.0.levels.critical.below",
     "critical uses below but warning uses above: all levels of a rule must compare the "
     "same way"),
])
def test_levels_must_be_ordered_by_severity(
        tmp_path: Path, levels: str, line: int, field: str, message: str) -> None:
    assert bad_rule(tmp_path, "sensor: CO2\nlevels:\n" + levels) == [(line, field, message)]


def test_levels_are_ordered_for_durations_too(tmp_path: Path) -> None:
    found = bad_rule(tmp_path, """\
        incident: {alert_type: 3}
        levels:
          warning: {above: 1h}
          critical: {above: 10m}
    """)
    assert found == [(7, "rules.0.levels.critical.above",
                      "critical must be above the warning threshold (600 is not > 3600)")]


def test_duplicate_rule_names(tmp_path: Path) -> None:
    found = errors(write(tmp_path, """\
        group: g
        rules:
          - name: a
            sensor: CO2
            levels: {warning: {above: 1}}
          - name: b
            sensor: CO2
            levels: {warning: {above: 1}}
          - sensor: CO2
            name: a
            levels: {warning: {above: 1}}
    """))
    assert found == [(10, "rules.2.name", "duplicate rule name 'a' (first at line 3)")]


def test_duplicate_yaml_keys(tmp_path: Path) -> None:
    found = bad_rule(tmp_path, """\
        sensor: CO2
        window: 10m
        levels: {warning: {above: 1}}
        window: 5m
    """)
    assert found == [(7, "rules.0.window", "duplicate key 'window' (first at line 5)")]


def test_yaml_values_it_cannot_construct_are_one_error_each(tmp_path: Path) -> None:
    found = bad_rule(tmp_path, """\
        sensor: CO2
        !custom key: 1
        levels: {warning: {above: !custom 3}}
        labels: &labels {team: *labels}
    """)
    assert found == [
        (5, "rules.0", "could not determine a constructor for the tag '!custom'"),
        (6, "rules.0.levels.warning.above",
         "could not determine a constructor for the tag '!custom'"),
        (7, "rules.0.labels.team", "an alias refers to itself"),
    ]


def test_yaml_syntax_error_has_its_line(tmp_path: Path) -> None:
    found = errors(write(tmp_path, "group: g\nrules:\n  - name: r\n    levels: {warning: [}\n"))
    assert len(found) == 1
    line, field, message = found[0]
    assert (line, field) == (4, "")
    assert message.startswith("invalid YAML: ")


def test_whole_file_problems(tmp_path: Path) -> None:
    assert errors(write(tmp_path, "")) == [
        (1, "group", "required key is missing"), (1, "rules", "required key is missing")]
    assert errors(write(tmp_path, "- group: g\n")) == [(1, "", "must be a mapping")]
    assert errors(write(tmp_path, "# comment\n\ngroup: g\nrules: []\nrules: []\n")) == [
        (5, "rules", "duplicate key 'rules' (first at line 4)")]
    missing = tmp_path / "missing.yaml"
    assert errors(missing)[0][:2] == (0, "")
    undecodable = tmp_path / "latin1.yaml"
    undecodable.write_bytes(b"group: caf\xe9\n")
    assert errors(undecodable)[0][:2] == (0, "")


def test_parse_file_keeps_data_and_lines_even_with_errors(tmp_path: Path) -> None:
    parsed = parse_file(write(tmp_path, "group: g\nrules:\n  - name: r\n    notify: [a, b]\n"))
    assert parsed.group is None and parsed.errors
    assert parsed.data["rules"][0]["notify"] == ["a", "b"]
    assert parsed.line(("rules", 0, "notify", 1)) == 4
    assert parsed.line(("rules", 0, "missing", "deeper")) == 3


# ---------------------------------------------------------------- directories

GOOD = ("group: {name}\nrules:\n  - name: r\n    sensor: CO2\n"
        "    levels: {{warning: {{above: 1}}}}\n")


def test_load_dir_reads_yaml_and_yml_but_not_config_or_tests(tmp_path: Path) -> None:
    write(tmp_path, GOOD.format(name="b"), "b.yaml")
    write(tmp_path, GOOD.format(name="a"), "a.yml")
    write(tmp_path, GOOD.format(name="c"), "more/c.yaml")
    write(tmp_path, "channels: {log: {type: log}}\n", "channels.yaml")
    write(tmp_path, "grouping: {group_wait: 30s}\n", "notify.yaml")
    write(tmp_path, "not: a rule file\n", ".hidden.yaml")
    write(tmp_path, "not: a rule file\n", "tests/case.yaml")
    write(tmp_path, "not: a rule file\n", "more/tests/case.yaml")
    write(tmp_path, "not yaml at all: [\n", "notes.txt")
    assert [path.name for path in rule_files(tmp_path)] == ["a.yml", "b.yaml", "c.yaml"]
    assert [group.name for group in load_dir(tmp_path)] == ["a", "b", "c"]


def test_load_dir_reports_every_file(tmp_path: Path) -> None:
    write(tmp_path, GOOD.format(name="a"), "a.yaml")
    write(tmp_path, GOOD.format(name="A"), "b.yaml")
    write(tmp_path, GOOD.format(name="c").replace("CO2", "co2"), "c.yaml")
    with pytest.raises(RuleFileErrors) as caught:
        load_dir(tmp_path)
    assert [(Path(e.file).name, e.line, e.field) for e in caught.value] == [
        ("b.yaml", 1, "group"), ("c.yaml", 4, "rules.0.sensor")]


def test_a_group_name_used_twice_is_an_error(tmp_path: Path) -> None:
    first = write(tmp_path, GOOD.format(name="same"), "a.yaml")
    write(tmp_path, "# again\n" + GOOD.format(name="same"), "b.yaml")
    with pytest.raises(RuleFileErrors) as caught:
        load_dir(tmp_path)
    assert [str(error) for error in caught.value] == [
        f"{tmp_path / 'b.yaml'}:2: group: group 'same' is already defined in {first}:1"]


def test_load_dir_of_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(RuleFileErrors) as caught:
        load_dir(tmp_path / "nope")
    assert str(caught.value) == f"{tmp_path / 'nope'}: no such file or directory"


# ---------------------------------------------------------------- the shipped rules

def test_the_default_rules_load() -> None:
    groups = {group.name: group for group in load_dir(RULES_DIR)}
    assert set(groups) == {"air-quality", "room-health", "webhooks"}
    air, health = groups["air-quality"], groups["room-health"]
    assert air.interval_s == health.interval_s == 60.0
    rules = {rule.name: rule for group in groups.values() for rule in group.rules}
    for rule in rules.values():
        assert rule.notify == ("log",)
        assert "summary" in rule.annotations
        assert rule.source.startswith(str(RULES_DIR))

    co2 = rules["co2-high"]
    assert (co2.kind, co2.sensor, co2.aggregate, co2.window_s, co2.for_s) == (
        "threshold", "CO2", "mean", 600.0, 600.0)
    assert co2.levels == {"info": Threshold("above", value=800.0),
                          "warning": Threshold("above", value=1000.0, resolve=900.0),
                          "critical": Threshold("above", value=1500.0, resolve=1300.0)}
    assert (rules["pm25-high"].sensor, rules["pm25-high"].window_s) == ("PM25", 86400.0)
    assert rules["pm25-high"].levels == {"warning": Threshold("above", value=15.0)}
    assert rules["pm10-high"].levels == {"warning": Threshold("above", value=45.0)}
    assert (rules["tvoc-high"].sensor, rules["tvoc-high"].window_s) == ("VOC", 3600.0)
    assert rules["humidity-out-of-range"].levels["warning"] == Threshold(
        "outside", low=30.0, high=60.0, resolve_low=32.0, resolve_high=58.0)
    assert rules["temperature-out-of-range"].levels["warning"] == Threshold(
        "outside", low=19.5, high=27.5, resolve_low=20.0, resolve_high=27.0)
    assert (rules["co2-rising"].kind, rules["co2-rising"].window_s) == ("rate", 900.0)
    assert rules["co2-sensor-silent"].kind == "no_data"
    assert rules["co2-sensor-silent"].levels["warning"].value == 2700.0

    quiet, refused = rules["zoom-silent"], rules["signature-failures"]
    assert (quiet.kind, quiet.receiver, quiet.sensor, quiet.fleet) == (
        "no_data", "deliveries", None, True)
    assert quiet.levels == {"critical": Threshold("above", value=1800.0)}
    assert (refused.kind, refused.receiver, refused.window_s) == (
        "rate", "signature_failures", 900.0)
    assert not rules["co2-sensor-silent"].fleet

    incidents = {name: (rule.incident, next(iter(rule.levels.items())))
                 for name, rule in rules.items() if rule.kind == "incident"}
    assert incidents == {
        "room-offline": (IncidentMatch(3), ("critical", Threshold("above", value=600.0))),
        "controller-or-scheduling-display-disconnected":
            (IncidentMatch(1), ("warning", Threshold("above", value=1800.0))),
        "display-disconnected": (IncidentMatch(7), ("warning", Threshold("above", value=1800.0))),
        "battery-low": (IncidentMatch(6), ("info", Threshold("above", value=3600.0))),
        "high-cpu": (IncidentMatch(4), ("warning", Threshold("above", value=900.0))),
    }


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
