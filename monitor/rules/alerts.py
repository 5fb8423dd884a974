"""The alert a step has to tell: firing, no data, or resolved, with what it says.

The state machine (:mod:`monitor.rules.statemachine`) decides what happened to
a room; this decides what the notifier hears about it: a firing alert repeats
every evaluation with only this evaluation's sample as its value, a silent
room alerts at its level (or the rule's least severe one), and a resolve
carries the value that resolved it and the start of the episode it ends. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.rules.model import LEVELS, Alert, AlertStatus, Rule
from monitor.rules.roomstate import ALERTING, RoomState
from monitor.rules.statemachine import Step, Transition


def alert_for(rule: Rule, room_id: str, state: RoomState, step: Step,  # noqa: PLR0917 -- evaluator's call
              now_ns: int, labels: dict[str, str], annotations: dict[str, str]) -> Alert | None:
    """The alert to hand to the notifier after ``step``, or None when there is nothing to say.

    Only ``step`` is read (its new state and transitions), so ``state`` may be
    either the state before or after the step: both give the same alert.
    """
    news = _news(rule, step, now_ns)
    if news is None:
        return None
    return Alert(rule_id=rule.id, room_id=room_id, status=news.status, level=news.level,
                 value=news.value, threshold=news.threshold,
                 starts_at_ns=news.since_ns if news.since_ns is not None else now_ns,
                 at_ns=now_ns, labels=dict(labels), annotations=dict(annotations),
                 notify=rule.notify)


def _ended(transitions: list[Transition]) -> Transition | None:
    """The transition that ends a firing or no_data alert, if this step had one."""
    for transition in transitions:
        if transition.previous in ALERTING and transition.current not in ALERTING:
            return transition
    return None


def _level(rule: Rule, level: str | None) -> str:
    """An alert needs a level; a room that went silent while inactive has none of its own."""
    if level is not None:
        return level
    configured = [name for name in LEVELS if name in rule.levels]
    return configured[0] if configured else "warning"


@dataclass(frozen=True)
class _News:
    """What an alert says, before labels and annotations are attached."""

    status: AlertStatus
    level: str
    value: float | None
    threshold: str
    since_ns: int | None


def _news(rule: Rule, step: Step, now_ns: int) -> _News | None:
    current = step.state
    if current.status == "firing":
        level = _level(rule, current.level)
        return _News("firing", level, _current_value(current, now_ns), _threshold(rule, level),
                     current.firing_since_ns)
    if current.status == "no_data":
        return _News("no_data", _level(rule, current.level), None, _no_data_text(rule),
                     current.silent_since_ns)
    ended = _ended(step.transitions)
    if ended is None:
        return None
    level = _level(rule, ended.level)
    if ended.previous == "no_data":
        return _News("resolved", level, ended.value, _no_data_text(rule),
                     current.silent_since_ns)
    return _News("resolved", level, ended.value, _threshold(rule, level),
                 current.firing_since_ns)


def _current_value(state: RoomState, now_ns: int) -> float | None:
    """This evaluation's sample only: a firing reminder must not pass an old value as current."""
    return state.last_value if state.last_seen_ns == now_ns else None


def _threshold(rule: Rule, level: str) -> str:
    threshold = rule.levels.get(level)
    return threshold.describe() if threshold is not None else level


def _no_data_text(rule: Rule) -> str:
    """A silent room breached no threshold: say what it did instead."""
    return f"no data for {rule.no_data.after_s:g}s" if rule.no_data is not None else "no data"
