"""What each (rule, room) remembers between evaluations, and the whole set persisted.

:class:`RoomState` is the state machine's (:mod:`monitor.rules.statemachine`)
input and output; :class:`RuleStates` holds every room's state for every rule
and is what the evaluator writes to disk, so a restart neither re-fires nor
forgets an alert. Pure data and its JSON form: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

STATUSES: tuple[str, ...] = ("inactive", "pending", "firing", "no_data")
ALERTING = ("firing", "no_data")     # the statuses that are an open alert
_JSON_VERSION = 1


@dataclass
class RoomState:
    """Everything one (rule, room) must remember between evaluations.

    On the one step that ends an alert (→ inactive) the state still carries
    the ended episode's ``level`` and ``firing_since_ns``/``silent_since_ns``,
    so whoever renders the resolved message from the new state can say what
    resolved and since when; the next step clears them.
    """

    status: str = "inactive"           # inactive | pending | firing | no_data
    level: str | None = None           # firing level (or the level pending)
    pending_level: str | None = None   # a higher level pending while firing at a lower one
    pending_since_ns: int | None = None
    firing_since_ns: int | None = None
    recovered_since_ns: int | None = None   # for keep_firing_for
    silent_since_ns: int | None = None      # when data last stopped (no sample)
    last_value: float | None = None
    last_seen_ns: int | None = None         # last evaluation that had a sample

    def to_json(self) -> dict[str, Any]:
        # Flat fields only: a shallow copy, not asdict's deep copy (80,000 rooms x rules).
        return dict(vars(self))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RoomState:
        """Unknown keys are ignored so an older build can read a newer file."""
        known = {f.name for f in fields(cls)}
        state = cls(**{key: value for key, value in data.items() if key in known})
        if state.status not in STATUSES:
            raise ValueError(f"unknown rule state status {state.status!r}")
        if state.last_value is not None:
            state.last_value = float(state.last_value)
        return state


class RuleStates:
    """Every room's state for every rule: what the evaluator persists between runs."""

    def __init__(self, states: Mapping[str, Mapping[str, RoomState]] | None = None) -> None:
        self._states: dict[str, dict[str, RoomState]] = {
            rule_id: dict(rooms) for rule_id, rooms in (states or {}).items()}

    def get(self, rule_id: str, room_id: str) -> RoomState:
        """A room never seen before starts inactive (a fresh object, not stored)."""
        return self._states.get(rule_id, {}).get(room_id) or RoomState()

    def set(self, rule_id: str, room_id: str, state: RoomState) -> None:
        self._states.setdefault(rule_id, {})[room_id] = state

    def rooms(self, rule_id: str) -> list[str]:
        """Rooms known for the rule, so a room that goes silent is still stepped."""
        return sorted(self._states.get(rule_id, {}))

    def known(self, rule_id: str) -> Mapping[str, RoomState]:
        """The rule's stored rooms, for fast membership tests (do not modify)."""
        return self._states.get(rule_id, {})

    def forget(self, rule_id: str, room_id: str) -> None:
        """A quiet room carries nothing worth keeping.

        See :func:`~monitor.rules.statemachine.remembers_quiet_rooms`.
        """
        rooms = self._states.get(rule_id)
        if rooms is not None:
            rooms.pop(room_id, None)

    def drop_rule(self, rule_id: str) -> None:
        """Forget a rule removed from the files, so its rooms stop being stepped."""
        self._states.pop(rule_id, None)

    def rule_ids(self) -> list[str]:
        return sorted(self._states)

    def subset(self, rule_ids: Iterable[str]) -> RuleStates:
        """A working copy of some rules, to step without touching these states.

        Per-rule dicts are copied, room states shared: the state machine never
        modifies a state, it returns a new one.
        """
        return RuleStates({rule_id: self._states[rule_id] for rule_id in rule_ids
                           if rule_id in self._states})

    def replace_rules(self, rule_ids: Iterable[str], other: RuleStates) -> None:
        """Take these rules' states from ``other`` (a committed working copy)."""
        for rule_id in rule_ids:
            rooms = other._states.get(rule_id)
            if rooms:
                self._states[rule_id] = rooms
            else:
                self._states.pop(rule_id, None)

    def to_json(self) -> dict[str, Any]:
        return {"version": _JSON_VERSION,
                "rules": {rule_id: {room_id: state.to_json() for room_id, state in rooms.items()}
                          for rule_id, rooms in self._states.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RuleStates:
        """Refuses a file from an unknown format rather than misreading alert states."""
        version = data.get("version", _JSON_VERSION)
        if version != _JSON_VERSION:
            raise ValueError(f"unsupported rule state version {version!r}")
        rules: Mapping[str, Mapping[str, Mapping[str, Any]]] = data.get("rules", {})
        return cls({rule_id: {room_id: RoomState.from_json(state)
                              for room_id, state in rooms.items()}
                    for rule_id, rooms in rules.items()})
