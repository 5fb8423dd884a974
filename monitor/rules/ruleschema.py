"""A rule and its group: what the rule measures, and the keys that depend on it.

A rule measures one of four things (``sensor``, ``rate``, ``incident``,
``silent``), and that choice decides which other keys make sense: only a
sensor rule aggregates, incident and silent rules compare durations, and
``where:`` may filter only on the tags of the measurement read. Each mismatch
is an error at its key, saying what the rule's value actually is.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from marshmallow import ValidationError, fields, post_load, validates_schema
from marshmallow.validate import Length, OneOf, Range

from monitor.rules.fieldtypes import (
    Duration,
    StrMap,
    Templates,
    is_duration_text,
    name_field,
    sensor_field,
)
from monitor.rules.levelschema import LevelsSchema
from monitor.rules.model import RECEIVER_FIELDS, IncidentMatch, Kind, NoData
from monitor.rules.schemabase import FieldPath, Messages, StrictSchema
from monitor.rules.templates import TEMPLATE_VARIABLES, template_problem, unknown_template_names

AGGREGATES = ("mean", "max", "min", "last", "p95", "count")
NO_DATA_STATES = ("no_data", "keep", "ok")
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


class NoDataSchema(StrictSchema):
    after = Duration(positive=True, required=True)
    state = fields.Str(load_default="no_data", validate=OneOf(NO_DATA_STATES))

    @post_load
    def _build(self, data: dict[str, Any], **kwargs: Any) -> NoData:
        return NoData(after_s=data["after"], state=data["state"])


class IncidentMatchSchema(StrictSchema):
    alert_type = fields.Int(strict=True, validate=Range(min=0))
    component = fields.Int(strict=True, validate=Range(min=0))

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _some_code(self, data: Any, original: Any, **kwargs: Any) -> None:
        if isinstance(original, Mapping) and not ({"alert_type", "component"} & original.keys()):
            raise ValidationError("needs alert_type and/or component (Zoom's codes)")

    @post_load
    def _build(self, data: dict[str, Any], **kwargs: Any) -> IncidentMatch:
        return IncidentMatch(alert_type=data.get("alert_type"), component=data.get("component"))


class SourceSchema(StrictSchema):
    """What a rate or silent rule watches: a room sensor, or a counter of the receiver.

    ``receiver: deliveries`` / ``receiver: signature_failures`` read the
    receiver's own per-interval counts (measurement ``zrmon_receiver``): one
    value for the whole account, so the rule raises one alert, not one per room.
    """

    sensor = sensor_field()
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


class RuleSchema(StrictSchema):
    name = name_field(required=True)
    sensor = sensor_field()
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
        errors = Messages()
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
        errors = Messages()
        for key, text in annotations.items():
            if isinstance(text, str) and template_problem(text) is None:
                unknown = unknown_template_names(text, names)
                if unknown:
                    errors.add(("annotations", key), (
                        f"unknown template variable {', '.join(unknown)} "
                        f"(known: {', '.join(TEMPLATE_VARIABLES)} and the rule's labels)"))
        errors.raise_if_any()


def _kind_options(kind: str, data: Mapping[str, Any], original: Mapping[str, Any],
                  errors: Messages) -> None:
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
                if is_duration_text(item):
                    yield ((level, key) if index is None else (level, key, index)), item


class GroupSchema(StrictSchema):
    group = name_field(required=True)
    interval = Duration(positive=True, load_default=60.0)
    rules = fields.List(fields.Nested(RuleSchema), required=True)
