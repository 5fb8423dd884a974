"""Validation of Zoom Rooms webhook bodies.

Policy: strict about what storage needs (ids, numeric values, times), lenient
about the rest. Zoom's documentation is loose -- the seed's own examples use
``""`` and ``null`` as placeholders and declare ``event_ts`` in three shapes
-- and an event rejected over a field nobody stores is an event lost. So only
the ids the seed marks required, time fields, the alert codes and what the
sensor path stores are checked; every other key, documented or not, is
passed through as is (``unknown=INCLUDE`` at every level).

Every documented event gets its own marshmallow schema, generated lazily
from the committed catalog (``catalog.json``) so that the checks follow the
seed instead of a hand-copied list that drifts. Event names not in the
catalog fall back to a bare envelope schema.

The events on the hot path -- ``zoomroom.sensor_data`` with every sensor
report, ``zoomroom.alert`` / ``zoomroom.delayed_alert`` -- and single
readings are checked by hand-written twins that return and raise exactly
what their marshmallow schemas do, messages included, at a fifth to a tenth
of the cost. Tests hold each pair in lockstep.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, NamedTuple, TypeGuard

from marshmallow import INCLUDE, Schema, ValidationError, fields, post_load

from monitor.core.configfile import dotted, walk_messages
from monitor.core.timeutil import TimeParseError, to_ns
from monitor.datamodel.measurements import ALERT_EVENTS, SENSOR_EVENT
from monitor.webhooks.catalog import load_catalog

__all__ = [
    "ALERT_EVENTS",
    "SENSOR_DATA_EVENT",
    "TRUNCATED",
    "EnvelopeSchema",
    "ReadingSchema",
    "check_reading",
    "flatten_errors",
    "reading_schema",
    "schema_for",
    "truncation_note",
    "validate_event",
    "validate_reading",
]

SENSOR_DATA_EVENT = SENSOR_EVENT
# Integer codes that storage uses as tags; Zoom keeps adding values, so the
# documented enums are not enforced.
ALERT_CODES = ("alert_type", "component", "alert_kind")

REQUIRED = "Missing data for required field."
NULL = "Field may not be null."
INVALID_TYPE = "Invalid input type."
NOT_A_STRING = "Not a valid string."
NOT_AN_INTEGER = "Not a valid integer."
NOT_A_TIME = "Not a valid timestamp."
NOT_A_NUMBER = "Not a valid number."
NOT_A_MAPPING = "Not a valid mapping type."
NOT_A_LIST = "Not a valid list."
EMPTY = "Must not be empty."

_TIME_FORMATS = frozenset({"date-time", "datetime"})

Messages = dict[str | int, Any]


# --------------------------------------------------------------------------
# Value checks shared by the marshmallow fields and the hand validators, so
# both accept exactly the same values.


class _InvalidError(Exception):
    """Internal: a value failed a check; carries the marshmallow-style message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _check_id(value: object) -> str:
    """Ids are stored as strings, but some deliveries send them as bare ints."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return str(value)
        except ValueError:  # beyond int->str digit limit: not an id
            pass
    raise _InvalidError(NOT_A_STRING)


def _check_str(value: object) -> str:
    if isinstance(value, str):
        return value
    raise _InvalidError(NOT_A_STRING)


def _check_code(value: object) -> int:
    """Alert codes become tags; quoted numbers are common, anything else is a bug."""
    if isinstance(value, bool):
        raise _InvalidError(NOT_AN_INTEGER)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if number.is_integer():  # "3.0": as good as 3.0, which is accepted
            return int(number)
    raise _InvalidError(NOT_AN_INTEGER)


def _required_ns(value: object) -> int:
    try:
        return to_ns(value)
    except (TimeParseError, OverflowError):  # OverflowError: ints too big for a float
        raise _InvalidError(NOT_A_TIME) from None


def _is_zero(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return value == 0
    if isinstance(value, str):
        try:
            return float(value) == 0
        except ValueError:
            return False
    return False


def _optional_ns(value: object) -> int | None:
    """``None``/``""``/``0`` are placeholders for "no time" and give ``None``.

    The seed's own examples use ``null`` and ``""``; ``0`` (the epoch) is no
    more a real time than they are, and rejecting it would lose the event.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return to_ns(value)
    except (TimeParseError, OverflowError):
        if _is_zero(value):
            return None
        raise _InvalidError(NOT_A_TIME) from None


