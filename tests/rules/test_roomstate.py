"""Rule states persisted between runs: a JSON round trip, defaults, and what is refused."""

from __future__ import annotations

import json

import pytest
from support.roomsteps import at

from monitor.rules.roomstate import RoomState, RuleStates


def test_rule_states_round_trip_through_json() -> None:
    states = RuleStates()
    states.set("air/co2", "b", RoomState(status="firing", level="critical", pending_level=None,
                                         firing_since_ns=at(0), last_value=2500.5,
                                         last_seen_ns=at(3)))
    states.set("air/co2", "a", RoomState(status="no_data", level="warning",
                                         silent_since_ns=at(1), last_value=1200.0,
                                         last_seen_ns=at(0)))
    states.set("air/temp", "a", RoomState(status="pending", level="info",
                                          pending_since_ns=at(2), last_value=17.0,
                                          last_seen_ns=at(2)))
    loaded = RuleStates.from_json(json.loads(json.dumps(states.to_json())))
    assert loaded.to_json() == states.to_json()
    assert loaded.get("air/co2", "b") == states.get("air/co2", "b")
    assert loaded.rooms("air/co2") == ["a", "b"]


def test_rule_states_defaults_and_dropping_a_rule() -> None:
    states = RuleStates()
    assert states.get("air/co2", "nowhere") == RoomState()
    assert states.rooms("air/co2") == []
    states.set("air/co2", "a", RoomState(status="firing", level="warning"))
    states.drop_rule("air/co2")
    states.drop_rule("never/there")
    assert states.rooms("air/co2") == []
    assert RuleStates.from_json({}).to_json() == {"version": 1, "rules": {}}


def test_rule_states_refuse_what_they_cannot_read() -> None:
    with pytest.raises(ValueError, match="version"):
        RuleStates.from_json({"version": 99, "rules": {}})
    with pytest.raises(ValueError, match="status"):
        RuleStates.from_json({"version": 1, "rules": {"r": {"a": {"status": "bogus"}}}})
    tolerant = RoomState.from_json({"status": "firing", "level": "warning", "future": 1})
    assert tolerant == RoomState(status="firing", level="warning")
