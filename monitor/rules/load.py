"""Rule files (YAML) into :class:`~monitor.rules.model.Group`, every mistake located.

A rule file is edited by hand and checked by ``zrmon rules check`` before it
is deployed, so an error is only worth something if it names the file, the
line and the key to fix -- and if all of a file's mistakes come out in one
run instead of one per edit. Hence three steps, each with one job:

1. :func:`monitor.core.configfile.parse_yaml` turns the file into plain data plus a
   map from key path to line, noting YAML-level problems (duplicate keys).
2. marshmallow schemas, one per concept (group, rule, level threshold,
   no_data, incident match), validate the plain data. Their nested error
   messages are keyed by the same paths, so each one finds its line.
3. Small builders turn the validated data into the frozen model dataclasses.

Unknown keys are errors (with a suggestion): a typo such as ``thresold``
must never be silently ignored and leave a rule that never fires.
"""

from __future__ import annotations

import difflib
import itertools
import math
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, cast

import jinja2
import jinja2.meta
from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validates_schema
from marshmallow.validate import Length, OneOf, Range, Regexp

from monitor.core.configfile import (
    ConfigFileError,
    ConfigFileErrors,
    dotted,
    parse_yaml,
    walk_messages,
)
from monitor.core.durations import seconds_or_duration
from monitor.datamodel.vocabulary import SENSOR_TYPES
from monitor.rules.model import (
    LEVELS,
    RECEIVER_FIELDS,
    Aggregate,
    Group,
    IncidentMatch,
    Kind,
    NoData,
    Rule,
    Threshold,
)

__all__ = [
    "TEMPLATE_VARIABLES",
    "ParsedFile",
    "RuleFileError",
    "RuleFileErrors",
    "load_dir",
    "load_file",
    "parse_dir",
    "parse_duration",
    "parse_file",
    "rule_files",
    "template_environment",
    "template_problem",
    "unknown_template_names",
]

FieldPath = tuple[Any, ...]          # keys and list indexes from the document root
Op = Literal["above", "below", "outside", "inside"]

NAME_PATTERN = r"^[a-z0-9_-]+$"
# Configuration that lives beside the rules but is not a rule group: notification
# channels (monitor.notify.channels.loader), policy (monitor.notify.policy) and scheduled
# reports (monitor.reports.schedule).
CONFIG_FILES = frozenset({"channels.yaml", "channels.yml", "notify.yaml", "notify.yml",
                          "reports.yaml", "reports.yml"})
AGGREGATES = ("mean", "max", "min", "last", "p95", "count")
NO_DATA_STATES = ("no_data", "keep", "ok")
COMPARISONS: tuple[Op, ...] = ("above", "below", "outside", "inside")
RESOLVE_KEY: dict[Op, str] = {"above": "resolve_below", "below": "resolve_above",
                              "outside": "resolve_inside", "inside": "resolve_outside"}
# The key that says what a rule measures, and the model's name for that kind.
KIND_KEYS: dict[str, Kind] = {"sensor": "threshold", "rate": "rate",
                              "incident": "incident", "silent": "no_data"}
VALUE_OF = {"sensor": "an aggregate of the sensor over the window",
            "rate": "last - first of the sensor within the window",
            "incident": "the seconds an incident has been open",
            "silent": "the seconds since the last reading"}
# Tags a ``where:`` may filter on, per measurement (docs/data-model.md). The
# measured tags themselves (sensor_type, alert_type, component) come from the
# rule's sensor/incident keys instead.
SENSOR_TAGS = ("account_id", "room_id", "room_name", "device_id", "building", "floor")
INCIDENT_TAGS = ("account_id", "room_id", "alert_name", "component_name", "building", "floor")

# What an annotation template may use besides the rule's own label names: the
# context :func:`monitor.rules.evaluate.render` passes. It renders leniently
# (an unknown name becomes ""), so the loader refuses a misspelt name up front
# instead of letting it vanish from every message.
TEMPLATE_VARIABLES: dict[str, str] = {
    "value": "the rule's value for the room (number)",
    "threshold": "the level's condition as text, e.g. 'above 1000'",
    "level": "info / warning / critical",
    "since": "how long it has been pending, firing or silent, e.g. '12m'",
    "room_id": "Zoom Room id",
    "room_name": "Zoom Room name",
    "building": "building tag of the room, when known",
    "floor": "floor tag of the room, when known",
    "labels": "rule labels and room tags (mapping)",
}

