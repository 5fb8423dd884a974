"""Evaluate a group of rules at one instant: query, step each room's state, render alerts.

I/O lives at the two edges — one InfluxQL query per rule in, ``rule_state``
points out — and everything between is the pure state machine. One failing
rule (bad query, InfluxDB error, template bug) is logged and counted and
never stops the others.

:meth:`Evaluator.prepare` steps a *copy* of the group's states and returns it
in the result; :meth:`Evaluator.adopt` makes it current. The engine adopts
only once the result (states, notifications, points) is committed, so a
failed commit leaves memory as it was and the next evaluation derives the
same transitions again.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import jinja2

from monitor.core.jsonutil import write_atomic
from monitor.core.metrics import GROUP_EVALUATION_SECONDS, RULE_ERRORS, RULE_EVALUATIONS
from monitor.core.timeutil import human_duration
from monitor.datamodel.measurements import RULE_STATE
from monitor.datamodel.points import Point, clean_tags, encode_lines
from monitor.rules.alerts import alert_for
from monitor.rules.model import Alert, Group, Rule
from monitor.rules.query import Sample, build_query, can_filter_breaches, samples
from monitor.rules.roomstate import RoomState, RuleStates
from monitor.rules.statemachine import (
    Transition,
    breached_level,
    is_quiet,
    remembers_quiet_rooms,
    step,
)
from monitor.store.influx import InfluxClient, InfluxError, Series

log = logging.getLogger(__name__)
QUERY_CONCURRENCY = 2   # queries in flight per group: one query already uses both cores
MAX_ROOM_FILTER = 200   # a regex of more room ids costs more than reading every room
# Rule kinds whose value is a duration in seconds (silent for, incident open for): their
# alerts carry the label unit=s so messages print "51 min", not a sensor's unit.
SECONDS_KINDS = ("no_data", "incident")

_templates = jinja2.Environment(autoescape=False, undefined=jinja2.ChainableUndefined)


@dataclass
class GroupResult:
    alerts: list[Alert] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    room_tags: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    queries: int = 0
    rule_ids: tuple[str, ...] = ()
    # The group's states after this evaluation: a working copy until adopted.
    states: RuleStates = field(default_factory=RuleStates)
    # Room tags to remember (None: forget) once adopted, per (rule, room).
    tags: dict[tuple[str, str], dict[str, str] | None] = field(default_factory=dict)
    committed: bool = True     # False: the engine could not persist it; nothing was adopted


class StateFile:
    """Rule states under the data dir, so a restart neither re-fires nor forgets."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> RuleStates:
        try:
            return RuleStates.from_json(json.loads(self.path.read_text()))
        except FileNotFoundError:
            return RuleStates()

    def save(self, states: RuleStates) -> None:
        write_atomic(self.path, states.to_json())


