"""How alerts become messages: grouping, timing, mute windows, inhibition.

``rules/notify.yaml`` holds the knobs the dispatcher (:mod:`monitor.notify.dispatch`)
turns. The defaults are chosen against the three complaints people have about
Alertmanager and Grafana: *repeat fatigue* (repeats back off: 4h, 8h, 16h, …
capped at a day), *noise* (rooms of one building batch into one message;
a critical alert or an offline room mutes the alerts it explains) and
*3 a.m. messages* (per-channel mute windows in the site's own timezone, or in each
building's: ``timezone: building``).

Errors name ``file:line`` — the mark of the YAML node the complaint is about —
because a policy that silently falls back to defaults is how people get paged
at night after a typo.

Matchers (here in ``inhibit``, and in silences) compare an alert's labels —
its rule labels and room tags plus ``rule``, ``room_id``, ``level`` and
``status``, which always win over a tag of the same name — with an exact value,
or with a regular expression when the value starts with ``~`` (anchored at
both ends, as in Alertmanager). A label an alert lacks reads as ``""``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from functools import cache
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
from monitor.rules.model import Alert

MINUTES_PER_DAY = 24 * 60
DEFAULT_PATH = Path("rules/notify.yaml")       # relative to the working directory
RESERVED_LABELS = ("rule", "room_id", "level", "status")
WEEKDAYS: dict[str, int] = {
    "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6,
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
    "saturday": 5, "sunday": 6,
}
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")


PolicyError = ConfigFileErrors       # the name callers catch; ``errors`` holds each mistake


# ---------------------------------------------------------------------------
# Matching, shared with silences


def alert_labels(alert: Alert) -> dict[str, str]:
    """The label set matchers see; the reserved names come from the alert itself."""
    return {**alert.labels, "rule": alert.rule_id, "room_id": alert.room_id,
            "level": alert.level, "status": alert.status}


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def value_matches(pattern: str, value: str) -> bool:
    """Exact, or a full-match regex when ``pattern`` starts with ``~``.

    A regex that does not compile (a hand-edited silences file; loaders refuse
    them) matches nothing rather than raising in the middle of a dispatch cycle.
    """
    if pattern.startswith("~"):
        try:
            return _regex(pattern[1:]).fullmatch(value) is not None
        except re.error:
            return False
    return pattern == value


def labels_match(matchers: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """Every matcher holds (an empty matcher set matches everything)."""
    return all(value_matches(want, labels.get(name, "")) for name, want in matchers.items())


def matcher_errors(matchers: Mapping[str, str]) -> list[str]:
    """Problems with a matcher set, so a bad regex is refused at load time, not at 3 a.m."""
    errors = []
    for name, want in matchers.items():
        if not name:
            errors.append("empty label name")
        if want.startswith("~"):
            try:
                _regex(want[1:])
            except re.error as exc:
                errors.append(f"{name}: bad regular expression {want[1:]!r}: {exc}")
    return errors


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
# The policy


@dataclass(frozen=True)
class Grouping:
    """Timing of one channel's messages; see :mod:`monitor.notify.dispatch` for the rules."""

    group_by: tuple[str, ...] = ("rule", "building")
    group_wait_ns: int = 30 * NS_PER_S
    group_interval_ns: int = 5 * 60 * NS_PER_S
    repeat_interval_ns: int = 4 * 3600 * NS_PER_S
    repeat_backoff: float = 2.0
    max_repeat_interval_ns: int = 24 * 3600 * NS_PER_S
    # An alert no evaluation has mentioned for this long is forgotten without a
    # message (its rule was deleted, or its room removed): it must not repeat forever.
    forget_after_ns: int = 3600 * NS_PER_S

    def repeat_delay_ns(self, repeats: int) -> int:
        """Wait before repeat number ``repeats`` (0 = first): interval * backoff^n, capped."""
        delay = float(self.repeat_interval_ns)
        for _ in range(repeats):
            delay *= self.repeat_backoff
            if delay >= self.max_repeat_interval_ns:
                break
        return min(round(delay), self.max_repeat_interval_ns)


@dataclass(frozen=True)
class TimeRange:
    """Part of a day on some weekdays, read on the window's local clock.

    ``weekdays`` name the day the local clock shows (0 = Monday; empty = every
    day). A range that ends before it starts wraps within each listed day: it
    covers that day's evening *and* its early morning. So ``mon-fri 19:00-07:00``
    mutes every weekday night including Monday 00:00-07:00 — reading it as
    "starting Friday evening, ending Saturday morning" instead would leave the
    Sunday-night-to-Monday hole in the usual nights-and-weekends setup.
    """

    weekdays: frozenset[int] = frozenset()
    start_min: int = 0
    end_min: int = MINUTES_PER_DAY

    def contains(self, local: datetime) -> bool:
        if self.weekdays and local.weekday() not in self.weekdays:
            return False
        minute = local.hour * 60 + local.minute
        if self.start_min < self.end_min:
            return self.start_min <= minute < self.end_min
        return minute >= self.start_min or minute < self.end_min


BUILDING_ZONE = "building"      # ``timezone: building``: the zone of the alerts' buildings