def _check_sensor_type(value: object) -> str:
    """Upper-cased because Zoom's casing has varied; unknown types are kept."""
    if not isinstance(value, str):
        raise _InvalidError(NOT_A_STRING)
    text = value.strip()
    if not text:
        raise _InvalidError(EMPTY)
    return text.upper()


def _check_sensor_value(value: object) -> float:
    """The seed types sensor_value as a string; real readings also come as numbers."""
    if isinstance(value, bool):
        raise _InvalidError(NOT_A_NUMBER)
    if not isinstance(value, int | float | str):
        raise _InvalidError(NOT_A_NUMBER)
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise _InvalidError(NOT_A_NUMBER) from None
    if not math.isfinite(number):
        raise _InvalidError(NOT_A_NUMBER)
    return number


# --------------------------------------------------------------------------
# marshmallow fields


class _Split(NamedTuple):
    """A value as given plus its normalised form, put side by side by ``_Object``."""

    raw: object
    normalised: object


class _CheckedField(fields.Field[Any]):
    """A field whose whole job is one of the shared value checks above."""

    def convert(self, value: object) -> object:
        raise NotImplementedError

    def _deserialize(
        self,
        value: Any,
        attr: str | None,
        data: Mapping[str, Any] | None,
        **kwargs: Any,
    ) -> Any:
        try:
            return self.convert(value)
        except _InvalidError as exc:
            raise ValidationError(exc.message) from None


class Id(_CheckedField):
    """A required id: a string, or an int turned into one."""

    def convert(self, value: object) -> object:
        return _check_id(value)


class StrictStr(_CheckedField):
    """A string that storage uses as a tag; ``""`` is fine, other types are not."""

    def convert(self, value: object) -> object:
        return _check_str(value)


class AlertCode(_CheckedField):
    """An integer code; numeric strings are converted, the enum is not enforced."""

    def convert(self, value: object) -> object:
        return _check_code(value)


class OptionalTime(_CheckedField):
    """A time that may be a placeholder; null is let through and gives ``None`` ns."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_none=True, **kwargs)

    def convert(self, value: object) -> object:
        return _Split(value, _optional_ns(value))


class RequiredTime(_CheckedField):
    """A time that must parse: a reading without one cannot be stored."""

    def convert(self, value: object) -> object:
        return _Split(value, _required_ns(value))


class SensorType(_CheckedField):
    """Non-empty string, upper-cased."""

    def convert(self, value: object) -> object:
        return _check_sensor_type(value)


class SensorValue(_CheckedField):
    """String or number, as a finite float beside the value as given."""

    def convert(self, value: object) -> object:
        return _Split(value, _check_sensor_value(value))


class _Object(Schema):
    """Base of every schema here: passes unknown keys through, adds normalised keys.

    Storage wants integer nanoseconds and floats, people and replays want
    what Zoom sent, so both are kept: fields that normalise load to
    ``_Split`` (each value parsed once) and are put back here as given, with
    the normalised value under a key of its own.
    """

    class Meta:
        unknown = INCLUDE
        register = False

    #: field -> key its normalised value goes to.
    split_fields: ClassVar[dict[str, str]] = {}
    #: Fields whose normalised key storage reads even when the field is absent.
    always_split: ClassVar[frozenset[str]] = frozenset()

    @post_load
    def _finish(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        for name, key in self.split_fields.items():
            value = data.get(name)
            if isinstance(value, _Split):
                data[name] = value.raw
                data[key] = value.normalised
            elif name in self.always_split or (value is None and name in data):
                data[key] = None
        return data


class EnvelopeSchema(_Object):
    """Events the catalog does not know: only what routing and timing need.

    ``payload.account_id`` is not required here: an unknown event is kept
    for inspection, not stored, and its shape is anyone's guess.
    """

    split_fields: ClassVar[dict[str, str]] = {"event_ts": "event_ts_ns"}

    event = StrictStr(required=True)
    event_ts = OptionalTime(required=True)
    payload = fields.Dict(required=True)


class ReadingSchema(_Object):
    """One ``sensor_data`` reading. ``time_ns`` and ``value`` are what storage reads."""

    split_fields: ClassVar[dict[str, str]] = {"date_time": "time_ns", "sensor_value": "value"}

    date_time = RequiredTime(required=True)
    sensor_type = SensorType(required=True)
    sensor_value = SensorValue(required=True)


# --------------------------------------------------------------------------
# Schema generation from the catalog


class _Leaf(NamedTuple):
    """A checked field at one level: how to make it, and what it implies."""

    make: Callable[[], fields.Field[Any]]
    required: bool = False
    time: bool = False


class _Node:
    """One object level of an event's field tree (payload, payload.object, items)."""

    def __init__(self) -> None:
        self.leaves: dict[str, _Leaf] = {}
        self.children: dict[str, _Node] = {}
        self.arrays: dict[str, _Node] = {}

    def is_strict(self) -> bool:
        """Whether anything below needs checking; if not, the level is passed through."""
        return bool(self.leaves) or any(
            child.is_strict() for child in (*self.children.values(), *self.arrays.values())
        )

    def needs_presence(self) -> bool:
        """Required fields below (not behind an array) make this level required too."""
        return any(leaf.required for leaf in self.leaves.values()) or any(
            child.needs_presence() for child in self.children.values()
        )

    def at(self, parts: list[str]) -> _Node:
        node = self
        for part in parts:
            if part.endswith("[]"):
                node = node.arrays.setdefault(part[:-2], _Node())
            else:
                node = node.children.setdefault(part, _Node())
        return node