# marshmallow's stock messages, said the way a rule author reads them.
_FRIENDLY = {
    "Missing data for required field.": "required key is missing",
    "Field may not be null.": "must have a value",
    "Not a valid string.": "must be a string",
    "Not a valid integer.": "must be an integer",
    "Not a valid list.": "must be a list",
}


RuleFileError = ConfigFileError      # the names rule-file callers catch
RuleFileErrors = ConfigFileErrors


# ---------------------------------------------------------------- durations

def parse_duration(text: str | float) -> float:
    """Seconds from ``30s``, ``10m``, ``2h``, ``1d``, ``1h30m``; plain numbers are seconds.

    The grammar is :mod:`monitor.core.durations`'s, shared with every other file
    and flag; the name stays because rule-file code and tests read it so.
    """
    return seconds_or_duration(text)


def _is_duration_text(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse_duration(value)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------- templates

@lru_cache(maxsize=1)
def template_environment() -> jinja2.Environment:
    """The environment annotations are compiled with; the notifier should render with it."""
    return jinja2.Environment(undefined=jinja2.StrictUndefined)


def template_problem(text: str) -> str | None:
    """Why ``text`` does not compile as a template, or None."""
    try:
        template_environment().from_string(text)     # compiling also finds unknown filters
    except jinja2.TemplateSyntaxError as exc:
        where = f" (template line {exc.lineno})" if exc.lineno > 1 else ""
        return f"template error: {exc.message}{where}"
    return None


def unknown_template_names(text: str, labels: Collection[str]) -> list[str]:
    """Names a compilable template uses that rendering will not provide."""
    env = template_environment()
    used = jinja2.meta.find_undeclared_variables(env.parse(text))
    return sorted(used - TEMPLATE_VARIABLES.keys() - env.globals.keys() - set(labels))


# ---------------------------------------------------------------- fields

class Duration(fields.Field[float]):
    """Seconds, from ``10m``-style text or a plain number."""

    def __init__(self, *, positive: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.positive = positive

    def _deserialize(self, value: Any, attr: str | None,
                     data: Mapping[str, Any] | None, **kwargs: Any) -> float:
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc
        if self.positive and seconds <= 0:
            raise ValidationError("must be longer than 0s")
        return seconds


class Bound(fields.Field[float]):
    """A threshold: a number, or a duration (incident and silent rules measure seconds)."""

    def _deserialize(self, value: Any, attr: str | None,
                     data: Mapping[str, Any] | None, **kwargs: Any) -> float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise ValidationError("must be a finite number")
            return float(value)
        if isinstance(value, str):
            try:
                return parse_duration(value)
            except ValueError as exc:
                raise ValidationError(f"must be a number or a duration ({exc})") from exc
        raise ValidationError("must be a number")


class Band(fields.Field[tuple[float, float]]):
    """``[low, high]`` with low < high, for outside / inside."""

    def _deserialize(self, value: Any, attr: str | None,
                     data: Mapping[str, Any] | None, **kwargs: Any) -> tuple[float, float]:
        if not isinstance(value, list) or len(value) != 2:
            raise ValidationError("must be a pair [low, high]")
        bounds: list[float] = []
        errors: dict[int, Any] = {}
        for index, item in enumerate(value):
            try:
                bounds.append(Bound().deserialize(item))
            except ValidationError as exc:
                errors[index] = exc.messages
        if errors:
            raise ValidationError(errors)
        low, high = bounds
        if low >= high:
            raise ValidationError(f"low ({low:g}) must be below high ({high:g})")
        return low, high


class StrMap(fields.Field[dict[str, str]]):
    """name → non-empty string; numbers are refused, not coerced (``03`` would become 3)."""

    _KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

    def _deserialize(self, value: Any, attr: str | None,
                     data: Mapping[str, Any] | None, **kwargs: Any) -> dict[str, str]:
        if not isinstance(value, Mapping):
            raise ValidationError("must be a mapping")
        out: dict[str, str] = {}
        errors: dict[Any, list[str]] = {}
        for key, item in value.items():
            problem = self.problem(key, item)
            if problem is None:
                out[key] = item
            else:
                errors[key] = [problem]
        if errors:
            raise ValidationError(errors)
        return out

    def problem(self, key: Any, item: Any) -> str | None:
        if not isinstance(key, str) or not self._KEY.fullmatch(key):
            return "keys are names such as team or runbook_url"
        if not isinstance(item, str) or not item:
            return "must be a non-empty string (quote numbers)"
        return None


class Templates(StrMap):
    """Annotations: each value must compile as a jinja2 template."""

    def problem(self, key: Any, item: Any) -> str | None:
        return super().problem(key, item) or template_problem(item)


def _sensor_name(**kwargs: Any) -> fields.Str:
    # Zoom adds sensor types over time, so the list is not enforced; the case
    # is, because the stored tag is Zoom's upper-case name and `co2` would
    # match nothing.
    return fields.Str(validate=Regexp(r"^[A-Z0-9_]+$", error=(
        f"must be a Zoom sensor type in upper case, e.g. {', '.join(SENSOR_TYPES)}")), **kwargs)


def _name(**kwargs: Any) -> fields.Str:
    return fields.Str(validate=Regexp(NAME_PATTERN, error="must match [a-z0-9_-]+"), **kwargs)


# ---------------------------------------------------------------- schemas

class _Messages:
    """Nested marshmallow-style messages built from paths, raised once."""

    def __init__(self) -> None:
        self.tree: dict[Any, Any] = {}

    def add(self, path: FieldPath, message: str) -> None:
        node = self.tree
        for key in path:
            node = node.setdefault(key, {})
        node.setdefault("_schema", []).append(message)

    def raise_if_any(self) -> None:
        if self.tree:
            raise ValidationError(self.tree)


class _Strict(Schema):
    """Refuses unknown keys itself, so that the message can suggest the key meant."""

    class Meta:
        unknown = EXCLUDE

    error_messages = {"type": "must be a mapping"}  # noqa: RUF012 -- marshmallow merges it

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _known_keys(self, data: Any, original: Any, **kwargs: Any) -> None:
        if not isinstance(original, Mapping):
            return
        known = [spec.data_key or name for name, spec in self.load_fields.items()]
        errors = _Messages()
        for key in original:
            if key not in known:
                errors.add((key,), _unknown_key(key, known))
        errors.raise_if_any()


def _unknown_key(key: Any, known: list[str]) -> str:
    close = difflib.get_close_matches(str(key), known, n=1)
    if close:
        return f"unknown key; did you mean {close[0]!r}?"
    return f"unknown key (expected one of: {', '.join(known)})"


class ThresholdSchema(_Strict):
    """One level: exactly one comparison, with its matching resolve bound if any."""

    above = Bound()
    below = Bound()
    outside = Band()
    inside = Band()
    resolve_below = Bound()
    resolve_above = Bound()
    resolve_inside = Band()
    resolve_outside = Band()

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _one_comparison(self, data: Any, original: Any, **kwargs: Any) -> None:
        if not isinstance(original, Mapping):
            return
        errors = _Messages()
        ops = [op for op in COMPARISONS if op in original]
        if not ops:
            errors.add((), "needs one of above, below, outside, inside")
        for extra in ops[1:]:
            errors.add((extra,), f"only one comparison per level (this one already has {ops[0]})")
        for op, resolve in RESOLVE_KEY.items():
            if resolve in original and ops and ops[0] != op:
                errors.add((resolve,), f"{resolve} goes with {op}, but this level uses {ops[0]}")
        errors.raise_if_any()

    @validates_schema
    def _resolve_within(self, data: Any, **kwargs: Any) -> None:
        ops = [op for op in COMPARISONS if op in data]
        if len(ops) != 1 or RESOLVE_KEY[ops[0]] not in data:
            return
        op = ops[0]
        problem = _resolve_problem(op, data[op], data[RESOLVE_KEY[op]])
        if problem:
            raise ValidationError({RESOLVE_KEY[op]: [problem]})

    @post_load
    def _build(self, data: dict[str, Any], **kwargs: Any) -> Threshold:
        op = next(op for op in COMPARISONS if op in data)
        resolve = data.get(RESOLVE_KEY[op])
        if op in ("above", "below"):
            return Threshold(op, value=data[op], resolve=resolve)
        low, high = data[op]
        resolve_low, resolve_high = resolve if resolve is not None else (None, None)
        return Threshold(op, low=low, high=high, resolve_low=resolve_low, resolve_high=resolve_high)


def _resolve_problem(op: Op, bound: Any, resolve: Any) -> str | None:
    """Hysteresis must sit on the safe side of the trigger, or the alert would flap."""
    if op == "above":
        return None if resolve < bound else f"must be below {bound:g} (the above threshold)"
    if op == "below":
        return None if resolve > bound else f"must be above {bound:g} (the below threshold)"
    (low, high), (r_low, r_high) = bound, resolve
    if op == "outside" and not low <= r_low <= r_high <= high:
        return f"must lie within the outside band [{low:g}, {high:g}]"
    if op == "inside" and not (r_low <= low and high <= r_high):
        return f"must contain the inside band [{low:g}, {high:g}]"
    return None


class LevelsSchema(_Strict):
    """info / warning / critical, ordered so that a worse value means a worse level."""

    info = fields.Nested(ThresholdSchema)
    warning = fields.Nested(ThresholdSchema)
    critical = fields.Nested(ThresholdSchema)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _some_level(self, data: Any, original: Any, **kwargs: Any) -> None:
        if isinstance(original, Mapping) and not any(level in original for level in LEVELS):
            raise ValidationError(f"needs at least one of {', '.join(LEVELS)}")

    @validates_schema
    def _ordered(self, data: Any, **kwargs: Any) -> None:
        present = [(level, data[level]) for level in LEVELS if level in data]
        errors = _Messages()
        for (lower, low), (higher, high) in itertools.pairwise(present):
            problem = _order_problem(lower, low, higher, high)
            if problem:
                errors.add((higher, high.op), problem)
        errors.raise_if_any()


def _order_problem(lower: str, low: Threshold, higher: str, high: Threshold) -> str | None:
    if low.op != high.op:
        return (f"{higher} uses {high.op} but {lower} uses {low.op}: "
                "all levels of a rule must compare the same way")
    if high.op in ("above", "below"):
        a, b = _num(high.value), _num(low.value)
        if (a > b) if high.op == "above" else (a < b):
            return None
        return (f"{higher} must be {high.op} the {lower} threshold "
                f"({a:g} is not {'>' if high.op == 'above' else '<'} {b:g})")
    wide, narrow = (high, low) if high.op == "outside" else (low, high)
    if (_num(wide.low) <= _num(narrow.low) and _num(narrow.high) <= _num(wide.high)
            and (wide.low, wide.high) != (narrow.low, narrow.high)):
        return None
    if high.op == "outside":
        return f"{higher} band must be wider than (contain) the {lower} band {low.describe()}"
    return f"{higher} band must be narrower than (lie within) the {lower} band {low.describe()}"


def _num(value: float | None) -> float:
    return value if value is not None else math.nan


class NoDataSchema(_Strict):
    after = Duration(positive=True, required=True)
    state = fields.Str(load_default="no_data", validate=OneOf(NO_DATA_STATES))

    @post_load
    def _build(self, data: dict[str, Any], **kwargs: Any) -> NoData:
        return NoData(after_s=data["after"], state=data["state"])


class IncidentMatchSchema(_Strict):
    alert_type = fields.Int(strict=True, validate=Range(min=0))
    component = fields.Int(strict=True, validate=Range(min=0))

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _some_code(self, data: Any, original: Any, **kwargs: Any) -> None:
        if isinstance(original, Mapping) and not ({"alert_type", "component"} & original.keys()):
            raise ValidationError("needs alert_type and/or component (Zoom's codes)")

    @post_load
    def _build(self, data: dict[str, Any], **kwargs: Any) -> IncidentMatch:
        return IncidentMatch(alert_type=data.get("alert_type"), component=data.get("component"))


class SourceSchema(_Strict):
    """What a rate or silent rule watches: a room sensor, or a counter of the receiver.

    ``receiver: deliveries`` / ``receiver: signature_failures`` read the
    receiver's own per-interval counts (measurement ``zrmon_receiver``): one
    value for the whole account, so the rule raises one alert, not one per room.
    """

    sensor = _sensor_name()
    receiver = fields.Str(validate=OneOf(RECEIVER_FIELDS, error=(
        f"must be one of {', '.join(RECEIVER_FIELDS)} (the receiver's counters)")))

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _one_source(self, data: Any, original: Any, **kwargs: Any) -> None:
        if not isinstance(original, Mapping):
            return
        found = [key for key in ("sensor", "receiver") if key in original]
        if not found:
            raise ValidationError("needs sensor (a Zoom sensor type) or receiver "
                                  f"({', '.join(RECEIVER_FIELDS)})")
        if len(found) > 1:
            raise ValidationError({"receiver": ["only one of sensor, receiver"]})


class RuleSchema(_Strict):
    name = _name(required=True)
    sensor = _sensor_name()
    rate = fields.Nested(SourceSchema)
    incident = fields.Nested(IncidentMatchSchema)
    silent = fields.Nested(SourceSchema)
    aggregate = fields.Str(load_default="mean", validate=OneOf(AGGREGATES))
    window = Duration(positive=True, load_default=600.0)
    levels = fields.Nested(LevelsSchema, required=True)
    for_ = Duration(data_key="for", load_default=0.0)
    keep_firing_for = Duration(load_default=0.0)
    no_data = fields.Nested(NoDataSchema)
    where = StrMap(load_default=dict)
    labels = StrMap(load_default=dict)
    annotations = Templates(load_default=dict)
    notify = fields.List(fields.Str(validate=Length(min=1)), load_default=list)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _kind_fits(self, data: Any, original: Any, **kwargs: Any) -> None:
        if not isinstance(original, Mapping):
            return
        errors = _Messages()
        kinds = [key for key in KIND_KEYS if key in original]
        if not kinds:
            errors.add((), "needs one of sensor, rate, incident, silent (what the rule measures)")
        for extra in kinds[1:]:
            errors.add((extra,), f"only one of sensor, rate, incident, silent per rule "
                                 f"(this one already has {kinds[0]})")
        if len(kinds) == 1:
            _kind_options(kinds[0], data, original, errors)
        errors.raise_if_any()

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _template_names(self, data: Any, original: Any, **kwargs: Any) -> None:
        annotations = original.get("annotations") if isinstance(original, Mapping) else None
        if not isinstance(annotations, Mapping):
            return
        labels = original.get("labels")
        names = [str(key) for key in labels] if isinstance(labels, Mapping) else []
        errors = _Messages()
        for key, text in annotations.items():
            if isinstance(text, str) and template_problem(text) is None:
                unknown = unknown_template_names(text, names)
                if unknown:
                    errors.add(("annotations", key), (
                        f"unknown template variable {', '.join(unknown)} "
                        f"(known: {', '.join(TEMPLATE_VARIABLES)} and the rule's labels)"))
        errors.raise_if_any()


def _kind_options(kind: str, data: Mapping[str, Any], original: Mapping[str, Any],
                  errors: _Messages) -> None:
    """The keys whose meaning depends on what the rule measures."""
    if "aggregate" in original and kind != "sensor":
        errors.add(("aggregate",), f"only sensor rules aggregate; the value of {kind} rules "
                                   f"is {VALUE_OF[kind]}")
    if "no_data" in original and kind in ("incident", "silent"):
        errors.add(("no_data",), f"does not apply to {kind} rules, whose value is "
                                 f"{VALUE_OF[kind]}")
    tags: tuple[str, ...] = INCIDENT_TAGS if kind == "incident" else SENSOR_TAGS
    source = original.get(kind)
    if isinstance(source, Mapping) and "receiver" in source:
        tags = ()        # the receiver's counters have no tags: one account-wide series
    for tag in data.get("where", {}):
        if tag not in tags:
            if not tags:
                errors.add(("where", tag), "receiver counters have no tags to filter on")
                continue
            hint = " (match codes under incident:)" if tag in ("alert_type", "component") else ""
            errors.add(("where", tag), f"not a tag this rule can filter on{hint}; "
                                       f"use {', '.join(tags)}")
    if kind in ("sensor", "rate"):
        for path, text in _duration_bounds(original.get("levels")):
            errors.add(("levels", *path), f"{text!r} is a duration; a {kind} rule compares "
                                          "numbers (durations are for incident and silent rules)")


def _duration_bounds(levels: Any) -> Iterator[tuple[FieldPath, str]]:
    if not isinstance(levels, Mapping):
        return
    for level, spec in levels.items():
        if not isinstance(spec, Mapping):
            continue
        for key, value in spec.items():
            items = enumerate(value) if isinstance(value, list) else [(None, value)]
            for index, item in items:
                if _is_duration_text(item):
                    yield ((level, key) if index is None else (level, key, index)), item


class GroupSchema(_Strict):
    group = _name(required=True)
    interval = Duration(positive=True, load_default=60.0)
    rules = fields.List(fields.Nested(RuleSchema), required=True)


# ---------------------------------------------------------------- loading

@dataclass(frozen=True)
class ParsedFile:
    """A rule file as far as it could be read: data, lines, errors, and the group if clean.

    ``zrmon rules check`` needs more than a Group: it checks ``notify`` names
    against the channels, at their lines, even in a file with other errors.
    """

    path: Path
    data: Any                              # the plain YAML data (None if unreadable)
    lines: Mapping[FieldPath, int]         # key path → 1-based line of the key / list item
    group: Group | None                    # None when there are errors
    errors: tuple[RuleFileError, ...]

    def line(self, path: FieldPath) -> int:
        """The line of the deepest key along ``path`` that exists."""
        for depth in range(len(path), -1, -1):
            if path[:depth] in self.lines:
                return self.lines[path[:depth]]
        return 1

    def error(self, path: FieldPath, message: str) -> RuleFileError:
        return RuleFileError(str(self.path), self.line(path), dotted(path), message)


def parse_file(path: Path) -> ParsedFile:
    """Read one rule file, collecting every error instead of stopping at the first."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return _unreadable(path, f"cannot read: {getattr(exc, 'strerror', None) or exc}")
    document = parse_yaml(text)
    if document.data is None and document.problems:
        _, line, message = document.problems[0]
        return _unreadable(path, message, line)
    data = document.data if document.data is not None else {}
    lines = {**document.lines, (): document.lines.get((), 1)}
    parsed = ParsedFile(path, data, lines, None, ())
    errors = document.errors(path)
    valid, schema_errors = _validate(parsed)
    # A value YAML could not construct is None to the schema: one error for it is enough.
    errors += [error for error in schema_errors if error.field not in document.failed]
    errors += _duplicate_rule_names(parsed)
    if errors:
        return replace(parsed, errors=tuple(sorted(errors, key=_order)))
    return replace(parsed, group=_build_group(parsed, valid))


def _unreadable(path: Path, message: str, line: int = 0) -> ParsedFile:
    return ParsedFile(path, None, {}, None, (RuleFileError(str(path), line, "", message),))


def _order(error: RuleFileError) -> tuple[int, str]:
    return error.line, error.field


def _validate(parsed: ParsedFile) -> tuple[dict[str, Any], list[RuleFileError]]:
    try:
        return GroupSchema().load(parsed.data), []
    except ValidationError as exc:
        return {}, [parsed.error(path, _FRIENDLY.get(message, message))
                    for path, message in walk_messages(exc.messages)]


def _duplicate_rule_names(parsed: ParsedFile) -> list[RuleFileError]:
    """Checked on the raw data, so that it is reported even when a rule has other errors."""
    rules = parsed.data.get("rules") if isinstance(parsed.data, Mapping) else None
    if not isinstance(rules, list):
        return []
    first: dict[str, int] = {}
    errors = []
    for index, rule in enumerate(rules):
        name = rule.get("name") if isinstance(rule, Mapping) else None
        if not isinstance(name, str):
            continue
        where = ("rules", index, "name")
        if name in first:
            errors.append(parsed.error(where, f"duplicate rule name {name!r} "
                                              f"(first at line {first[name]})"))
        else:
            first[name] = parsed.line(where)
    return errors


def _build_group(parsed: ParsedFile, data: dict[str, Any]) -> Group:
    name = data["group"]
    rules = tuple(_build_rule(name, rule, f"{parsed.path}:{parsed.line(('rules', index))}")
                  for index, rule in enumerate(data["rules"]))
    return Group(name=name, interval_s=data["interval"], rules=rules,
                 source=f"{parsed.path}:{parsed.line(('group',))}")


def _build_rule(group: str, data: dict[str, Any], source: str) -> Rule:
    key = next(key for key in KIND_KEYS if key in data)
    sensor = data["sensor"] if key == "sensor" else None
    receiver = None
    if key in ("rate", "silent"):
        sensor, receiver = data[key].get("sensor"), data[key].get("receiver")
    levels = data["levels"]
    return Rule(
        group=group,
        name=data["name"],
        kind=KIND_KEYS[key],
        levels={level: levels[level] for level in LEVELS if level in levels},
        sensor=sensor,
        receiver=receiver,
        incident=data.get("incident"),
        aggregate=cast(Aggregate, data["aggregate"]),
        window_s=data["window"],
        for_s=data["for_"],
        keep_firing_for_s=data["keep_firing_for"],
        no_data=data.get("no_data"),
        where=dict(data["where"]),
        labels=dict(data["labels"]),
        annotations=dict(data["annotations"]),
        notify=tuple(data["notify"]),
        source=source,
    )


def load_file(path: Path) -> Group:
    """One rule file as a Group; :class:`RuleFileErrors` lists everything wrong with it."""
    parsed = parse_file(path)
    if parsed.errors or parsed.group is None:
        raise RuleFileErrors(list(parsed.errors))
    return parsed.group


def rule_files(directory: Path) -> list[Path]:
    """``*.yaml`` / ``*.yml`` under ``directory``: not the channels or notify policy files,
    nothing under a ``tests/`` folder (rule unit tests), nothing hidden."""
    found = []
    for path in sorted(directory.rglob("*")):
        parts = path.relative_to(directory).parts
        if (path.suffix in (".yaml", ".yml") and path.name not in CONFIG_FILES
                and "tests" not in parts[:-1] and not any(p.startswith(".") for p in parts)
                and path.is_file()):
            found.append(path)
    return found


def parse_dir(directory: Path) -> list[ParsedFile]:
    """Every rule file of a directory; a group name used twice is an error in the later file."""
    if not directory.is_dir():
        reason = "not a directory" if directory.exists() else "no such file or directory"
        return [_unreadable(directory, reason)]
    first: dict[str, str] = {}
    out = []
    for parsed in (parse_file(path) for path in rule_files(directory)):
        name = parsed.data.get("group") if isinstance(parsed.data, Mapping) else None
        if not isinstance(name, str):
            out.append(parsed)
        elif name in first:
            clash = parsed.error(("group",), f"group {name!r} is already defined in {first[name]}")
            out.append(replace(parsed, group=None,
                               errors=tuple(sorted((*parsed.errors, clash), key=_order))))
        else:
            first[name] = f"{parsed.path}:{parsed.line(('group',))}"
            out.append(parsed)
    return out


def load_dir(directory: Path) -> list[Group]:
    """All groups of a rules directory; :class:`RuleFileErrors` lists every file's errors."""
    parsed = parse_dir(directory)
    errors = [error for one in parsed for error in one.errors]
    if errors:
        raise RuleFileErrors(errors)
    return [one.group for one in parsed if one.group is not None]
