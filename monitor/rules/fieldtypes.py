"""The value types of rule files: durations, bounds, bands, name maps and templates.

Each is a marshmallow field that reads what a rule author writes (``10m``,
``[30, 60]``, ``{team: facilities}``) and says in the author's words why a
value is wrong. The schemas (:mod:`monitor.rules.levelschema`,
:mod:`monitor.rules.ruleschema`) are built from them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, fields
from marshmallow.validate import Regexp

from monitor.core.durations import seconds_or_duration
from monitor.datamodel.vocabulary import SENSOR_TYPES
from monitor.rules.templates import template_problem

NAME_PATTERN = r"^[a-z0-9_-]+$"



def is_duration_text(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        seconds_or_duration(value)
    except ValueError:
        return False
    return True


class Duration(fields.Field[float]):
    """Seconds, from ``10m``-style text or a plain number."""

    def __init__(self, *, positive: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.positive = positive

    def _deserialize(self, value: Any, attr: str | None,
                     data: Mapping[str, Any] | None, **kwargs: Any) -> float:
        try:
            seconds = seconds_or_duration(value)
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
                return seconds_or_duration(value)
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


def sensor_field(**kwargs: Any) -> fields.Str:
    # Zoom adds sensor types over time, so the list is not enforced; the case
    # is, because the stored tag is Zoom's upper-case name and `co2` would
    # match nothing.
    return fields.Str(validate=Regexp(r"^[A-Z0-9_]+$", error=(
        f"must be a Zoom sensor type in upper case, e.g. {', '.join(SENSOR_TYPES)}")), **kwargs)


def name_field(**kwargs: Any) -> fields.Str:
    return fields.Str(validate=Regexp(NAME_PATTERN, error="must match [a-z0-9_-]+"), **kwargs)