class Evaluator:
    """Rule states in memory; ``state_file`` (optional) is only for :meth:`evaluate`'s callers.

    The engine passes ``states`` restored from its database and persists
    them itself (see :mod:`monitor.runtime.journal`).
    """

    def __init__(self, influx: InfluxClient, state_file: StateFile | None,
                 write_transitions: bool = True,
                 concurrency: int = QUERY_CONCURRENCY, *,
                 states: RuleStates | None = None) -> None:
        self.influx = influx
        self.concurrency = max(1, concurrency)
        self.state_file = state_file
        if states is None:
            states = state_file.load() if state_file is not None else RuleStates()
        self.states = states
        self.lock = threading.Lock()
        self.write_transitions = write_transitions
        # Room tags last seen per (rule, room): a silent room's messages still name it.
        self.known_tags: dict[tuple[str, str], dict[str, str]] = {}

    def evaluate(self, group: Group, at_ns: int) -> GroupResult:
        """Prepare and adopt at once, save the state file, write transitions (tools, tests)."""
        result = self.prepare(group, at_ns)
        self.adopt(result)
        if self.state_file is not None:
            with self.lock:
                self.state_file.save(self.states)
        if self.write_transitions and result.transitions:
            self._write(result, group)
        return result

    def prepare(self, group: Group, at_ns: int) -> GroupResult:
        """Queries run concurrently (InfluxDB uses every core); rooms are stepped in rule order.

        Steps a copy of the group's states: nothing here changes ``self``.
        """
        started = time.perf_counter()
        rule_ids = tuple(rule.id for rule in group.rules)
        with self.lock:
            result = GroupResult(rule_ids=rule_ids, states=self.states.subset(rule_ids))
        with ThreadPoolExecutor(max_workers=self.concurrency,
                                thread_name_prefix="rule-query") as pool:
            pending = [(rule, pool.submit(self._fetch, rule, at_ns)) for rule in group.rules]
            for rule, future in pending:
                RULE_EVALUATIONS.labels(rule.id).inc()
                try:
                    series = future.result()
                    result.queries += 1
                    self._evaluate_rule(rule, series, at_ns, result)
                except (InfluxError, ValueError) as exc:
                    RULE_ERRORS.labels(group.name, rule.id).inc()
                    result.errors[rule.id] = str(exc)
                    log.error("rule %s failed: %s", rule.id, exc)
        GROUP_EVALUATION_SECONDS.labels(group.name).observe(time.perf_counter() - started)
        return result

    def adopt(self, result: GroupResult) -> None:
        """Make a prepared result's states current (after it was committed)."""
        with self.lock:
            self.states.replace_rules(result.rule_ids, result.states)
            for key, tags in result.tags.items():
                if tags is None:
                    self.known_tags.pop(key, None)
                else:
                    self.known_tags[key] = tags

    def _fetch(self, rule: Rule, at_ns: int) -> list[Series]:
        """Only breaching rooms, unless the rule must see every room (no_data tracking)."""
        return self.influx.query(build_query(rule, at_ns,
                                             breaching_only=not remembers_quiet_rooms(rule)))

    def _evaluate_rule(self, rule: Rule, series: list[Series], at_ns: int,
                       result: GroupResult) -> None:
        remember_all = remembers_quiet_rooms(rule)
        known = result.states.known(rule.id)

        def worth_stepping(room_id: str, value: float) -> bool:
            return (remember_all or room_id in known
                    or breached_level(rule, value) is not None)

        found = samples(rule, series, at_ns, keep=worth_stepping)
        missing = set(known) - set(found)
        if missing and not remember_all and can_filter_breaches(rule):
            found.update(self._tracked(rule, missing, at_ns, result))
        for room_id in sorted(set(found) | set(known)):
            self._step_room(rule, room_id, found.get(room_id), at_ns, result,
                            remember=remember_all)

    def _tracked(self, rule: Rule, rooms: set[str], at_ns: int,
                 result: GroupResult) -> dict[str, Sample]:
        """Rooms the breach filter left out that we track: recovering, or silent?

        Usually a handful (rooms on their way back); with very many, the rule's
        unfiltered query is cheaper than a long room filter. Either way at most
        two queries per rule, whatever the number of rooms.
        """
        query = build_query(rule, at_ns, rooms=rooms if len(rooms) <= MAX_ROOM_FILTER else None)
        result.queries += 1
        return samples(rule, self.influx.query(query), at_ns,
                       keep=lambda room_id, value: room_id in rooms)

    def _step_room(self, rule: Rule, room_id: str, sample: Sample | None, at_ns: int,  # noqa: PLR0917
                   result: GroupResult, remember: bool) -> None:
        state = result.states.get(rule.id, room_id)
        done = step(rule, room_id, state, _value(rule, sample), at_ns)
        tags = sample.tags if sample is not None else self.known_tags.get((rule.id, room_id), {})
        if remember or not is_quiet(done.state):
            result.states.set(rule.id, room_id, done.state)
            result.tags[(rule.id, room_id)] = tags
        else:
            result.states.forget(rule.id, room_id)
            result.tags[(rule.id, room_id)] = None
        if done.transitions:
            result.transitions.extend(done.transitions)
            result.room_tags[(rule.id, room_id)] = tags
        labels = {**tags, **rule.labels, "rule": rule.id, "room_id": room_id}
        if rule.sensor:
            labels["sensor_type"] = rule.sensor
        if rule.kind in SECONDS_KINDS:
            labels["unit"] = "s"
        alert = alert_for(rule, room_id, done.state, done, at_ns, labels, {})
        if alert is not None:  # templates only for the few rooms that have something to say
            shown = done.state
            if alert.status == "resolved" and _incident_closed(rule, sample, state):
                shown = replace(done.state, last_value=state.last_value)
                alert = replace(alert, value=state.last_value)
            result.alerts.append(replace(alert, annotations=render(rule, shown, labels, at_ns)))

    def _write(self, result: GroupResult, group: Group) -> None:
        try:
            self.influx.write(transition_lines(result, group))
        except InfluxError as exc:
            log.error("cannot record rule transitions: %s", exc)


