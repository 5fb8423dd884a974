"""promtool's compact series notation, for rule unit tests.

``900x2 1100+50x3 _ 950`` expands to ``900 900 900 1100 1150 1200 1250 _ 950``:
``a+bxn`` is ``a`` then ``n`` more values each ``b`` higher, ``axn`` is ``a``
repeated ``n + 1`` times, and ``_`` (or ``_xn``, ``n`` gaps) is a missing sample.
"""

from __future__ import annotations

import re

from monitor.core.errors import UsageError

_TERM = re.compile(r"^(?P<start>-?\d+(?:\.\d+)?|_)(?:(?P<step>[+-]\d+(?:\.\d+)?)?x(?P<n>\d+))?$")


class SeriesError(UsageError):
    """A term that is not promtool notation."""


def expand(text: str) -> list[float | None]:
    values: list[float | None] = []
    for term in text.split():
        match = _TERM.match(term)
        if match is None:
            raise SeriesError(f"not a series term: {term!r} (expected e.g. 900, 900x3, "
                              "900+10x3, _ or _x3)")
        values.extend(_term(match))
    return values


def _term(match: re.Match[str]) -> list[float | None]:
    start, step, repeat = match["start"], match["step"], match["n"]
    if start == "_":
        if step is not None:
            raise SeriesError("a gap cannot have a step")
        return [None] * (int(repeat) if repeat is not None else 1)
    first = float(start)
    if repeat is None:
        return [first]
    delta = float(step) if step is not None else 0.0
    return [first + delta * i for i in range(int(repeat) + 1)]
