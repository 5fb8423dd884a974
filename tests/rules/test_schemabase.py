"""What every schema shares: unknown keys refused with a suggestion, messages in plain words."""

from __future__ import annotations

from pathlib import Path

from support.rulefiles import bad_rule, errors, write


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