def transition_lines(result: GroupResult, group: Group) -> bytes:
    """Line protocol of the result's transitions (empty without any).

    Tags as the room had them at its step: a resolved room is already forgotten.
    """
    return encode_lines(
        transition_point(t, group.name, result.room_tags.get((t.rule_id, t.room_id), {}))
        for t in result.transitions)


def _value(rule: Rule, sample: Sample | None) -> float | None:
    """An incident rule's room without an open incident is at 0 s — recovered, not silent."""
    if sample is not None:
        return sample.value
    return 0.0 if rule.kind == "incident" else None


def _incident_closed(rule: Rule, sample: Sample | None, before: RoomState) -> bool:
    """Whether a resolve came from the stand-in 0 s of :func:`_value`, with a duration seen before.

    Its message should then say how long the incident was open when last seen
    ("offline for 47 min"), not 0 min. Only the resolved alert and its
    annotations show that: the stored state and the ``rule_state`` transition
    keep the value that resolved it, and the state machine is unchanged.
    """
    return rule.kind == "incident" and sample is None and before.last_value is not None


def transition_point(transition: Transition, group: str, tags: dict[str, str]) -> Point:
    rule_name = transition.rule_id.split("/", 1)[-1]
    where = tags.get("room_name") or transition.room_id
    level = f" ({transition.level})" if transition.level else ""
    value = "" if transition.value is None else f", value {transition.value:g}"
    title = f"{rule_name}: {transition.previous} → {transition.current}{level} in {where}{value}"
    fields: dict[str, float | int | bool | str] = {"previous": transition.previous,
                                                   "title": title}
    if transition.value is not None:
        fields["value"] = float(transition.value)
    point_tags = clean_tags({
        "rule": transition.rule_id, "group": group, "room_id": transition.room_id,
        "room_name": tags.get("room_name"), "building": tags.get("building"),
        "floor": tags.get("floor"), "status": transition.current, "level": transition.level,
    })
    return Point(RULE_STATE, point_tags, fields, transition.at_ns)


def render(rule: Rule, state: RoomState, labels: dict[str, str], at_ns: int) -> dict[str, str]:
    level = state.level or ""
    threshold = _threshold_text(rule, level)
    since_ns = state.firing_since_ns or state.silent_since_ns or state.pending_since_ns
    context: dict[str, Any] = {
        **labels, "value": state.last_value, "level": level, "threshold": threshold,
        "since": human_duration((at_ns - since_ns) / 1e9) if since_ns else "",
        "labels": labels,
    }
    return {key: _render_one(text, context) for key, text in rule.annotations.items()}


def _threshold_text(rule: Rule, level: str) -> str:
    """``above 1000``; for rules whose value is seconds, ``above 20 min``."""
    threshold = rule.levels.get(level)
    if threshold is None:
        return ""
    if rule.kind in SECONDS_KINDS and threshold.value is not None:
        return f"{threshold.op} {human_duration(threshold.value)}"
    return threshold.describe()


@functools.lru_cache(maxsize=512)
def _compiled(text: str) -> jinja2.Template:
    return _templates.from_string(text)


def _render_one(text: str, context: dict[str, Any]) -> str:
    """A template bug must not swallow the alert: the message says what went wrong."""
    try:
        return _compiled(text).render(context)
    except (jinja2.TemplateError, TypeError, ValueError) as exc:  # e.g. round(None)
        return f"{text} [template error: {exc}]"
