"""Local time: IANA zones by name, and each building's zone as the registry last saw it.

A building inherits the time zone of its city (Zoom's ``basic.timezone`` of the
city's location profile). The writer holds the registry; every other process
(reports, the rule scheduler's mute windows) reads the building's zone from the
``zoom_room`` points the writer stores once per room and registry sync
(docs/data-model.md), so they need nothing but InfluxDB.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.core.errors import UsageError
from monitor.core.timeutil import NS_PER_S
from monitor.datamodel.influxql import influxql_ident, influxql_string
from monitor.datamodel.measurements import ZOOM_ROOM
from monitor.store.influx import InfluxClient, InfluxError

log = logging.getLogger(__name__)
BUILDING = "building"       # the value of --tz / tz: / timezone: meaning "the building's zone"


class UnknownZoneError(UsageError):
    """A time zone name that is not an IANA zone (message says which and gives an example)."""


def zone(name: str) -> tzinfo:
    """The zone called ``name`` (``UTC`` or an IANA name such as ``Europe/Berlin``)."""
    if name.upper() in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownZoneError(f"unknown time zone {name!r} (use UTC, an IANA name such as "
                          "Europe/Berlin, or building)") from None


def zone_name(tz: tzinfo) -> str:
    return "UTC" if tz is UTC else str(getattr(tz, "key", tz))


def local(ns: int, tz: tzinfo) -> datetime:
    """The wall-clock time in ``tz`` at epoch nanoseconds ``ns`` (whole seconds)."""
    return datetime.fromtimestamp(ns // NS_PER_S, UTC).astimezone(tz)


def iso_local(ns: int, tz: tzinfo) -> str:
    """RFC 3339 in ``tz`` with its offset (``2026-10-01T00:00:00.000+02:00``); ``Z`` for UTC."""
    moment = datetime.fromtimestamp(ns / NS_PER_S, tz=UTC).astimezone(tz)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z") \
        if tz is UTC else moment.isoformat(timespec="milliseconds")


def building_zones_query(building: str | None = None) -> str:
    where = f' AND "building" = {influxql_string(building)}' if building else ""
    return (f'SELECT last("timezone") AS "timezone" FROM {influxql_ident(ZOOM_ROOM)} '
            f"WHERE \"timezone\" != ''{where} GROUP BY \"building\"")


def building_zones(client: InfluxClient, building: str | None = None) -> dict[str, str]:
    """Building → IANA zone name, from the latest ``zoom_room`` point of each building that
    has one (buildings whose city has no zone, or that no sync has seen, are absent)."""
    out: dict[str, str] = {}
    for series in client.query(building_zones_query(building)):
        name = series.tags.get("building", "")
        rows = series.rows()
        if name and rows and rows[0].get("timezone"):
            out[name] = str(rows[0]["timezone"])
    return out


class BuildingZones:
    """:func:`building_zones`, read again at most every ``ttl_s``; the last answer is kept
    while InfluxDB cannot be read (a mute window must not flip to UTC on an outage)."""

    def __init__(self, client: InfluxClient, ttl_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.ttl_s = ttl_s
        self.clock = clock
        self.zones: dict[str, str] = {}
        self._read_at: float | None = None

    def current(self) -> dict[str, str]:
        now = self.clock()
        if self._read_at is None or now - self._read_at >= self.ttl_s:
            self._read_at = now
            try:
                self.zones = building_zones(self.client)
            except InfluxError as exc:
                log.warning("building time zones not read from InfluxDB (kept %d): %s",
                            len(self.zones), exc)
        return self.zones
