"""Instants given on a wall clock, for tests of mute windows and policies."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

NS = 1_000_000_000
BERLIN = ZoneInfo("Europe/Berlin")


def berlin_ns(text: str) -> int:
    """An instant given on Berlin's wall clock, e.g. ``2027-01-13 19:00`` (a Wednesday)."""
    return int(datetime.fromisoformat(text).replace(tzinfo=BERLIN).timestamp()) * NS
