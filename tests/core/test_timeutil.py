"""Every time shape Zoom sends, normalised to exact nanoseconds."""

from __future__ import annotations

import pytest

from monitor.core.timeutil import TimeParseError, iso_to_ns, ns_to_iso, to_ns

S = 1_793_527_200  # 2026-11-01T10:00:00Z


@pytest.mark.parametrize("value", [S, S * 1000, str(S * 1000), f" {S} ", "2026-11-01T10:00:00Z",
                                   "2026-11-01T11:00:00+01:00", "2026-11-01T10:00:00",
                                   float(S)])
def test_shapes_agree(value: object) -> None:
    assert to_ns(value) == S * 10**9


def test_milliseconds_are_exact() -> None:
    assert to_ns(1_718_755_200_123) == 1_718_755_200_123_000_000
    assert to_ns("1718755200123") == 1_718_755_200_123_000_000


def test_fast_path_matches_the_general_parser() -> None:
    for text in ("2026-01-01T00:00:00Z", "2024-02-29T23:59:59Z", "1999-12-31T12:34:56Z"):
        assert to_ns(text) == iso_to_ns(text)


@pytest.mark.parametrize("value", ["", "yesterday", None, True, {}, 0, -5, "2026-02-30T00:00:00Z",
                                   "2026-11-01T24:00:00Z", float("nan"), 10**20])
def test_rejects_what_is_not_a_time(value: object) -> None:
    with pytest.raises(TimeParseError):
        to_ns(value)


def test_iso_rendering() -> None:
    assert ns_to_iso(S * 10**9 + 123_000_000) == "2026-11-01T10:00:00.123Z"