_ID = _Leaf(lambda: Id(required=True), required=True)
_TIME = _Leaf(OptionalTime, time=True)
_EVENT_TS = _Leaf(lambda: OptionalTime(required=True), required=True, time=True)
_EVENT = _Leaf(lambda: StrictStr(required=True), required=True)
_CODE = _Leaf(lambda: AlertCode(required=True), required=True)

# What every known event has, whatever its seed section lists: two events
# list no fields at all and only show an example.
_COMMON: dict[str, _Leaf] = {
    "event": _EVENT,
    "event_ts": _EVENT_TS,
    "payload.account_id": _ID,
}
# Per-event replacements, by dotted path; whatever the seed has below a
# replaced path is not checked.
_OVERRIDES: dict[str, dict[str, _Leaf]] = {
    SENSOR_DATA_EVENT: {
        "payload.object.room_name": _Leaf(lambda: StrictStr(required=True), required=True),
        # Readings are checked one by one with validate_reading, so that one
        # bad reading does not cost the good ones.
        "payload.object.sensor_data": _Leaf(
            lambda: fields.List(fields.Dict(), required=True), required=True
        ),
    },
    **{
        event: {
            **{f"payload.object.{code}": _CODE for code in ALERT_CODES},
            "payload.object.alert_time": _TIME,
        }
        for event in ALERT_EVENTS
    },
}
_ALWAYS_NS: dict[str, frozenset[str]] = {
    event: frozenset({"payload.object.alert_time"}) for event in ALERT_EVENTS
}


def _leaf_for(field: Mapping[str, Any]) -> _Leaf | None:
    """The check a documented leaf gets, or None to pass it through unchecked."""
    name = str(field["path"]).rsplit(".", 1)[-1]
    if field["required"] and (name == "id" or name.endswith("_id")):
        return _ID
    if field["format"] in _TIME_FORMATS or name.endswith("_time"):
        return _TIME
    return None


def _event_tree(event: str, event_fields: list[dict[str, Any]]) -> _Node:
    """The checked part of an event's documented fields, as a tree of levels."""
    overrides = {**_COMMON, **_OVERRIDES.get(event, {})}
    root = _Node()
    for field in event_fields:
        path = str(field["path"])
        if any(path == o or path.startswith((f"{o}.", f"{o}[]")) for o in overrides):
            continue
        *parents, name = path.split(".")
        if field["type"] in ("object", "array"):
            root.at([*parents, name + ("[]" if field["type"] == "array" else "")])
            continue
        leaf = _leaf_for(field)
        if leaf is not None:
            root.at(parents).leaves[name] = leaf
    for path, leaf in overrides.items():
        *parents, name = path.split(".")
        root.at(parents).leaves[name] = leaf
    return root


def _schema_name(event: str, path: str) -> str:
    words = f"{event}.{path}".replace("[]", ".item").replace(".", "_").split("_")
    return "".join(word.capitalize() for word in words if word) + "Schema"


