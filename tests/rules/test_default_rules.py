"""The shipped rules: they pass ``zrmon rules check`` and their unit tests (``rules/tests``).

The unit tests run through :func:`monitor.runtime.ruletest.run_files`, as
``zrmon rules test rules/tests/*.yaml`` does, against a private real influxd.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
import yaml
from support.paths import REPO

from monitor.core.config import Config
from monitor.notify.dispatch import Dispatcher
from monitor.notify.policy_load import load_policy
from monitor.rules.load import load_dir
from monitor.rules.model import Alert
from monitor.runtime.configcheck import check
from monitor.runtime.ruletest import run_files

RULES_DIR = REPO / "rules"
TEST_FILES = sorted((RULES_DIR / "tests").glob("*.yaml"))


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_the_default_rules_check_clean() -> None:
    assert check(RULES_DIR, None) == []


def test_every_default_rule_has_a_firing_expectation() -> None:
    expected: set[str] = set()
    for path in TEST_FILES:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in spec["tests"]:
            for expectation in case.get("alerts", []):
                expected.update(alert["rule"] for alert in expectation.get("firing", []))
    rules = {rule.id for group in load_dir(RULES_DIR) for rule in group.rules}
    assert rules - expected == set()


def test_the_rule_unit_tests_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert TEST_FILES
    code = run_files(TEST_FILES, Config())
    out = capsys.readouterr().out
    assert code == 0, out
    assert "FAIL" not in out


def test_a_wrong_expectation_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rule_file = os.path.relpath(RULES_DIR / "air-quality.yaml", tmp_path)
    test_file = write(tmp_path / "wrong.yaml", f"""\
        rule_files: [{rule_file}]
        notify_policy: {RULES_DIR / "notify.yaml"}
        tests:
          - name: 1,100 ppm for 25 minutes is claimed not to fire
            interval: 5m
            input_series:
              - labels: {{room_id: r1, room_name: Everest, building: HQ, sensor_type: CO2}}
                values: "1100x6"
            alerts:
              - at: 25m
                firing: []
    """)
    assert run_files([test_file], Config()) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out
    assert "air-quality/co2-high" in out


BROKEN = {
    "no-tests": """\
        rule_files: [{rules}]
    """,
    "bad-series": """\
        rule_files: [{rules}]
        tests:
          - input_series:
              - labels: {{room_id: r1, sensor_type: CO2}}
                values: "900y3"
            alerts: [{{at: 1m, firing: []}}]
    """,
    "missing-rule-file": """\
        rule_files: [no-such-rules.yaml]
        tests:
          - alerts: [{{at: 1m, firing: []}}]
    """,
}


@pytest.mark.parametrize("body", list(BROKEN.values()), ids=list(BROKEN))
def test_a_broken_test_file_cannot_run(tmp_path: Path, body: str) -> None:
    text = body.format(rules=RULES_DIR / "air-quality.yaml")
    assert run_files([write(tmp_path / "broken.yaml", text)], Config()) == 2


def _alert(rule: str, room: str, level: str, status: str = "firing") -> Alert:
    at = 1_800_000_000 * 10**9
    return Alert(rule_id=rule, room_id=room, status=status,  # type: ignore[arg-type]
                 level=level, value=1.0, threshold="above 0", starts_at_ns=at - 60 * 10**9,
                 at_ns=at, labels={"room_name": room, "building": "HQ"}, notify=("log",))


def test_no_webhooks_from_zoom_is_one_message_not_one_per_room() -> None:
    """The shipped policy: the fleet alert mutes every room's silent-sensor and no-data alerts."""
    alerts = [_alert("webhooks/zoom-silent", "fleet", "critical"),
              _alert("air-quality/co2-sensor-silent", "r1", "warning"),
              _alert("air-quality/co2-sensor-silent", "r2", "warning"),
              _alert("air-quality/co2-high", "r3", "warning", status="no_data"),
              _alert("air-quality/co2-high", "r4", "warning")]
    dispatcher = Dispatcher(load_policy(RULES_DIR / "notify.yaml"))
    at = alerts[0].at_ns
    dispatcher.process(alerts, at, [])
    sent = dispatcher.process(alerts, at + 60 * 10**9, [])        # past group_wait
    assert sorted((n.rule_id, n.kind, [a.room_id for a in n.alerts]) for n in sent) == [
        ("air-quality/co2-high", "firing", ["r4"]),
        ("webhooks/zoom-silent", "firing", ["fleet"])]
    quiet = [a for a in alerts if a.rule_id != "webhooks/zoom-silent"]
    after = Dispatcher(load_policy(RULES_DIR / "notify.yaml"))
    after.process(quiet, at, [])
    rooms = sorted(a.room_id for n in after.process(quiet, at + 60 * 10**9, [])
                   for a in n.alerts)
    assert rooms == ["r1", "r2", "r3", "r4"]                      # without it, every room


def test_the_fleet_alert_comes_before_the_rooms_silent_sensors() -> None:
    """Inhibition only helps if the fleet alert is already active when the rooms' fire."""
    rules = {rule.id: rule for group in load_dir(RULES_DIR) for rule in group.rules}
    fleet = rules["webhooks/zoom-silent"].levels["critical"].value
    assert fleet is not None
    for rule in rules.values():
        if rule.kind == "no_data" and not rule.fleet:
            lowest = min(t.value for t in rule.levels.values() if t.value is not None)
            assert lowest > fleet, rule.id
