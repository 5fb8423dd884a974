"""Report ranges: ``--from/--to`` and the scheduled ``last_month|last_week|last_day``.

Ranges are half-open ``[start, end)`` in UTC nanoseconds, like InfluxQL's
``time >= start AND time < end``, so consecutive monthly reports never count
the same minute twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from monitor.timeutil import NS_PER_S, TimeParseError, ns_to_iso, to_ns

HOUR_NS = 3600 * NS_PER_S
RELATIVE = ("last_month", "last_week", "last_day")


@dataclass(frozen=True)
class TimeRange:
    start_ns: int
    end_ns: int

    def __post_init__(self) -> None:
        if self.end_ns <= self.start_ns:
            raise ValueError(f"the range is empty: {ns_to_iso(self.start_ns)} is not before "
                             f"{ns_to_iso(self.end_ns)}")

    @property
    def seconds(self) -> float:
        return (self.end_ns - self.start_ns) / NS_PER_S

    def hours(self) -> TimeRange:
        """Widened to whole hours: the grain of the hourly rollup the air report reads."""
        return TimeRange(self.start_ns // HOUR_NS * HOUR_NS, -(-self.end_ns // HOUR_NS) * HOUR_NS)

    @property
    def hour_count(self) -> int:
        whole = self.hours()
        return (whole.end_ns - whole.start_ns) // HOUR_NS

    def label(self) -> str:
        return f"{ns_to_iso(self.start_ns)} to {ns_to_iso(self.end_ns)}"


def parse_range(start: str, end: str) -> TimeRange:
    """``--from``/``--to``: ISO dates or date-times (UTC when no offset), or epoch numbers."""
    try:
        return TimeRange(to_ns(start), to_ns(end))
    except TimeParseError as exc:
        raise ValueError(str(exc)) from None


def relative_range(name: str, now_ns: int) -> TimeRange:
    """The last whole calendar month / ISO week (Monday first) / day before ``now``, in UTC."""
    now = datetime.fromtimestamp(now_ns / NS_PER_S, tz=UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if name == "last_day":
        start, end = today - timedelta(days=1), today
    elif name == "last_week":
        end = today - timedelta(days=today.weekday())
        start = end - timedelta(days=7)
    elif name == "last_month":
        end = today.replace(day=1)
        start = (end - timedelta(days=1)).replace(day=1)
    else:
        raise ValueError(f"unknown range {name!r} (use one of {', '.join(RELATIVE)})")
    return TimeRange(_ns(start), _ns(end))


def _ns(moment: datetime) -> int:
    return int(moment.timestamp()) * NS_PER_S
