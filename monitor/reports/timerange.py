"""Report ranges: ``--from/--to`` and the scheduled ``last_month|last_week|last_day``.

Ranges are half-open ``[start, end)`` in UTC nanoseconds, like InfluxQL's
``time >= start AND time < end``, so consecutive monthly reports never count
the same minute twice. Day boundaries are those of the range's time zone
(``--tz``, docs/reports.md): October in Berlin is 2026-10-01T00:00+02:00 to
2026-11-01T00:00+01:00, 31 days and one hour, because the clocks go back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from monitor.core.timeutil import NS_PER_S, TimeParseError, ns_to_iso, to_ns
from monitor.store.localtime import iso_local, local, zone_name

HOUR_NS = 3600 * NS_PER_S
RELATIVE = ("last_month", "last_week", "last_day")


@dataclass(frozen=True)
class TimeRange:
    start_ns: int
    end_ns: int
    tz: tzinfo = field(default=UTC, compare=False)     # the zone the range is shown in

    def __post_init__(self) -> None:
        if self.end_ns <= self.start_ns:
            raise ValueError(f"the range is empty: {ns_to_iso(self.start_ns)} is not before "
                             f"{ns_to_iso(self.end_ns)}")

    @property
    def seconds(self) -> float:
        return (self.end_ns - self.start_ns) / NS_PER_S

    def hours(self) -> TimeRange:
        """Widened to whole hours: the grain of the hourly rollup the air report reads."""
        return TimeRange(self.start_ns // HOUR_NS * HOUR_NS, -(-self.end_ns // HOUR_NS) * HOUR_NS,
                         self.tz)

    @property
    def hour_count(self) -> int:
        whole = self.hours()
        return (whole.end_ns - whole.start_ns) // HOUR_NS

    @property
    def zone_name(self) -> str:
        return zone_name(self.tz)

    def iso(self, ns: int) -> str:
        """A time of this report as its readers see it: in the range's zone, with the offset."""
        return iso_local(ns, self.tz)

    def local_dates(self) -> tuple[str, str]:
        """``YYYY-MM-DD`` of start and end in the range's zone (for file names)."""
        return (local(self.start_ns, self.tz).date().isoformat(),
                local(self.end_ns, self.tz).date().isoformat())

    def label(self) -> str:
        return f"{self.iso(self.start_ns)} to {self.iso(self.end_ns)}"


def parse_time(value: str, tz: tzinfo = UTC) -> int:
    """An ISO date or date-time (read in ``tz`` when it has no offset), or an epoch number."""
    text = value.strip()
    if text and not text.lstrip("+-").replace(".", "", 1).isdigit():
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an ISO-8601 date or date-time: {value!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz)     # fold=0: the first of a repeated hour
        return _ns(moment)
    try:
        return to_ns(text)
    except TimeParseError as exc:
        raise ValueError(str(exc)) from None


def parse_range(start: str, end: str, tz: tzinfo = UTC) -> TimeRange:
    """``--from``/``--to``: ISO dates or date-times (in ``tz`` when no offset), or epochs."""
    return TimeRange(parse_time(start, tz), parse_time(end, tz), tz)


def relative_range(name: str, now_ns: int, tz: tzinfo = UTC) -> TimeRange:
    """The last whole calendar month / ISO week (Monday first) / day before ``now``, on the
    calendar of ``tz``: from local midnight to local midnight, however long DST makes it."""
    today = local(now_ns, tz).date()
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
    return TimeRange(midnight_ns(start, tz), midnight_ns(end, tz), tz)


def midnight_ns(day: date, tz: tzinfo) -> int:
    """The start of ``day`` in ``tz``, as epoch nanoseconds."""
    return _ns(datetime.combine(day, time(0), tzinfo=tz))


def _ns(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * NS_PER_S + delta.microseconds * 1000
