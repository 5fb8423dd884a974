"""``zrmon report air-quality|uptime --from … --to … [--tz] [--building] [--format] [--out]``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from monitor.core.config import Config
from monitor.core.configfile import ConfigFileErrors
from monitor.core.exitcodes import EXIT_USAGE


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser],
                 config_flags: Callable[[argparse.ArgumentParser], Any]) -> None:
    report = commands.add_parser("report", help="air-quality and uptime reports (HTML/CSV/JSON)")
    sub = report.add_subparsers(dest="report_kind", required=True)
    for kind, text in (("air-quality", "air quality per room, floor and building"),
                       ("uptime", "availability and incidents per room")):
        parser = sub.add_parser(kind, help=text)
        parser.add_argument("--from", dest="start", required=True, metavar="TIME",
                            help="start, e.g. 2026-10-01 (in --tz unless an offset is given)")
        parser.add_argument("--to", dest="end", required=True, metavar="TIME",
                            help="end (exclusive), e.g. 2026-11-01")
        parser.add_argument("--building", help="only the rooms of this building")
        parser.add_argument("--tz", default="UTC", metavar="ZONE",
                            help="days and times in this zone: UTC (default), an IANA name "
                                 "such as Europe/Berlin, or building (the zone of --building's "
                                 "city, from the registry)")
        parser.add_argument("--format", dest="fmt", choices=("html", "csv", "json"),
                            help="default: from --out's suffix, else html")
        parser.add_argument("--out", type=Path, help="file to write (default: stdout)")
        if kind == "air-quality":
            parser.add_argument("--group-p95", action="store_true",
                                help="p95 per floor, building and fleet too (slower)")
        config_flags(parser)


def cmd_report(config: Config, args: argparse.Namespace) -> int:
    from monitor.reports.guidance import GuidanceError
    from monitor.reports.run import Request, ZoneError, resolve_zone, write
    from monitor.reports.timerange import parse_range


    try:
        tz = resolve_zone(config, args.tz, args.building)
    except ZoneError as exc:
        print(f"zrmon: --tz: {exc}", file=sys.stderr)
        return exc.exit_code
    try:
        span = parse_range(args.start, args.end, tz)
    except ValueError as exc:
        print(f"zrmon: --from/--to: {exc}", file=sys.stderr)
        return EXIT_USAGE
    fmt = args.fmt or _format_from(args.out)
    request = Request(args.report_kind, span, fmt, args.building,
                      getattr(args, "group_p95", False))
    try:
        text = write(config, request, time.time_ns(), args.out)
    except (GuidanceError, ConfigFileErrors) as exc:
        first = str(exc).splitlines()[0]
        print(f"zrmon: guidance thresholds: {first}", file=sys.stderr)
        return exc.exit_code
    if args.out is None:
        sys.stdout.write(text)
    else:
        print(f"zrmon: wrote {args.out}", file=sys.stderr)
    return 0


def _format_from(out: Path | None) -> str:
    suffix = out.suffix.lower().lstrip(".") if out is not None else ""
    return suffix if suffix in ("html", "csv", "json") else "html"


HANDLERS: dict[str, Callable[[Config, argparse.Namespace], int]] = {"report": cmd_report}