def _build_level(event: str, path: str, node: _Node) -> type[_Object]:
    """A schema class for one level, with Nested/List fields for the levels below."""
    prefix = f"{path}." if path else ""
    always = _ALWAYS_NS.get(event, frozenset())
    attrs: dict[str, Any] = {}
    split_fields: dict[str, str] = {}
    always_split: set[str] = set()
    for name, leaf in node.leaves.items():
        attrs[name] = leaf.make()
        if leaf.time:
            split_fields[name] = f"{name}_ns"
            if prefix + name in always:
                always_split.add(name)
    for name, child in node.children.items():
        if child.is_strict():
            present = child.needs_presence()
            attrs[name] = fields.Nested(
                _build_level(event, prefix + name, child),
                required=present,
                allow_none=not present,
            )
    for name, items in node.arrays.items():
        if items.is_strict():
            item_schema = _build_level(event, f"{prefix}{name}[]", items)
            attrs[name] = fields.List(fields.Nested(item_schema), allow_none=True)
    attrs["split_fields"] = split_fields
    attrs["always_split"] = frozenset(always_split)
    schema: type[_Object] = type(_schema_name(event, path or "envelope"), (_Object,), attrs)
    return schema


def _build_event_schema(event: str, event_fields: list[dict[str, Any]]) -> Schema:
    """One event's schema; ``payload`` is always required (account_id is)."""
    return _build_level(event, "", _event_tree(event, event_fields))()


_schemas: dict[str, Schema] = {}
_envelope: Schema | None = None
_reading: Schema | None = None


def _event_schemas() -> dict[str, Schema]:
    if not _schemas:
        catalog = load_catalog()
        built = {
            name: _build_event_schema(name, spec["fields"])
            for name, spec in catalog["events"].items()
        }
        _schemas.update(built)
    return _schemas


def schema_for(event: str) -> Schema:
    """The marshmallow schema for an event name; the envelope schema if unknown."""
    global _envelope  # noqa: PLW0603 -- lazy, import must not read package data
    schema = _event_schemas().get(event)
    if schema is not None:
        return schema
    if _envelope is None:
        _envelope = EnvelopeSchema()
    return _envelope


def reading_schema() -> Schema:
    """The marshmallow schema behind :func:`validate_reading`."""
    global _reading  # noqa: PLW0603
    if _reading is None:
        _reading = ReadingSchema()
    return _reading


# --------------------------------------------------------------------------
# Hot path: hand-written twins of the generated schemas.
#
# Each mirrors, field for field and message for message, what marshmallow
# returns or raises for the schema of the same event (a new dict with the
# unknown keys copied, checked values converted, ``*_ns`` keys added).
# tests/webhooks/test_schemas.py compares the two on good and broken bodies,
# so a seed change that alters a hot schema fails there, not in production.

_MISSING: Any = object()


def _is_mapping(value: object) -> TypeGuard[Mapping[str, Any]]:
    """``isinstance(value, Mapping)``, without the ABC machinery for the usual dict.

    Two calls on purpose: 40 ns for a dict against 115 ns merged into one
    tuple check and 350 ns for the ABC alone, several times per reading.
    """
    return isinstance(value, dict) or isinstance(value, Mapping)  # noqa: SIM101


def _take(
    src: Mapping[str, Any],
    key: str,
    check: Callable[[object], Any],
    errors: Messages,
    *,
    required: bool = True,
    allow_none: bool = False,
) -> Any:
    """One field: its checked value, None, or ``_MISSING`` with the error recorded."""
    value = src.get(key, _MISSING)
    if value is _MISSING:
        if required:
            errors[key] = [REQUIRED]
        return _MISSING
    if value is None:
        if not allow_none:
            errors[key] = [NULL]
            return _MISSING
        return None
    try:
        return check(value)
    except _InvalidError as exc:
        errors[key] = [exc.message]
        return _MISSING


def _take_object(src: Mapping[str, Any], key: str, errors: Messages) -> dict[str, Any] | None:
    """A required nested level, as ``fields.Nested`` reports it."""
    value = src.get(key, _MISSING)
    if value is _MISSING:
        errors[key] = [REQUIRED]
    elif value is None:
        errors[key] = [NULL]
    elif not _is_mapping(value):
        errors[key] = {"_schema": [INVALID_TYPE]}
    else:
        return dict(value)
    return None


def _set(target: dict[str, Any], key: str, value: Any) -> None:
    if value is not _MISSING:
        target[key] = value


