"""The per-(rule, room) alert state machine: what one evaluation's sample means.

Pure: no I/O and no clock; the evaluator passes the evaluation time in as
integer nanoseconds and persists the states (:mod:`monitor.rules.roomstate`)
between runs, and :mod:`monitor.rules.alerts` says what a step tells the
notifier. It is designed against the three things people hate most about threshold alerting:

* flapping — a firing level only stops once its *resolve* bound is passed
  (hysteresis), escalation must hold for ``for_s`` like the first firing, and
  ``keep_firing_for_s`` rides out short dips;
* stale values in resolved messages — the resolve carries the sample that
  resolved it, and ``last_value`` is never overwritten by a missing sample;
* silence read as health — a missing sample never resolves anything unless
  the rule says ``no_data: {state: ok}``; otherwise it becomes ``no_data``
  (or keeps the status, with ``keep``).

Timers are only promoted on evidence: a ``None`` sample neither confirms a
pending condition nor a pending recovery, but it does not reset them either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from monitor.core.timeutil import NS_PER_S
from monitor.rules.model import LEVELS, Rule
from monitor.rules.roomstate import ALERTING, RoomState


@dataclass(frozen=True)
class Transition:
    """One status or level change, for the history (``rule_state`` points)."""

    rule_id: str
    room_id: str
    previous: str        # status before
    current: str         # status after
    level: str | None    # level after (or the level that resolved when current == inactive)
    value: float | None  # the sample, or the last real one when there was none
    at_ns: int


@dataclass(frozen=True)
class Step:
    state: RoomState
    transitions: list[Transition]     # status or level changes only (pending→inactive included)


def step(rule: Rule, room_id: str, state: RoomState, value: float | None, now_ns: int) -> Step:
    """Advance one room by one evaluation; ``value is None`` means no sample this time.

    The input state is not modified, so the caller may still compare old and new.
    """
    before = _settled(state)
    sample = _sample(value)
    if sample is None:
        after = _silence(rule, before, now_ns)
    else:
        after = _observe(rule, before, sample, now_ns)
    after = _with_ended_episode(before, after)
    return Step(after, _transitions(rule.id, room_id, before, after, sample=sample, now_ns=now_ns))


def remembers_quiet_rooms(rule: Rule) -> bool:
    """Whether an inactive room must still be stored: only to notice it going silent.

    Without a ``no_data: {state: no_data}`` policy, an inactive room's stored
    state (last value, silence start) never changes what a later step does,
    so the evaluator forgets it and only works on rooms that breach or were
    alerting. That keeps the per-cycle work proportional to the problems, not
    to the fleet (10,000 rooms x every rule otherwise).
    """
    return rule.no_data is not None and rule.no_data.state == "no_data"


def is_quiet(state: RoomState) -> bool:
    return state.status == "inactive"



# --- one evaluation ---------------------------------------------------------------------


def _sample(value: float | None) -> float | None:
    """NaN compares false against every bound and would read as recovered: treat it as missing."""
    if value is None or math.isnan(value):
        return None
    return float(value)


def _settled(state: RoomState) -> RoomState:
    """Drop what only the previous step's messages needed (see :class:`RoomState`)."""
    if state.status == "inactive":
        state = RoomState(last_value=state.last_value, last_seen_ns=state.last_seen_ns,
                          silent_since_ns=state.silent_since_ns)
    if not _is_silent(state):
        state = replace(state, silent_since_ns=None)
    return state


def _is_silent(state: RoomState) -> bool:
    """A silence start older than the last sample belongs to a silence that has ended."""
    since = state.silent_since_ns
    return since is not None and (state.last_seen_ns is None or since > state.last_seen_ns)


def _observe(rule: Rule, state: RoomState, sample: float, now_ns: int) -> RoomState:
    """A real sample: remember it, and leave no_data by evaluating afresh from inactive."""
    seen = replace(state, last_value=sample, last_seen_ns=now_ns, silent_since_ns=None)
    if seen.status == "no_data":
        seen = _inactive_from(seen)
    return _evaluate(rule, seen, sample, now_ns)


def _silence(rule: Rule, state: RoomState, now_ns: int) -> RoomState:
    """No sample: never a resolve, unless the rule says silence means ok."""
    since = state.silent_since_ns if state.silent_since_ns is not None else now_ns
    silent = replace(state, silent_since_ns=since)
    policy = rule.no_data
    if policy is None or policy.state == "keep":
        return silent
    if not _elapsed(silent.silent_since_ns, now_ns, policy.after_s):
        return silent
    if policy.state == "ok":
        return _evaluate(rule, silent, None, now_ns)
    if silent.status == "no_data":
        return silent
    return RoomState(status="no_data", level=silent.level, silent_since_ns=silent.silent_since_ns,
                     last_value=silent.last_value, last_seen_ns=silent.last_seen_ns)


