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

from monitor.core.errors import UsageError

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000

# Below this an epoch number is seconds, above it milliseconds: 1e11 seconds
# is the year 5138, 1e11 milliseconds is March 1973 — long before Zoom Rooms.
_SECONDS_CUTOFF = 100_000_000_000
# Above this a number is microseconds or nanoseconds, which Zoom never sends.
_MILLIS_CUTOFF = 100_000_000_000_000


class TimeParseError(UsageError):
    """A value that claims to be a time but is not one we can place."""


def epoch_number_to_ns(value: float) -> int:
    """Seconds or milliseconds since the epoch, told apart by magnitude.

    Integers are converted exactly: 1.7e18 ns needs more than a double's 53
    bits, and points are keyed by their time.
    """
    if isinstance(value, int):
        if value <= 0:
            raise TimeParseError(f"not a positive epoch time: {value!r}")
        if value < _SECONDS_CUTOFF:
            return value * NS_PER_S
        if value < _MILLIS_CUTOFF:
            return value * NS_PER_MS
        raise TimeParseError(f"epoch time out of range: {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise TimeParseError(f"not a positive epoch time: {value!r}")
    if value < _SECONDS_CUTOFF:
        return round(value * NS_PER_S)
    if value < _MILLIS_CUTOFF:
        return round(value * NS_PER_MS)
    raise TimeParseError(f"epoch time out of range: {value!r}")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAYS: dict[str, int] = {}


def _fast_utc_ns(text: str) -> int | None:
    """``YYYY-MM-DDTHH:MM:SSZ``, the shape of every sensor reading, without datetime.

    Readings of one delivery share their date, so days-since-epoch is cached per date.
    """
    if len(text) != 20 or text[19] != "Z" or text[10] != "T" or text[13] != ":" \
            or text[16] != ":":
        return None
    date = text[:10]
    days = _DAYS.get(date)
    if days is None:
        try:
            days = (datetime.fromisoformat(date + "T00:00:00+00:00") - _EPOCH).days
        except ValueError:
            return None
        if len(_DAYS) > 10_000:
            _DAYS.clear()
        _DAYS[date] = days
    clock = text[11:19]
    if not (clock[:2].isdigit() and clock[3:5].isdigit() and clock[6:].isdigit()):
        return None
    hours, minutes, seconds = int(clock[:2]), int(clock[3:5]), int(clock[6:])
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    return ((days * 24 + hours) * 60 + minutes) * 60 * NS_PER_S + seconds * NS_PER_S


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
    delta = parsed - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * NS_PER_S + delta.microseconds * 1000


def to_ns(value: object) -> int:
    """Any time shape Zoom uses: int/float epoch, numeric string, or ISO string."""
    if isinstance(value, bool) or value is None:
        raise TimeParseError(f"not a time: {value!r}")
    if isinstance(value, int | float):
        return epoch_number_to_ns(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise TimeParseError("empty time")
        fast = _fast_utc_ns(text)
        if fast is not None:
            return fast
        if text.isdecimal():
            return epoch_number_to_ns(int(text))
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


def human_duration(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3 h 5 min``, ``2 d 4 h``: two units at most, as people say it."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"