def _fast_envelope(data: object, errors: Messages) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """event, event_ts and payload/account_id, common to every known event."""
    if not _is_mapping(data):
        raise ValidationError({"_schema": [INVALID_TYPE]})
    out = dict(data)
    _set(out, "event", _take(data, "event", _check_str, errors))
    event_ts = _take(data, "event_ts", _optional_ns, errors, allow_none=True)
    if event_ts is not _MISSING:
        out["event_ts_ns"] = event_ts
    payload = _take_object(data, "payload", errors)
    if payload is not None:
        out["payload"] = payload
    return out, payload


def _fast_event(
    data: object, check_object: Callable[[dict[str, Any], Messages], None]
) -> dict[str, Any]:
    """Envelope, ``payload.account_id`` and ``payload.object``, errors nested per level."""
    errors: Messages = {}
    out, payload = _fast_envelope(data, errors)
    if payload is not None:
        payload_errors: Messages = {}
        _set(payload, "account_id", _take(payload, "account_id", _check_id, payload_errors))
        obj = _take_object(payload, "object", payload_errors)
        if obj is not None:
            payload["object"] = obj
            obj_errors: Messages = {}
            check_object(obj, obj_errors)
            if obj_errors:
                payload_errors["object"] = obj_errors
        if payload_errors:
            errors["payload"] = payload_errors
    if errors:
        raise ValidationError(errors)
    return out


def _check_sensor_object(obj: dict[str, Any], errors: Messages) -> None:
    """``zoomroom.sensor_data``: ids and room name checked, readings only as objects."""
    _set(obj, "device_id", _take(obj, "device_id", _check_id, errors))
    _set(obj, "id", _take(obj, "id", _check_id, errors))
    _set(obj, "room_name", _take(obj, "room_name", _check_str, errors))
    readings = obj.get("sensor_data", _MISSING)
    if readings is _MISSING:
        errors["sensor_data"] = [REQUIRED]
    elif readings is None:
        errors["sensor_data"] = [NULL]
    elif not isinstance(readings, list | tuple):
        errors["sensor_data"] = [NOT_A_LIST]
    else:
        item_errors: Messages = {}
        copied: list[Any] = []
        for index, reading in enumerate(readings):
            if _is_mapping(reading):
                copied.append(dict(reading))
            else:
                item_errors[index] = [NULL if reading is None else NOT_A_MAPPING]
        if item_errors:
            errors["sensor_data"] = item_errors
        obj["sensor_data"] = copied


def _check_alert_object(obj: dict[str, Any], errors: Messages) -> None:
    """``zoomroom.alert`` / ``delayed_alert``: room id, integer codes, alert time."""
    _set(obj, "id", _take(obj, "id", _check_id, errors))
    for code in ALERT_CODES:
        _set(obj, code, _take(obj, code, _check_code, errors))
    alert_ns = _take(obj, "alert_time", _optional_ns, errors, required=False, allow_none=True)
    obj["alert_time_ns"] = None if alert_ns is _MISSING else alert_ns


def _fast_sensor_data(data: object) -> dict[str, Any]:
    return _fast_event(data, _check_sensor_object)


def _fast_alert(data: object) -> dict[str, Any]:
    return _fast_event(data, _check_alert_object)


_FAST: dict[str, Callable[[object], dict[str, Any]]] = {
    SENSOR_DATA_EVENT: _fast_sensor_data,
    **dict.fromkeys(ALERT_EVENTS, _fast_alert),
}


def check_reading(data: object) -> tuple[dict[str, Any] | None, Messages | None]:
    """Twin of ``ReadingSchema.load``, returning its messages instead of raising them.

    The intake checks every reading of an event one by one; for thousands of
    bad readings the exception alone would be a third of the cost.
    """
    if not _is_mapping(data):
        return None, {"_schema": [INVALID_TYPE]}
    errors: Messages = {}
    time_ns = _take(data, "date_time", _required_ns, errors)
    sensor_type = _take(data, "sensor_type", _check_sensor_type, errors)
    value = _take(data, "sensor_value", _check_sensor_value, errors)
    if errors:
        return None, errors
    out = dict(data)
    out["time_ns"] = time_ns
    out["sensor_type"] = sensor_type
    out["value"] = value
    return out, None


def _fast_reading(data: object) -> dict[str, Any]:
    """Twin of ``ReadingSchema``."""
    out, errors = check_reading(data)
    if errors or out is None:
        raise ValidationError(errors or {"_schema": [INVALID_TYPE]})
    return out


