"""The committed dashboards are exactly what the code generates from the current rules."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from support.grafana import VARIABLE, Choice, TimeRange, all_panels, interpolate, queries
from support.paths import REPO

from monitor.core.configfile import ConfigFileErrors
from monitor.dashboards.__main__ import main
from monitor.dashboards.generate import generate
from monitor.dashboards.thresholds import load_limits

RULES = REPO / "rules"
OUT = REPO / "dashboards"
UID = {"type": "influxdb", "uid": "zrmon-influxdb"}


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    return generate(RULES)


def boards(generated: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {name: json.loads(text) for name, text in generated.items()}


def test_committed_json_is_what_the_code_generates(generated: dict[str, str]) -> None:
    committed = {path.name for path in OUT.glob("*.json")}
    assert committed == set(generated)
    for name, text in generated.items():
        assert (OUT / name).read_text(encoding="utf-8") == text, (
            f"{name} is stale: run python -m monitor.dashboards")


def test_generation_is_deterministic(generated: dict[str, str]) -> None:
    assert generate(RULES) == generated
    assert all(text.endswith("}\n") for text in generated.values())


def test_check_mode_reports_stale_files(tmp_path: Path) -> None:
    assert main(["--rules", str(RULES), "--out", str(OUT), "--check"]) == 0
    assert main(["--rules", str(RULES), "--out", str(tmp_path), "--check"]) == 1
    assert main(["--rules", str(RULES), "--out", str(tmp_path)]) == 0
    assert main(["--rules", str(RULES), "--out", str(tmp_path), "--check"]) == 0


def test_broken_rules_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "air.yaml").write_text("group: air\ninterval: 1m\nrules:\n  - name: x\n")
    assert main(["--rules", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "air.yaml" in capsys.readouterr().err
    with pytest.raises(ConfigFileErrors):
        load_limits(tmp_path)


def test_every_panel_target_variable_and_annotation_uses_the_influxdb_source(
        generated: dict[str, str]) -> None:
    for name, board in boards(generated).items():
        for panel in all_panels(board):
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == UID, (name, panel["title"])
            assert panel["targets"], (name, panel["title"])
            for target in panel["targets"]:
                assert target["datasource"] == UID
                assert target["rawQuery"] is True
        for query in queries(board):
            assert query.datasource == UID, (name, query.where)
        for annotation in board["annotations"]["list"]:
            assert annotation["query"] == annotation["target"]["query"]


def test_panel_ids_are_unique(generated: dict[str, str]) -> None:
    for name, board in boards(generated).items():
        ids = [panel["id"] for panel in all_panels(board)]
        assert len(ids) == len(set(ids)), name


def test_every_variable_used_is_defined_and_escaped_alike_by_every_grafana(
        generated: dict[str, str]) -> None:
    """No ``$x`` survives interpolation; and every variable interpolated with the default
    format is multi-value or include-all, which both Grafana code paths (the classic
    front end and the newer back end) regex-escape the same way."""
    span = TimeRange(0, 3_600_000)
    for name, board in boards(generated).items():
        variables = {v["name"]: v for v in board["templating"]["list"]}
        choices = {key: Choice(v, ("a.b",), ("a.b",)) for key, v in variables.items()}
        for query in queries(board):
            interpolate(query.text, choices, span)       # raises on a leftover $x
            for match in VARIABLE.finditer(query.text):
                used = match.group(1) or match.group(2) or match.group(4)
                fmt = match.group(3) or match.group(6)
                if used in variables and fmt is None:
                    assert variables[used]["multi"] or variables[used]["includeAll"], (
                        name, query.where, used)


def test_thresholds_come_from_the_rule_files(generated: dict[str, str]) -> None:
    limits = load_limits(RULES)
    co2 = limits["CO2"]
    room = boards(generated)["room-detail.json"]
    [panel] = [p for p in room["panels"] if p["title"] == "CO₂"]
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    bounds = sorted({t.value for _, t in co2.levels if t.value is not None})
    assert [step["value"] for step in steps] == [None, *bounds]
    [humidity] = [p for p in room["panels"] if p["title"] == "Humidity"]
    colours = [s["color"] for s in humidity["fieldConfig"]["defaults"]["thresholds"]["steps"]]
    assert colours == ["orange", "green", "orange"]        # outside [30, 60] is a warning


def test_a_changed_rule_changes_the_dashboards(tmp_path: Path) -> None:
    """Nothing hard-codes a threshold: move the WELL CO2 line and every use of it moves."""
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    air = rules / "air-quality.yaml"
    text = air.read_text(encoding="utf-8")
    assert "info: {above: 800}" in text
    air.write_text(text.replace("info: {above: 800}", "info: {above: 850}"), encoding="utf-8")
    changed = generate(rules)
    assert '"value": 850.0' in changed["room-detail.json"]
    assert '"value": 800.0' not in changed["room-detail.json"]
    assert re.search(r'\\"occupied_sum\\" <= 850 \*', changed["air-quality.json"])
    assert "<= 800" not in changed["air-quality.json"]


def test_long_ranges_read_rollups_only(generated: dict[str, str]) -> None:
    """The room detail's source choice reaches every series query; rollup choices exist."""
    room = boards(generated)["room-detail.json"]
    [source] = [v for v in room["templating"]["list"] if v["name"] == "source"]
    assert '"rollup"."sensor_1h"' in source["query"]
    for panel in all_panels(room):
        for target in panel["targets"]:
            assert "FROM ${source:raw} " in target["query"]
            assert '"sensor"' not in target["query"].split("FROM", 1)[1].split("WHERE")[0]
