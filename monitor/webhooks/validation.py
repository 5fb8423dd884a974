"""Validating webhook bodies: the one entry point, and the errors as people read them.

Each body is checked by the fastest path that answers exactly as its
marshmallow schema (:mod:`monitor.webhooks.schemas`) would: a hand-written
twin for the hot events (:mod:`monitor.webhooks.hotpath`), a compiled twin
for every other catalog event (:mod:`monitor.webhooks.compiled`), the schema
itself for the rest. Callers see one function per kind of body and never
which path ran.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError

from monitor.core.configfile import dotted, walk_messages
from monitor.webhooks.checks import INVALID_TYPE
from monitor.webhooks.compiled import compiled_for
from monitor.webhooks.hotpath import HOT_TWINS, check_reading
from monitor.webhooks.schemas import schema_for

__all__ = [
    "TRUNCATED",
    "flatten_errors",
    "truncation_note",
    "validate_event",
    "validate_reading",
]


def validate_event(event: str, data: object, max_errors: int | None = None) -> dict[str, Any]:
    """Validate and normalise one webhook body for the named event.

    Returns a new dict (unknown keys kept) with ``event_ts_ns`` and any
    ``<time>_ns`` keys added; raises ``ValidationError`` naming every bad
    field, or at least the first ``max_errors`` of them (the walk may stop
    there: a caller that reports only so many need not pay for the rest).
    Unknown event names get the envelope checks only.
    """
    fast = HOT_TWINS.get(event)
    if fast is not None:
        return fast(data)
    compiled = compiled_for(event)
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
    out, errors = check_reading(data)
    if errors or out is None:
        raise ValidationError(errors or {"_schema": [INVALID_TYPE]})
    return out


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
