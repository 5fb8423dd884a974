"""Reading ``rules/notify.yaml`` into a :class:`~monitor.notify.policy.Policy`.

Apart from the model because validation is most of the work: marshmallow schemas,
durations (``30s``, ``4h``), clock times (``"07:00"``), weekdays, time zones,
matchers and cross-field checks, each error reported at its place.

Errors name ``file:line`` — the mark of the YAML node the complaint is about —
because a policy that silently falls back to defaults is how people get paged
at night after a typo.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import Schema, ValidationError, validate, validates_schema
from marshmallow import fields as mf

from monitor.core.configfile import (
    ConfigFileError,
    ConfigFileErrors,
    Document,
    dotted,
    expand_env,
    parse_yaml,
    walk_messages,
)
from monitor.core.durations import duration_ns
from monitor.core.timeutil import NS_PER_S
from monitor.notify.inhibit import DEFAULT_INHIBIT, InhibitRule
from monitor.notify.matchers import matcher_errors
from monitor.notify.mute_windows import BUILDING_ZONE, MINUTES_PER_DAY, MuteWindow, TimeRange
from monitor.notify.policy import MIN_HEARTBEAT_NS, Grouping, Heartbeat, Policy, Route

DEFAULT_PATH = Path("rules/notify.yaml")       # relative to the working directory
WEEKDAYS: dict[str, int] = {
    "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6,
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
    "saturday": 5, "sunday": 6,
}
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")




# ---------------------------------------------------------------------------
# Durations and clock times


def parse_duration_ns(text: str | int | float) -> int:
    """``30s``, ``5m``, ``4h``, ``1d``, ``1h30m``; a bare number is seconds, a bare string not."""
    if isinstance(text, bool):
        raise ValueError(f"not a duration: {text!r}")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError(f"negative duration: {text!r}")
        return round(text * NS_PER_S)
    return duration_ns(text)


def parse_clock(text: str, *, end: bool = False) -> int:
    """``HH:MM`` as minutes after midnight; ``24:00`` only as an end."""
    match = _CLOCK.fullmatch(text.strip())
    if not match:
        raise ValueError(f"not a time of day: {text!r} (use HH:MM)")
    minutes = int(match.group(1)) * 60 + int(match.group(2))
    limit = MINUTES_PER_DAY if end else MINUTES_PER_DAY - 1
    if int(match.group(2)) > 59 or minutes > limit:
        raise ValueError(f"not a time of day: {text!r}")
    return minutes



# ---------------------------------------------------------------------------
# Loading


def load_policy(path: Path, env: Mapping[str, str] | None = None) -> Policy:
    """The policy in ``path``; the defaults when there is no such file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Policy(source=str(path))
    return parse_policy(text, str(path), env)


def parse_policy(text: str, source: str = "notify.yaml",
                 env: Mapping[str, str] | None = None) -> Policy:
    """``env`` (default: the process environment) fills ``${NAME}`` in the heartbeat URL."""
    document = parse_yaml(text)
    if document.problems:
        raise ConfigFileErrors([ConfigFileError(source, line, "", message)
                           for _, line, message in document.problems])
    data = document.data if document.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigFileErrors([ConfigFileError(source, 1, "",
                                                "expected a mapping at the top level")])
    _expand_heartbeat_url(data, document, source, os.environ if env is None else env)
    try:
        loaded = _PolicySchema().load(data)
    except ValidationError as exc:
        raise ConfigFileErrors(_located(exc.messages, document, source)) from None
    return _build(loaded, source)


def _expand_heartbeat_url(data: dict[str, Any], document: Document, source: str,
                          env: Mapping[str, str]) -> None:
    """The ping URL may hold a token, so it may come from the environment, as channels do.

    Only this value: a matcher or a time zone holding ``$`` means the character.
    """
    heartbeat = data.get("heartbeat")
    url = heartbeat.get("url") if isinstance(heartbeat, dict) else None
    if not isinstance(heartbeat, dict) or not isinstance(url, str) or "$" not in url:
        return
    line = document.value_line(("heartbeat", "url")) or 1
    try:
        heartbeat["url"] = expand_env(url, env)
    except KeyError as exc:
        raise ConfigFileErrors([ConfigFileError(
            source, line, "heartbeat.url", f"environment variable {exc.args[0]} is not set",
        )]) from None
    except ValueError as exc:
        raise ConfigFileErrors([ConfigFileError(source, line, "heartbeat.url", str(exc))]) from None


def _located(messages: Any, document: Document, source: str) -> list[ConfigFileError]:
    """marshmallow's nested messages at the line where each value (or its parent) starts."""
    return [ConfigFileError(source, document.value_line(path) or 1, dotted(path) or "(top)",
                            message)
            for path, message in walk_messages(messages, dict_steps=True)]


# marshmallow fields and schemas: validation and coercion only; _build makes dataclasses.


