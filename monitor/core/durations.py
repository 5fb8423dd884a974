"""The one duration grammar: ``30s``, ``10m``, ``2h``, ``1d``, ``1w``, ``1h30m``, ``250ms``.

Every place that reads a duration -- rule files, the notification policy,
settings, command-line flags, the retention of the InfluxDB policies -- reads
it here, so a spelling accepted in one file is accepted in all of them. Units
go from largest to smallest, each at most once, as Prometheus writes them, so
``30m1h`` is refused rather than guessed at. Callers add only their own
restriction on top (a bare number meaning seconds, InfluxQL's single integer
unit), never a second grammar. This module imports only :mod:`monitor.core.timeutil`,
so every layer may use it.
"""

from __future__ import annotations

import math
import re

from monitor.core.timeutil import NS_PER_S

UNIT_S: dict[str, float] = {"w": 604800.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0,
                            "ms": 0.001}
UNIT_NS: dict[str, int] = {"w": 604800 * NS_PER_S, "d": 86400 * NS_PER_S,
                           "h": 3600 * NS_PER_S, "m": 60 * NS_PER_S, "s": NS_PER_S,
                           "ms": 1_000_000}
EXAMPLES = "write e.g. 30s, 10m, 2h, 1d, 1h30m"

_AMOUNT = r"\d+(?:\.\d+)?"
_GRAMMAR = re.compile("".join(f"(?:(?P<{unit}>{_AMOUNT}){unit})?" for unit in UNIT_S))


def duration_parts(text: str) -> list[tuple[str, str]]:
    """``(amount, unit)`` pairs of ``text``, largest unit first; ValueError if it is no duration.

    The amounts stay text so a caller that needs integers (InfluxQL) can say
    so, and nanoseconds are summed without a float in between.
    """
    raw = text.strip()
    match = _GRAMMAR.fullmatch(raw)
    if not raw or match is None:
        raise ValueError(f"not a duration: {text!r} ({EXAMPLES})")
    return [(amount, unit) for unit, amount in match.groupdict().items() if amount]


def duration_seconds(text: str) -> float:
    """Seconds of a duration written with units; a bare number is refused here."""
    return sum(float(amount) * UNIT_S[unit] for amount, unit in duration_parts(text))


def duration_ns(text: str) -> int:
    """Nanoseconds of a duration written with units, exact for whole amounts."""
    return sum(round(float(amount) * UNIT_NS[unit]) for amount, unit in duration_parts(text))


def seconds_or_duration(text: str | float) -> float:
    """Seconds from a duration or a plain number of seconds (``90``, ``"90"``, ``1.5``).

    Finite and non-negative only: a duration is a span of time, and ``inf``
    or ``-1`` in a rule file is a typo, not a wish.
    """
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise ValueError(f"not a duration: {text!r} ({EXAMPLES})")
    seconds = float(text) if not isinstance(text, str) else _text_seconds(text)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"not a duration: {text!r} (must be a finite, non-negative time)")
    return seconds


def _text_seconds(text: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        return duration_seconds(text)