# --------------------------------------------------------------------------
# Every other known event: twins compiled from the generated schemas.
#
# marshmallow spends 10-30 µs on each nested object (and its error store
# merges every message into the parent's, level by level), so a signed
# questionnaire of 250,000 empty items took over ten seconds of a worker.
# The levels below are compiled once from the same schema classes -- their
# fields, requirements and checks read off the field objects -- and walk a
# body at about a microsecond per checked object. A level with a field kind
# not handled here keeps marshmallow. tests/webhooks/test_schemas.py compares
# each compiled twin with its schema on every catalog event.


class _UnsupportedError(Exception):
    """Internal: a schema uses a field this compiler does not mirror."""


_LeafSpec = tuple[str, Callable[[object], object], bool, bool]


class _Level:
    """One schema level: leaves, nested levels and lists of nested levels, in field order."""

    def __init__(self, schema: type[_Object]) -> None:
        self.leaves: list[_LeafSpec] = []
        self.nested: list[tuple[str, _Level, bool, bool]] = []
        self.lists: list[tuple[str, _Level, bool, bool]] = []
        self.split_fields = schema.split_fields
        self.always_split = schema.always_split
        for name, spec in schema().fields.items():
            if spec.data_key not in (None, name) or spec.validators:
                raise _UnsupportedError(name)
            if isinstance(spec, _CheckedField):
                self.leaves.append((name, spec.convert, spec.required, spec.allow_none))
            elif isinstance(spec, fields.Nested):
                self.nested.append((name, _Level(_nested_class(spec)), spec.required,
                                    spec.allow_none))
            elif (isinstance(spec, fields.List) and isinstance(spec.inner, fields.Nested)
                  and not spec.inner.allow_none):
                self.lists.append((name, _Level(_nested_class(spec.inner)), spec.required,
                                   spec.allow_none))
            else:
                raise _UnsupportedError(name)

    def run(
        self, data: object, budget: list[int]
    ) -> tuple[dict[str, Any] | None, Messages | None]:
        """What ``schema.load`` returns, or the messages it raises, without raising.

        ``budget`` is how many more errors are worth finding (one mutable
        count shared by the whole walk): once it is spent the walk stops, as
        the caller reports no more than that. Messages found until then are
        exactly the first ones a full walk finds, in the same order.
        """
        if not _is_mapping(data):
            budget[0] -= 1
            return None, {"_schema": [INVALID_TYPE]}
        out = dict(data)
        errors: Messages = {}
        self._run_leaves(data, out, errors, budget)
        for name, level, required, allow_none in self.nested:
            if budget[0] <= 0:
                break
            value = data.get(name, _MISSING)
            if value is None or value is _MISSING:
                _absent(errors, name, value, required, allow_none, budget=budget)
                continue
            loaded, messages = level.run(value, budget)
            if messages:
                errors[name] = messages
            else:
                out[name] = loaded
        for name, level, required, allow_none in self.lists:
            if budget[0] <= 0:
                break
            value = data.get(name, _MISSING)
            if value is None or value is _MISSING:
                _absent(errors, name, value, required, allow_none, budget=budget)
            elif not isinstance(value, list | tuple):
                errors[name] = [NOT_A_LIST]
                budget[0] -= 1
            else:
                self._run_items(name, level, value, out, errors, budget=budget)
        if errors:
            return None, errors
        self._split(out)
        return out, None

    def _run_leaves(self, data: Mapping[str, Any], out: dict[str, Any], errors: Messages,
                    budget: list[int]) -> None:
        for name, convert, required, allow_none in self.leaves:
            value = data.get(name, _MISSING)
            if value is None or value is _MISSING:
                _absent(errors, name, value, required, allow_none, budget=budget)
                continue
            try:
                out[name] = convert(value)
            except _InvalidError as exc:
                errors[name] = [exc.message]
                budget[0] -= 1

    @staticmethod
    def _run_items(name: str, level: _Level, items: list[Any] | tuple[Any, ...],
                   out: dict[str, Any], errors: Messages, *, budget: list[int]) -> None:
        loaded_items: list[Any] = []
        item_errors: Messages = {}
        for index, item in enumerate(items):
            if budget[0] <= 0:
                break
            if item is None:
                item_errors[index] = [NULL]
                budget[0] -= 1
                continue
            loaded, messages = level.run(item, budget)
            if messages:
                item_errors[index] = messages
            else:
                loaded_items.append(loaded)
        if item_errors:
            errors[name] = item_errors
        else:
            out[name] = loaded_items

    def _split(self, out: dict[str, Any]) -> None:
        """``_Object._finish``: values as given, normalised forms beside them."""
        for name, key in self.split_fields.items():
            value = out.get(name)
            if isinstance(value, _Split):
                out[name] = value.raw
                out[key] = value.normalised
            elif name in self.always_split or (value is None and name in out):
                out[key] = None


