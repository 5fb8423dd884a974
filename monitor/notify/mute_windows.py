"""Mute windows: named parts of the week, on a local clock, during which a channel gets nothing.

Kept apart from the policy that names them (:mod:`monitor.notify.policy`) because the
clock arithmetic is a concept of its own: weekdays and ranges that wrap past
midnight, read in the site's time zone or in each alert's building's
(``timezone: building``), so nobody gets a message at 3 a.m. their time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.core.timeutil import NS_PER_S
from monitor.rules.model import Alert

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class TimeRange:
    """Part of a day on some weekdays, read on the window's local clock.

    ``weekdays`` name the day the local clock shows (0 = Monday; empty = every
    day). A range that ends before it starts wraps within each listed day: it
    covers that day's evening *and* its early morning. So ``mon-fri 19:00-07:00``
    mutes every weekday night including Monday 00:00-07:00 — reading it as
    "starting Friday evening, ending Saturday morning" instead would leave the
    Sunday-night-to-Monday hole in the usual nights-and-weekends setup.
    """

    weekdays: frozenset[int] = frozenset()
    start_min: int = 0
    end_min: int = MINUTES_PER_DAY

    def contains(self, local: datetime) -> bool:
        if self.weekdays and local.weekday() not in self.weekdays:
            return False
        minute = local.hour * 60 + local.minute
        if self.start_min < self.end_min:
            return self.start_min <= minute < self.end_min
        return minute >= self.start_min or minute < self.end_min


BUILDING_ZONE = "building"      # ``timezone: building``: the zone of the alerts' buildings


@dataclass(frozen=True)
class MuteWindow:
    """Named local-time windows during which a channel gets nothing.

    ``timezone: building`` reads the window on the clock of each alert's building
    (its city's zone, see :func:`alert_zone`); ``default_timezone`` stands in for
    an alert whose building has no known zone. A group whose alerts are in several
    zones is muted only while the window is active in *every* one of them: a message
    about a building where it is working time is not held back by another's night.
    """

    name: str
    timezone: str
    times: tuple[TimeRange, ...]
    default_timezone: str = "UTC"

    @property
    def per_building(self) -> bool:
        return self.timezone == BUILDING_ZONE

    def active(self, now_ns: int, zones: Iterable[str] = ()) -> bool:
        """Active now; ``zones`` are the zones of the alerts concerned ("" if unknown)."""
        if not self.per_building:
            return self._active_in(self.timezone, now_ns)
        names = {name or self.default_timezone for name in zones} or {self.default_timezone}
        return all(self._active_in(name, now_ns) for name in sorted(names))

    def _active_in(self, timezone: str, now_ns: int) -> bool:
        try:
            tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):   # a registry zone Python does not know
            tz = ZoneInfo(self.default_timezone)
        local = datetime.fromtimestamp(now_ns // NS_PER_S, UTC).astimezone(tz)
        return any(part.contains(local) for part in self.times)


def alert_zone(alert: Alert, building_zones: Mapping[str, str]) -> str:
    """An alert's time zone: its own ``timezone`` label (a rule may set one), else its
    building's from the registry (building → IANA name), else "" (unknown)."""
    labels = alert.labels
    return labels.get("timezone") or building_zones.get(labels.get("building", ""), "")

