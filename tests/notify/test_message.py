"""Notification ids are per transition; grouping; the stored form round-trips."""

from __future__ import annotations

import dataclasses
import json

import pytest
from support.alerts import NS, T0, make_alert

from monitor.notify.message import Notification, group_key


def note(*alerts: object, kind: str = "firing", channel: str = "hook",
         repeat: int = 0) -> Notification:
    members = alerts or (make_alert(),)
    return Notification(channel, "air/co2-high{building=HQ}", members,  # type: ignore[arg-type]
                        kind, {"building": "HQ"}, repeat)  # type: ignore[arg-type]


def test_same_transition_gives_the_same_id_whatever_the_value_or_evaluation_time() -> None:
    first = note(make_alert(value=1250.0, at_s=T0))
    later = note(make_alert(value=1333.0, at_s=T0 + 600))
    assert first.id == later.id
    assert len(first.id) == 32


def test_order_of_alerts_does_not_change_the_id() -> None:
    a, b = make_alert("room-1"), make_alert("room-2", room="K2")
    assert note(a, b).id == note(b, a).id


@pytest.mark.parametrize("change", [
    {"level": "warning"},                    # escalation / de-escalation
    {"started_s": T0 - 60},                  # a new episode
    {"room_id": "room-9"},                   # another room
    {"rule_id": "air/co2-very-high"},
])
def test_a_different_transition_gives_a_different_id(change: dict[str, object]) -> None:
    assert note(make_alert()).id != note(make_alert(**change)).id  # type: ignore[arg-type]


def test_channel_kind_membership_and_repeat_are_part_of_the_id() -> None:
    base = note()
    assert base.id != note(channel="mail").id
    assert base.id != note(kind="resolved").id
    assert base.id != note(make_alert(), make_alert("room-2")).id
    assert base.id != note(repeat=1).id
    assert note(repeat=1).id == note(repeat=1).id


def test_id_is_stable_across_processes() -> None:
    """Pinned: a changed digest would resend every open alert after an upgrade."""
    alert = dataclasses.replace(make_alert(), starts_at_ns=1_700_000_000 * NS, at_ns=0)
    assert note(alert).id == "5f96022b064198e1e7bc73ce43a3e227"


def test_round_trips_through_json() -> None:
    original = note(make_alert(), make_alert("room-2", room="K2", value=None), repeat=2)
    restored = Notification.from_dict(json.loads(json.dumps(original.to_dict())))
    assert restored == original
    assert restored.id == original.id


def test_needs_alerts_and_a_known_kind() -> None:
    with pytest.raises(ValueError, match="at least one alert"):
        Notification("hook", "k", (), "firing")
    with pytest.raises(ValueError, match="kind"):
        Notification("hook", "k", (make_alert(),), "pending")  # type: ignore[arg-type]


def test_group_key_without_labels() -> None:
    assert group_key("air/co2-high", {}) == "air/co2-high{}"
