"""A rule's ``levels``: one threshold per level, its hysteresis, and their order.

Two mistakes here make an alert flap or contradict itself, so they are refused
at load time rather than left to the state machine: a resolve bound on the
wrong side of its trigger (the alert would resolve while still breaching), and
levels that do not get worse together (a critical bound below the warning one).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any, Literal

from marshmallow import ValidationError, fields, post_load, validates_schema

from monitor.rules.fieldtypes import Band, Bound
from monitor.rules.model import LEVELS, Threshold
from monitor.rules.schemabase import Messages, StrictSchema

Op = Literal["above", "below", "outside", "inside"]

COMPARISONS: tuple[Op, ...] = ("above", "below", "outside", "inside")
RESOLVE_KEY: dict[Op, str] = {"above": "resolve_below", "below": "resolve_above",
                              "outside": "resolve_inside", "inside": "resolve_outside"}


class ThresholdSchema(StrictSchema):
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
        errors = Messages()
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


class LevelsSchema(StrictSchema):
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
        errors = Messages()
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

