"""The one duration grammar every file and flag reads (monitor.core.durations)."""

from __future__ import annotations

import pytest

from monitor.core.config import retention_seconds
from monitor.core.durations import (
    duration_ns,
    duration_parts,
    duration_seconds,
    seconds_or_duration,
)


@pytest.mark.parametrize(("text", "seconds"), [
    ("30s", 30.0), ("10m", 600.0), ("1h30m", 5400.0), ("1w2d", 777600.0),
    ("250ms", 0.25), ("1m30s500ms", 90.5), ("1.5h", 5400.0), ("720h0m0s", 2592000.0),
])
def test_one_grammar(text: str, seconds: float) -> None:
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "30", "30m1h", "1h1h", "5 m", "1h 30m", "-1m", "1x"])
def test_one_grammar_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        duration_parts(text)


def test_nanoseconds_are_exact() -> None:
    assert duration_ns("1w") == 604800 * 10**9
    assert duration_ns("250ms") == 250_000_000


def test_bare_seconds_only_where_asked() -> None:
    assert seconds_or_duration("90") == 90.0
    assert seconds_or_duration(1.5) == 1.5
    with pytest.raises(ValueError, match="not a duration"):
        duration_seconds("90")


@pytest.mark.parametrize(("text", "seconds"), [("30d", 2592000), ("52w", 31449600),
                                               ("720h", 2592000), ("INF", None), ("inf", None)])
def test_retention_is_the_grammar_restricted(text: str, seconds: int | None) -> None:
    assert retention_seconds(text) == seconds


@pytest.mark.parametrize("text", ["1h30m", "1.5d", "3600s", "500ms", "30", "30m1h"])
def test_retention_refuses_what_influxql_would(text: str) -> None:
    with pytest.raises(ValueError, match="not a retention duration"):
        retention_seconds(text)


# Seconds as config files and flags give them: a duration or a plain number of seconds.

@pytest.mark.parametrize(("text", "seconds"), [
    ("30s", 30.0), ("10m", 600.0), ("2h", 7200.0), ("1d", 86400.0), ("1h30m", 5400.0),
    ("1d2h3m4s", 93784.0), ("1w", 604800.0), ("1.5h", 5400.0), ("0s", 0.0),
    (45, 45.0), (1.5, 1.5), ("90", 90.0), (" 10m ", 600.0),
])
def test_seconds_or_duration(text: str | float, seconds: float) -> None:
    assert seconds_or_duration(text) == seconds


@pytest.mark.parametrize("text", [
    "30m1h", "10 minutes", "", "m", "-5", -1, "1h-30m", "5x", "inf", float("nan"), "1.2.3s",
])
def test_seconds_or_duration_refuses(text: str | float) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        seconds_or_duration(text)


def test_seconds_or_duration_refuses_non_numbers() -> None:
    for value in (True, None, [1]):
        with pytest.raises(ValueError, match="not a duration"):
            seconds_or_duration(value)  # type: ignore[arg-type]
