"""Rule files into model dataclasses, and every mistake at its file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.paths import RULES as RULES_DIR
from support.rulefiles import bad_rule, errors, write

from monitor.core.configfile import ConfigFileError, ConfigFileErrors
from monitor.rules.load import load_dir, load_file, parse_file, rule_files
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


def test_error_str_is_file_line_field_message() -> None:
    assert str(ConfigFileError("rules/a.yaml", 12, "rules.0.levels", "bad")) == (
        "rules/a.yaml:12: rules.0.levels: bad")
    assert str(ConfigFileError("rules/a.yaml", 0, "", "cannot read")) == "rules/a.yaml: cannot read"


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
    with pytest.raises(ConfigFileErrors) as caught:
        load_file(path)
    assert len(caught.value) == 1
    assert str(caught.value) == f"{path}:3: rules.0.name: must match [a-z0-9_-]+"


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
    with pytest.raises(ConfigFileErrors) as caught:
        load_dir(tmp_path)
    assert [(Path(e.file).name, e.line, e.field) for e in caught.value] == [
        ("b.yaml", 1, "group"), ("c.yaml", 4, "rules.0.sensor")]


def test_a_group_name_used_twice_is_an_error(tmp_path: Path) -> None:
    first = write(tmp_path, GOOD.format(name="same"), "a.yaml")
    write(tmp_path, "# again\n" + GOOD.format(name="same"), "b.yaml")
    with pytest.raises(ConfigFileErrors) as caught:
        load_dir(tmp_path)
    assert [str(error) for error in caught.value] == [
        f"{tmp_path / 'b.yaml'}:2: group: group 'same' is already defined in {first}:1"]


def test_load_dir_of_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileErrors) as caught:
        load_dir(tmp_path / "nope")
    assert str(caught.value) == f"{tmp_path / 'nope'}: no such file or directory"


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
