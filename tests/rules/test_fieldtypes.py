"""Rule-file values: the duration grammar rule files read (plain numbers are seconds)."""

from __future__ import annotations

import pytest

from monitor.rules.fieldtypes import parse_duration


@pytest.mark.parametrize(("text", "seconds"), [
    ("30s", 30.0), ("10m", 600.0), ("2h", 7200.0), ("1d", 86400.0), ("1h30m", 5400.0),
    ("1d2h3m4s", 93784.0), ("1w", 604800.0), ("1.5h", 5400.0), ("0s", 0.0),
    (45, 45.0), (1.5, 1.5), ("90", 90.0), (" 10m ", 600.0),
])
def test_parse_duration(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", [
    "30m1h", "10 minutes", "", "m", "-5", -1, "1h-30m", "5x", "inf", float("nan"), "1.2.3s",
])
def test_parse_duration_refuses(text: str | float) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_parse_duration_refuses_non_numbers() -> None:
    for value in (True, None, [1]):
        with pytest.raises(ValueError, match="not a duration"):
            parse_duration(value)  # type: ignore[arg-type]
