"""A rule's levels: each comparison, its hysteresis on the safe side, levels ordered by severity."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.rulefiles import bad_rule, one_rule

from monitor.rules.model import Threshold


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
])
def test_each_level_error_at_its_line_and_field(
        tmp_path: Path, body: str, expected: tuple[int, str, str]) -> None:
    assert bad_rule(tmp_path, body) == [expected]


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
