"""Annotation templates: compiled at load time, unknown names and syntax errors at their line."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.rulefiles import bad_rule, one_rule


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


@pytest.mark.parametrize(("body", "expected"), [
    # annotations
    ("sensor: CO2\nannotations: {summary: '{{ room_nmae }}'}\nlevels: {warning: {above: 1}}\n",
     (5, "rules.0.annotations.summary", "unknown template variable room_nmae (known: value, "
      "threshold, level, since, room_id, room_name, building, floor, labels and the rule's "
      "labels)")),
    ("sensor: CO2\nannotations: {summary: '{{ value | rnd }}'}\nlevels: {warning: {above: 1}}\n",
     (5, "rules.0.annotations.summary", "template error: No filter named 'rnd'.")),
])
def test_each_template_error_at_its_line_and_field(
        tmp_path: Path, body: str, expected: tuple[int, str, str]) -> None:
    assert bad_rule(tmp_path, body) == [expected]
