"""Build one report and write it: shared by ``zrmon report`` and scheduled reports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from monitor.atomicfile import write_bytes_atomic
from monitor.config import Config
from monitor.reports.air_query import air_quality
from monitor.reports.guidance import load_guidance
from monitor.reports.progress import progress_bar
from monitor.reports.render import Report, render
from monitor.reports.timerange import TimeRange
from monitor.reports.uptime_query import uptime
from monitor.store.influx import InfluxClient
from monitor.timeutil import ns_to_iso

Kind = Literal["air-quality", "uptime"]
KINDS: tuple[Kind, ...] = ("air-quality", "uptime")


@dataclass(frozen=True)
class Request:
    kind: Kind
    span: TimeRange
    fmt: str = "html"
    building: str | None = None
    group_p95: bool = False


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
    """``air-quality_2026-10-01_2026-11-01.html``: sortable, and unique per range and kind."""
    start, end = (ns_to_iso(ns)[:10] for ns in (request.span.start_ns, request.span.end_ns))
    building = f"_{request.building}" if request.building else ""
    return f"{request.kind}{building}_{start}_{end}.{request.fmt}"


def write(config: Config, request: Request, now_ns: int, out: Path | None) -> str:
    """Render the report; write it to ``out`` atomically when given. The text either way."""
    text = render(build(config, request, now_ns), request.fmt, now_ns)
    if out is not None:
        write_bytes_atomic(out, text.encode("utf-8"), mode=0o644)
    return text