def _absent(errors: Messages, name: str, value: object, required: bool, allow_none: bool, *,
            budget: list[int]) -> None:
    """A missing or null field, reported as marshmallow reports it."""
    if value is _MISSING:
        if required:
            errors[name] = [REQUIRED]
            budget[0] -= 1
    elif not allow_none:
        errors[name] = [NULL]
        budget[0] -= 1


def _nested_class(spec: fields.Nested) -> type[_Object]:
    nested = spec.nested
    if isinstance(nested, type) and issubclass(nested, _Object):
        return nested
    raise _UnsupportedError(repr(nested))


_Validator = Callable[[object, int | None], dict[str, Any]]
_compiled: dict[str, _Validator | None] = {}


def _compiled_for(event: str) -> _Validator | None:
    """The compiled twin of a catalog event's schema; None for unknown events."""
    if event in _compiled:
        return _compiled[event]
    schema = _event_schemas().get(event)
    validator: _Validator | None = None
    if schema is not None:
        try:
            validator = _raising(_Level(type(schema)))  # type: ignore[arg-type]
        except _UnsupportedError:
            validator = None
    _compiled[event] = validator
    return validator


def _raising(level: _Level) -> _Validator:
    def validate(data: object, max_errors: int | None) -> dict[str, Any]:
        budget = [sys.maxsize if max_errors is None else max(1, max_errors)]
        loaded, messages = level.run(data, budget)
        if messages or loaded is None:
            raise ValidationError(messages or {"_schema": [INVALID_TYPE]})
        return loaded

    return validate


# --------------------------------------------------------------------------
# Public API


def validate_event(event: str, data: object, max_errors: int | None = None) -> dict[str, Any]:
    """Validate and normalise one webhook body for the named event.

    Returns a new dict (unknown keys kept) with ``event_ts_ns`` and any
    ``<time>_ns`` keys added; raises ``ValidationError`` naming every bad
    field, or at least the first ``max_errors`` of them (the walk may stop
    there: a caller that reports only so many need not pay for the rest).
    Unknown event names get the envelope checks only.
    """
    fast = _FAST.get(event)
    if fast is not None:
        return fast(data)
    compiled = _compiled_for(event)
    if compiled is not None:
        return compiled(data, max_errors)
    loaded: dict[str, Any] = schema_for(event).load(data)  # type: ignore[arg-type]
    return loaded


def validate_reading(data: object) -> dict[str, Any]:
    """Validate one ``sensor_data`` reading, adding ``time_ns`` and ``value``.

    ``date_time`` and ``sensor_value`` stay as given beside their int-ns and
    float forms; ``sensor_type`` is upper-cased (Zoom adds types, so any
    non-empty one is accepted).
    """
    return _fast_reading(data)


TRUNCATED = "_truncated"


def truncation_note(limit: int) -> str:
    return f"more problems not shown; the first {limit} are listed"


def flatten_errors(messages: object, limit: int | None = None) -> dict[str, list[str]]:
    """Nested marshmallow messages as ``{"a.b.3.c": [...]}`` for JSON error bodies.

    Error bodies are read by people and log searches, for whom one flat
    path per problem beats walking a tree. A schema-level message
    (``_schema``) is reported at its parent's path. With ``limit``, at most
    that many paths are listed and ``_truncated`` says more were left out:
    the walk stops there, so a body with a million bad items costs no more
    to report than one with ``limit``.
    """
    flat: dict[str, list[str]] = {}
    for keys, message in walk_messages(messages):
        path = dotted(keys) or "_schema"
        if limit is not None and path not in flat and len(flat) >= limit:
            flat[TRUNCATED] = [truncation_note(limit)]
            break
        flat.setdefault(path, []).append(message)
    return flat