def _evaluate(rule: Rule, state: RoomState, value: float | None, now_ns: int) -> RoomState:
    """Apply a value to the state; ``None`` here means "as if recovered" (no_data: ok)."""
    if state.status == "firing":
        return _firing(rule, state, value, now_ns)
    if state.status == "pending":
        return _pending(rule, state, value, now_ns)
    if state.status == "no_data":
        state = _inactive_from(state)
    return _inactive(rule, state, value, now_ns)


def _inactive(rule: Rule, state: RoomState, value: float | None, now_ns: int) -> RoomState:
    level = breached_level(rule, value)
    if level is None:
        return state
    pending = replace(state, status="pending", level=level, pending_since_ns=now_ns)
    return _pending(rule, pending, value, now_ns)   # for_s == 0 fires right away


def _pending(rule: Rule, state: RoomState, value: float | None, now_ns: int) -> RoomState:
    """Fire once *some* level held for for_s; the level is whatever is breached when it fires."""
    level = breached_level(rule, value)
    if level is None:
        return _inactive_from(state)
    if not _elapsed(state.pending_since_ns, now_ns, rule.for_s):
        return replace(state, level=level)
    return replace(state, status="firing", level=level, pending_since_ns=None,
                   firing_since_ns=now_ns, recovered_since_ns=None)


def _firing(rule: Rule, state: RoomState, value: float | None, now_ns: int) -> RoomState:
    """Escalate only after for_s, hold the level until it recovers, de-escalate at once."""
    top = breached_level(rule, value)
    if top is not None and _rank(top) > _rank(state.level):
        return _escalate(rule, state, top, now_ns)
    state = replace(state, pending_level=None, pending_since_ns=None)
    if (top is not None and top == state.level) or _holds(rule, state.level, value):
        return replace(state, recovered_since_ns=None)   # cancels a pending resolve silently
    if top is not None:
        return replace(state, level=top, recovered_since_ns=None)
    return _recover(rule, state, now_ns)


def _escalate(rule: Rule, state: RoomState, top: str, now_ns: int) -> RoomState:
    """A more severe level must hold for for_s before it replaces the firing one."""
    since = state.pending_since_ns if state.pending_level is not None else None
    since = now_ns if since is None else since
    if _elapsed(since, now_ns, rule.for_s):
        return replace(state, level=top, pending_level=None, pending_since_ns=None,
                       recovered_since_ns=None)
    return replace(state, pending_level=top, pending_since_ns=since, recovered_since_ns=None)


def _recover(rule: Rule, state: RoomState, now_ns: int) -> RoomState:
    """Resolve once recovered continuously for keep_firing_for_s (at once when it is 0)."""
    since = state.recovered_since_ns if state.recovered_since_ns is not None else now_ns
    if _elapsed(since, now_ns, rule.keep_firing_for_s):
        return _inactive_from(state)
    return replace(state, recovered_since_ns=since)


def _inactive_from(state: RoomState) -> RoomState:
    """Back to inactive, keeping only what describes the series itself."""
    return RoomState(last_value=state.last_value, last_seen_ns=state.last_seen_ns,
                     silent_since_ns=state.silent_since_ns)


def _with_ended_episode(before: RoomState, after: RoomState) -> RoomState:
    """On the resolving step, keep the ended alert's level and start for its message."""
    if before.status not in ALERTING or after.status in ALERTING:
        return after
    if before.status == "no_data":
        return replace(after, silent_since_ns=before.silent_since_ns,
                       level=after.level if after.status == "pending" else before.level)
    return replace(after, level=before.level, firing_since_ns=before.firing_since_ns)


def _transitions(rule_id: str, room_id: str, before: RoomState, after: RoomState, *,
                 sample: float | None, now_ns: int) -> list[Transition]:
    """At most one per step: one status and/or level change is one event."""
    if before.status == after.status and (after.status == "inactive"
                                          or before.level == after.level):
        return []
    level = before.level if after.status == "inactive" else after.level
    value = sample if sample is not None else after.last_value
    return [Transition(rule_id, room_id, before.status, after.status, level, value, now_ns)]


# --- levels and time --------------------------------------------------------------------


def _rank(level: str | None) -> int:
    return LEVELS.index(level) if level in LEVELS else -1


def breached_level(rule: Rule, value: float | None) -> str | None:
    """The most severe level whose start condition holds."""
    if value is None:
        return None
    hits = [level for level in LEVELS
            if level in rule.levels and rule.levels[level].breached(value)]
    return hits[-1] if hits else None


def _holds(rule: Rule, level: str | None, value: float | None) -> bool:
    """Hysteresis: a firing level stays until its resolve bound is passed.

    A level no longer in the rule (the file changed) cannot hold.
    """
    threshold = rule.levels.get(level) if level is not None else None
    return value is not None and threshold is not None and not threshold.recovered(value)


def _elapsed(since_ns: int | None, now_ns: int, seconds: float) -> bool:
    return since_ns is not None and now_ns - since_ns >= round(seconds * NS_PER_S)