class _Duration(mf.Field[int]):
    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> int:
        if not isinstance(value, str | int | float):
            raise ValidationError("not a duration (use e.g. 30s, 5m, 4h)")
        try:
            return parse_duration_ns(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class _Clock(mf.Field[int]):
    def __init__(self, *, end: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.end = end

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> int:
        if not isinstance(value, str):
            raise ValidationError('a time of day as a quoted string, e.g. "07:00"')
        try:
            return parse_clock(value, end=self.end)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class _Weekday(mf.Field[int]):
    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> int:
        day = WEEKDAYS.get(str(value).strip().lower())
        if day is None:
            raise ValidationError(f"not a weekday: {value!r} (mon, tue, … sun)")
        return day


class _LabelValue(mf.Field[str]):
    """A matcher value; YAML numbers are fine (``building: 12``)."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValidationError("a label value must be a string")
        return str(value)


def _check_window_timezone(name: str) -> None:
    if name != BUILDING_ZONE:
        _check_timezone(name)


def _check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"unknown timezone {name!r} (use e.g. Europe/Berlin)") from None


def _check_matchers(matchers: Mapping[str, str]) -> None:
    errors = matcher_errors(matchers)
    if errors:
        raise ValidationError(errors)


def _matchers(*, required: bool) -> mf.Dict:
    return mf.Dict(keys=mf.String(), values=_LabelValue(), required=required,
                   validate=[validate.Length(min=1), _check_matchers])


class _GroupingSchema(Schema):
    group_by = mf.List(mf.String(validate=validate.Length(min=1)))
    group_wait = _Duration()
    group_interval = _Duration()
    repeat_interval = _Duration()
    repeat_backoff = mf.Float(validate=validate.Range(min=1.0))
    max_repeat_interval = _Duration()
    forget_after = _Duration()


class _RouteSchema(_GroupingSchema):
    mute = mf.List(mf.String())


class _TimeRangeSchema(Schema):
    weekdays = mf.List(_Weekday())
    start = _Clock()
    end = _Clock(end=True)

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("start", 0) == data.get("end", MINUTES_PER_DAY):
            raise ValidationError("start equals end; omit both for the whole day")


class _MuteWindowSchema(Schema):
    timezone = mf.String(required=True, validate=_check_window_timezone)
    default_timezone = mf.String(validate=_check_timezone)
    times = mf.List(mf.Nested(_TimeRangeSchema), required=True, validate=validate.Length(min=1))


class _InhibitSchema(Schema):
    source = _matchers(required=True)
    target = _matchers(required=True)
    equal = mf.List(mf.String(validate=validate.Length(min=1)), load_default=list)


class _HeartbeatSchema(Schema):
    url = mf.Url(required=True, schemes={"http", "https"}, require_tld=False,
                 error_messages={"invalid": "must be an http(s) URL"})
    every = _Duration(load_default=60 * NS_PER_S)

    @validates_schema
    def _often_enough(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("every", MIN_HEARTBEAT_NS) < MIN_HEARTBEAT_NS:
            raise ValidationError("must be at least 1s", "every")


class _PolicySchema(Schema):
    grouping = mf.Nested(_GroupingSchema, allow_none=True)
    heartbeat = mf.Nested(_HeartbeatSchema, allow_none=True)
    mute_windows = mf.Dict(keys=mf.String(validate=validate.Length(min=1)),
                           values=mf.Nested(_MuteWindowSchema), allow_none=True)
    routes = mf.Dict(keys=mf.String(validate=validate.Length(min=1)),
                     values=mf.Nested(_RouteSchema), allow_none=True)
    inhibit = mf.List(mf.Nested(_InhibitSchema), allow_none=True)

    @validates_schema
    def _consistent(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Cross-field checks, reported at the route or section they concern."""
        errors: dict[str, Any] = {}
        base = _grouping(data.get("grouping") or {}, Grouping())
        if problems := grouping_errors(base):
            errors["grouping"] = {"_schema": problems}
        windows = data.get("mute_windows") or {}
        route_errors: dict[str, Any] = {}
        for name, route in (data.get("routes") or {}).items():
            problems = grouping_errors(_grouping(route, base))
            problems += [f"unknown mute window {window!r}" for window in route.get("mute", [])
                         if window not in windows]
            if problems:
                route_errors[name] = {"value": {"_schema": problems}}
        if route_errors:
            errors["routes"] = route_errors
        if errors:
            raise ValidationError(errors)


def grouping_errors(grouping: Grouping) -> list[str]:
    """Timing settings that contradict each other."""
    errors = []
    if grouping.group_interval_ns <= 0:
        errors.append("group_interval must be positive")
    if grouping.repeat_interval_ns <= 0:
        errors.append("repeat_interval must be positive")
    if grouping.max_repeat_interval_ns < grouping.repeat_interval_ns:
        errors.append("max_repeat_interval is shorter than repeat_interval")
    if grouping.forget_after_ns <= 0:
        errors.append("forget_after must be positive")
    return errors


_GROUPING_KEYS = {f.name.removesuffix("_ns"): f.name for f in fields(Grouping)}


def _grouping(data: Mapping[str, Any], base: Grouping) -> Grouping:
    changes: dict[str, Any] = {attr: data[key] for key, attr in _GROUPING_KEYS.items()
                               if key in data}
    if "group_by" in changes:
        changes["group_by"] = tuple(changes["group_by"])
    return replace(base, **changes) if changes else base


def _build(data: Mapping[str, Any], source: str) -> Policy:
    grouping = _grouping(data.get("grouping") or {}, Grouping())
    windows = {name: _window(name, window)
               for name, window in (data.get("mute_windows") or {}).items()}
    routes = {name: _route(route, grouping) for name, route in (data.get("routes") or {}).items()}
    inhibit = DEFAULT_INHIBIT if data.get("inhibit") is None else tuple(
        InhibitRule(dict(rule["source"]), dict(rule["target"]), tuple(rule["equal"]))
        for rule in data["inhibit"])
    beat = data.get("heartbeat")
    heartbeat = Heartbeat(beat["url"], beat["every"]) if beat else None
    return Policy(grouping, windows, routes, inhibit, source, heartbeat)


def _window(name: str, data: Mapping[str, Any]) -> MuteWindow:
    times = tuple(TimeRange(frozenset(part.get("weekdays", ())), part.get("start", 0),
                            part.get("end", MINUTES_PER_DAY)) for part in data["times"])
    return MuteWindow(name, data["timezone"], times, data.get("default_timezone") or "UTC")


def _route(data: Mapping[str, Any], base: Grouping) -> Route:
    own = _grouping(data, base)
    return Route(tuple(data.get("mute", ())), None if own is base else own)