@dataclass(frozen=True)
class MuteWindow:
    """Named local-time windows during which a channel gets nothing.

    ``timezone: building`` reads the window on the clock of each alert's building
    (its city's zone, see :func:`alert_zone`); ``default_timezone`` stands in for
    an alert whose building has no known zone. A group whose alerts are in several
    zones is muted only while the window is active in *every* one of them: a message
    about a building where it is working time is not held back by another's night.
    """

    name: str
    timezone: str
    times: tuple[TimeRange, ...]
    default_timezone: str = "UTC"

    @property
    def per_building(self) -> bool:
        return self.timezone == BUILDING_ZONE

    def active(self, now_ns: int, zones: Iterable[str] = ()) -> bool:
        """Active now; ``zones`` are the zones of the alerts concerned ("" if unknown)."""
        if not self.per_building:
            return self._active_in(self.timezone, now_ns)
        names = {name or self.default_timezone for name in zones} or {self.default_timezone}
        return all(self._active_in(name, now_ns) for name in sorted(names))

    def _active_in(self, timezone: str, now_ns: int) -> bool:
        try:
            tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):   # a registry zone Python does not know
            tz = ZoneInfo(self.default_timezone)
        local = datetime.fromtimestamp(now_ns // NS_PER_S, UTC).astimezone(tz)
        return any(part.contains(local) for part in self.times)


def alert_zone(alert: Alert, building_zones: Mapping[str, str]) -> str:
    """An alert's time zone: its own ``timezone`` label (a rule may set one), else its
    building's from the registry (building → IANA name), else "" (unknown)."""
    labels = alert.labels
    return labels.get("timezone") or building_zones.get(labels.get("building", ""), "")


@dataclass(frozen=True)
class Route:
    """Per-channel settings: its mute windows and its own timing."""

    mute: tuple[str, ...] = ()
    grouping: Grouping | None = None    # None: the global grouping


@dataclass(frozen=True)
class InhibitRule:
    """While a ``source`` alert fires, ``target`` alerts with the same ``equal`` labels are muted.

    An alert never inhibits itself, even when it matches both sides.
    """

    source: dict[str, str]
    target: dict[str, str]
    equal: tuple[str, ...] = ()

    def inhibits(self, source: Mapping[str, str], target: Mapping[str, str]) -> bool:
        return (labels_match(self.source, source) and labels_match(self.target, target)
                and all(source.get(name, "") == target.get(name, "") for name in self.equal))


# A critical alert explains a room's lesser ones (an offline room's flaky display, a
# stuffy room's rising CO2): same room, any rule. An escalation of one rule is a level
# change of one alert, so "same rule" would never mute anything. An offline room
# also explains its silent sensors, and no webhook from Zoom at all explains every
# room's (the fleet-wide rule of rules/webhooks.yaml).
DEFAULT_INHIBIT: tuple[InhibitRule, ...] = (
    InhibitRule({"level": "critical"}, {"level": "warning"}, ("room_id",)),
    InhibitRule({"level": "critical"}, {"level": "info"}, ("room_id",)),
    InhibitRule({"rule": "room-health/room-offline"}, {"status": "no_data"}, ("room_id",)),
    InhibitRule({"rule": "room-health/room-offline"}, {"rule": "~.*-sensor-silent"},
                ("room_id",)),
    InhibitRule({"rule": "webhooks/zoom-silent"}, {"rule": "~.*-sensor-silent"}),
    InhibitRule({"rule": "webhooks/zoom-silent"}, {"status": "no_data"}),
)


@dataclass(frozen=True)
class Heartbeat:
    """A dead man's switch: ``url`` is pinged every ``every_ns`` while evaluation is healthy.

    The outside service (healthchecks.io, Dead Man's Snitch, an Alertmanager
    "Watchdog" receiver) alerts when the pings stop: the one failure an alert
    of our own cannot report is that we no longer evaluate.
    """

    url: str = field(repr=False)          # often carries a token: never printed
    every_ns: int = 60 * NS_PER_S


MIN_HEARTBEAT_NS = NS_PER_S


@dataclass(frozen=True)
class Policy:
    grouping: Grouping = Grouping()
    mute_windows: dict[str, MuteWindow] = field(default_factory=dict)
    routes: dict[str, Route] = field(default_factory=dict)
    inhibit: tuple[InhibitRule, ...] = DEFAULT_INHIBIT
    source: str = ""
    heartbeat: Heartbeat | None = None

    def grouping_for(self, channel: str) -> Grouping:
        route = self.routes.get(channel)
        return route.grouping if route and route.grouping else self.grouping

    def muted(self, channel: str, now_ns: int, zones: Iterable[str] = ()) -> bool:
        """True while any of the channel's mute windows is active; ``zones`` are those of
        the alerts concerned, for ``timezone: building`` windows."""
        route = self.routes.get(channel)
        if route is None:
            return False
        wanted = tuple(zones)
        # Unknown names are refused at load time; skipped here so a hand-built policy
        # cannot stop every notification with a KeyError.
        return any(window.active(now_ns, wanted) for name in route.mute
                   if (window := self.mute_windows.get(name)) is not None)

    @property
    def uses_building_zones(self) -> bool:
        """Whether some mute window needs the buildings' zones (read from InfluxDB)."""
        return any(window.per_building for window in self.mute_windows.values())


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
        raise PolicyError([ConfigFileError(source, line, "", message)
                           for _, line, message in document.problems])
    data = document.data if document.data is not None else {}
    if not isinstance(data, dict):
        raise PolicyError([ConfigFileError(source, 1, "", "expected a mapping at the top level")])
    _expand_heartbeat_url(data, document, source, os.environ if env is None else env)
    try:
        loaded = _PolicySchema().load(data)
    except ValidationError as exc:
        raise PolicyError(_located(exc.messages, document, source)) from None
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
        raise PolicyError([ConfigFileError(source, line, "heartbeat.url", "environment variable "
                                           f"{exc.args[0]} is not set")]) from None
    except ValueError as exc:
        raise PolicyError([ConfigFileError(source, line, "heartbeat.url", str(exc))]) from None


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
