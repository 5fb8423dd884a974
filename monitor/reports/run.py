"""Build one report and write it: shared by ``zrmon report`` and scheduled reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Literal

from monitor.core.atomicfile import write_bytes_atomic
from monitor.core.config import Config
from monitor.core.errors import UsageError
from monitor.core.progress import progress_bar
from monitor.reports.air_query import air_quality
from monitor.reports.guidance import load_guidance
from monitor.reports.render import Report, render
from monitor.reports.timerange import TimeRange
from monitor.reports.uptime_query import uptime
from monitor.store.influx import InfluxClient
from monitor.store.localtime import BUILDING, building_zones, zone

Kind = Literal["air-quality", "uptime"]
KINDS: tuple[Kind, ...] = ("air-quality", "uptime")


@dataclass(frozen=True)
class Request:
    kind: Kind
    span: TimeRange
    fmt: str = "html"
    building: str | None = None
    group_p95: bool = False


class ZoneError(UsageError):
    """``--tz``/``tz:`` names no usable zone (unknown name, or a building without one)."""


def resolve_zone(config: Config, name: str | None, building: str | None) -> tzinfo:
    """The zone a report is computed in: ``UTC`` (the default), an IANA name, or ``building``:
    the zone of ``building``'s city from InfluxDB, which needs ``building`` to be given —
    one report has one calendar, and "October" differs from city to city."""
    if not name:
        return UTC
    if name != BUILDING:
        try:
            return zone(name)
        except ValueError as exc:
            raise ZoneError(str(exc)) from None
    if not building:
        raise ZoneError("building needs --building (one report has one time zone; "
                        "give an IANA name such as Europe/Berlin for several buildings)")
    found = building_zones(InfluxClient(config), building).get(building)
    if not found:
        raise ZoneError(f"building {building!r} has no time zone in InfluxDB (no zoom_room "
                        "point with one: run `zrmon zoom sync`, or give an IANA name)")
    try:
        return zone(found)
    except ValueError as exc:
        raise ZoneError(f"building {building!r}: {exc}") from None


def build(config: Config, request: Request, now_ns: int) -> Report:
    """Query InfluxDB for one report; a progress bar on a terminal only."""
    client = InfluxClient(config, timeout=300.0)
    if request.kind == "uptime":
        return uptime(client, request.span, now_ns, request.building)
    lines = load_guidance(config.rules_dir)
    with progress_bar(0, "air-quality", "query") as bar:
        def total(count: int) -> None:
            bar.total = count
            bar.refresh()

        return air_quality(client, request.span, lines, building=request.building,
                           group_p95=request.group_p95, progress_total=total,
                           progress=bar.update)


def file_name(request: Request) -> str:
    """``air-quality_2026-10-01_2026-11-01.html``: sortable, and unique per range and kind;
    the dates are those of the report's zone (October in Berlin starts on 30 September UTC)."""
    start, end = request.span.local_dates()
    building = f"_{request.building}" if request.building else ""
    return f"{request.kind}{building}_{start}_{end}.{request.fmt}"


def write(config: Config, request: Request, now_ns: int, out: Path | None) -> str:
    """Render the report; write it to ``out`` atomically when given. The text either way."""
    text = render(build(config, request, now_ns), request.fmt, now_ns)
    if out is not None:
        write_bytes_atomic(out, text.encode("utf-8"), mode=0o644)
    return text
