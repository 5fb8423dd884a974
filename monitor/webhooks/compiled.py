"""Twins of every other catalog event's schema, compiled from the schema classes.

marshmallow spends 10-30 µs on each nested object (and its error store
merges every message into the parent's, level by level), so a signed
questionnaire of 250,000 empty items took over ten seconds of a worker.
The levels here are compiled once from the generated schema classes of
:mod:`monitor.webhooks.schemas` -- their fields, requirements and checks
read off the field objects -- and walk a body at about a microsecond per
checked object. A level with a field kind not handled here keeps
marshmallow. tests/webhooks/test_compiled.py compares each compiled twin
with its schema on every catalog event.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

from marshmallow import ValidationError, fields

from monitor.core.errors import MonitorError
from monitor.webhooks.checks import (
    INVALID_TYPE,
    MISSING,
    NOT_A_LIST,
    NULL,
    REQUIRED,
    InvalidError,
    Messages,
    is_mapping,
)
from monitor.webhooks.fields import CheckedField, ObjectSchema, Split
from monitor.webhooks.schemas import event_schemas


class _UnsupportedError(MonitorError):
    """Internal: a schema uses a field this compiler does not mirror."""


_LeafSpec = tuple[str, Callable[[object], object], bool, bool]


class _Level:
    """One schema level: leaves, nested levels and lists of nested levels, in field order."""

    def __init__(self, schema: type[ObjectSchema]) -> None:
        self.leaves: list[_LeafSpec] = []
        self.nested: list[tuple[str, _Level, bool, bool]] = []
        self.lists: list[tuple[str, _Level, bool, bool]] = []
        self.split_fields = schema.split_fields
        self.always_split = schema.always_split
        for name, spec in schema().fields.items():
            if spec.data_key not in (None, name) or spec.validators:
                raise _UnsupportedError(name)
            if isinstance(spec, CheckedField):
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
        if not is_mapping(data):
            budget[0] -= 1
            return None, {"_schema": [INVALID_TYPE]}
        out = dict(data)
        errors: Messages = {}
        self._run_leaves(data, out, errors, budget)
        for name, level, required, allow_none in self.nested:
            if budget[0] <= 0:
                break
            value = data.get(name, MISSING)
            if value is None or value is MISSING:
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
            value = data.get(name, MISSING)
            if value is None or value is MISSING:
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
            value = data.get(name, MISSING)
            if value is None or value is MISSING:
                _absent(errors, name, value, required, allow_none, budget=budget)
                continue
            try:
                out[name] = convert(value)
            except InvalidError as exc:
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
        """``ObjectSchema._finish``: values as given, normalised forms beside them."""
        for name, key in self.split_fields.items():
            value = out.get(name)
            if isinstance(value, Split):
                out[name] = value.raw
                out[key] = value.normalised
            elif name in self.always_split or (value is None and name in out):
                out[key] = None


def _absent(errors: Messages, name: str, value: object, required: bool, allow_none: bool, *,
            budget: list[int]) -> None:
    """A missing or null field, reported as marshmallow reports it."""
    if value is MISSING:
        if required:
            errors[name] = [REQUIRED]
            budget[0] -= 1
    elif not allow_none:
        errors[name] = [NULL]
        budget[0] -= 1


def _nested_class(spec: fields.Nested) -> type[ObjectSchema]:
    nested = spec.nested
    if isinstance(nested, type) and issubclass(nested, ObjectSchema):
        return nested
    raise _UnsupportedError(repr(nested))


_Validator = Callable[[object, int | None], dict[str, Any]]
_compiled: dict[str, _Validator | None] = {}


def compiled_for(event: str) -> _Validator | None:
    """The compiled twin of a catalog event's schema; None for unknown events."""
    if event in _compiled:
        return _compiled[event]
    schema = event_schemas().get(event)
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

