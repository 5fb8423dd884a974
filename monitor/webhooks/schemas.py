"""The marshmallow schemas of webhook bodies: one per documented event, and two fixed.

Policy: strict about what storage needs (ids, numeric values, times), lenient
about the rest. Zoom's documentation is loose -- the seed's own examples use
``""`` and ``null`` as placeholders and declare ``event_ts`` in three shapes
-- and an event rejected over a field nobody stores is an event lost. So only
the ids the seed marks required, time fields, the alert codes and what the
sensor path stores are checked; every other key, documented or not, is
passed through as is (``unknown=INCLUDE`` at every level).

Every documented event gets its own schema, generated lazily from the
committed catalog (``catalog.json``) so that the checks follow the seed
instead of a hand-copied list that drifts. Event names not in the catalog
fall back to a bare envelope schema. These schemas are the reference: the
faster twins that do the work in :mod:`monitor.webhooks.validation` are
tested against them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, NamedTuple

from marshmallow import Schema, fields

from monitor.datamodel.measurements import ALERT_EVENTS, SENSOR_EVENT
from monitor.webhooks.catalog import load_catalog
from monitor.webhooks.checks import ALERT_CODES
from monitor.webhooks.fields import (
    AlertCode,
    Id,
    ObjectSchema,
    OptionalTime,
    RequiredTime,
    SensorType,
    SensorValue,
    StrictStr,
)

_TIME_FORMATS = frozenset({"date-time", "datetime"})


class EnvelopeSchema(ObjectSchema):
    """Events the catalog does not know: only what routing and timing need.

    ``payload.account_id`` is not required here: an unknown event is kept
    for inspection, not stored, and its shape is anyone's guess.
    """

    split_fields: ClassVar[dict[str, str]] = {"event_ts": "event_ts_ns"}

    event = StrictStr(required=True)
    event_ts = OptionalTime(required=True)
    payload = fields.Dict(required=True)


class ReadingSchema(ObjectSchema):
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
    SENSOR_EVENT: {
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


def _build_level(event: str, path: str, node: _Node) -> type[ObjectSchema]:
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
    name = _schema_name(event, path or "envelope")
    schema: type[ObjectSchema] = type(name, (ObjectSchema,), attrs)
    return schema


def _build_event_schema(event: str, event_fields: list[dict[str, Any]]) -> Schema:
    """One event's schema; ``payload`` is always required (account_id is)."""
    return _build_level(event, "", _event_tree(event, event_fields))()


_schemas: dict[str, Schema] = {}
_envelope: Schema | None = None
_reading: Schema | None = None


def event_schemas() -> dict[str, Schema]:
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
    schema = event_schemas().get(event)
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
