"""Time parsing for the shapes Zoom actually sends.

The seed declares ``event_ts`` as int64 milliseconds in most events, as a
date-time string in others, and real deliveries quote numbers as strings.
``alert_time`` is seconds in some accounts and milliseconds in others. All
of it is normalised here, once, to integer nanoseconds since the epoch, the
unit InfluxDB line protocol uses.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000

# Below this an epoch number is seconds, above it milliseconds: 1e11 seconds
# is the year 5138, 1e11 milliseconds is March 1973 — long before Zoom Rooms.
_SECONDS_CUTOFF = 100_000_000_000
# Above this a number is microseconds or nanoseconds, which Zoom never sends.
_MILLIS_CUTOFF = 100_000_000_000_000


class TimeParseError(ValueError):
    """A value that claims to be a time but is not one we can place."""


def epoch_number_to_ns(value: float) -> int:
    """Seconds or milliseconds since the epoch, told apart by magnitude."""
    if not math.isfinite(value) or value <= 0:
        raise TimeParseError(f"not a positive epoch time: {value!r}")
    if value < _SECONDS_CUTOFF:
        return round(value * NS_PER_S)
    if value < _MILLIS_CUTOFF:
        return round(value * NS_PER_MS)
    raise TimeParseError(f"epoch time out of range: {value!r}")


def iso_to_ns(text: str) -> int:
    """An ISO-8601 date-time; a missing offset means UTC, as Zoom's examples show."""
    candidate = text.strip()
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError as exc:
        raise TimeParseError(f"not an ISO-8601 date-time: {text!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    delta = parsed - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * NS_PER_S + delta.microseconds * 1000


def to_ns(value: object) -> int:
    """Any time shape Zoom uses: int/float epoch, numeric string, or ISO string."""
    if isinstance(value, bool) or value is None:
        raise TimeParseError(f"not a time: {value!r}")
    if isinstance(value, int | float):
        return epoch_number_to_ns(float(value))
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise TimeParseError("empty time")
        try:
            number = float(text)
        except ValueError:
            return iso_to_ns(text)
        return epoch_number_to_ns(number)
    raise TimeParseError(f"not a time: {value!r}")


def ns_to_iso(ns: int) -> str:
    """RFC 3339 with millisecond precision, for humans and JSON bodies."""
    moment = datetime.fromtimestamp(ns / NS_PER_S, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
