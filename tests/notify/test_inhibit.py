"""Inhibition over one cycle's active alerts: which alert explains which (the dispatcher's
use of it, silences included, is in test_dispatch.py)."""

from __future__ import annotations

from pathlib import Path

from support.dispatching import OFFLINE, alert

from monitor.notify.inhibit import DEFAULT_INHIBIT, inhibited
from monitor.notify.policy_load import parse_policy


def test_critical_inhibits_warning_for_the_same_room_only() -> None:
    critical_r1 = alert("r1", level="critical")
    warning_r1, warning_r2 = alert("r1", rule="air/temp", level="warning"), alert("r2")
    assert inhibited([critical_r1, warning_r1, warning_r2], DEFAULT_INHIBIT) == {1}


def test_the_shipped_policy_inhibits_like_the_default_and_mutes_silent_sensors() -> None:
    shipped = parse_policy(Path("rules/notify.yaml").read_text()).inhibit
    assert shipped == DEFAULT_INHIBIT
    offline = alert("r1", rule=OFFLINE, level="critical")
    silent_r1 = alert("r1", rule="air-quality/co2-sensor-silent", level="warning")
    silent_r2 = alert("r2", rule="air-quality/co2-sensor-silent", level="warning")
    assert inhibited([offline, silent_r1, silent_r2], shipped) == {1}


def test_alerts_matching_both_sides_do_not_mute_each_other() -> None:
    policy = parse_policy("inhibit:\n  - {source: {level: critical}, target: {room_id: '~.*'},"
                          " equal: [room_id]}\n")
    both = [alert("r1", level="critical"), alert("r1", rule=OFFLINE, level="critical"),
            alert("r1", rule="air/temp-high", level="warning")]
    assert inhibited(both, policy.inhibit) == {2}
