"""``zrmon zoom backfill``: the command around :mod:`monitor.zoom.backfill`.

Kept apart so that building the argument parser does not import the intake and the
store. Exit codes: 0 stored and rollups refreshed; 1 Zoom could not be read (budget,
rate limit, unavailable) or the writer has not stored everything in time: run the same
command again; 2 a configuration or usage problem; 130 interrupted (resumable).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from monitor.core.config import Config
from monitor.core.exitcodes import EXIT_INTERRUPTED, EXIT_USAGE
from monitor.core.timeutil import NS_PER_S

if TYPE_CHECKING:
    from monitor.zoom.client import ZoomApi

READINGS_PER_ROOM_DAY = 9 * 288      # nine sensor types every 5 minutes



def add_command(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                config_flags: Callable[[argparse.ArgumentParser], Any]) -> None:
    parser = sub.add_parser("backfill", help="sensor history from the REST API into the "
                                             "sensor measurement (resumable)")
    parser.add_argument("--from", dest="start", required=True, metavar="TIME",
                        help="start (ISO date/time or epoch, UTC)")
    parser.add_argument("--to", dest="end", metavar="TIME", help="end, exclusive (default now)")
    parser.add_argument("--room", dest="rooms", action="append", default=[], metavar="ID",
                        help="only this room (either of its ids); repeatable")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the requests and the time the budget needs, and stop")
    parser.add_argument("--readings-per-day", type=int, default=READINGS_PER_ROOM_DAY,
                        help="the dry run's guess of readings per room-day "
                             f"(default {READINGS_PER_ROOM_DAY}: nine sensors every 5 min)")
    parser.add_argument("--drain-timeout", default="10m", metavar="DURATION",
                        help="how long to wait for the writer before refreshing the rollups")
    config_flags(parser)


def _range(args: argparse.Namespace) -> tuple[int, int]:
    from monitor.core.timeutil import to_ns

    end_ns = to_ns(args.end) if args.end else time.time_ns()
    start_ns = to_ns(args.start)
    return start_ns // NS_PER_S, -(-end_ns // NS_PER_S)


def _parse(args: argparse.Namespace) -> tuple[int, int, float] | str:
    """The range and the drain timeout, or what is wrong with them."""
    from monitor.core.durations import seconds_or_duration
    from monitor.core.timeutil import TimeParseError

    try:
        start_s, end_s = _range(args)
        drain_timeout = seconds_or_duration(args.drain_timeout)
    except (TimeParseError, ValueError) as exc:
        return str(exc)
    if start_s >= end_s:
        return "--from must be before --to"
    return start_s, end_s, drain_timeout


def cmd_backfill(config: Config, args: argparse.Namespace) -> int:
    from monitor.zoom.client import ZoomApi
    from monitor.zoom.errors import ZoomAuthError, ZoomError

    parsed = _parse(args)
    if isinstance(parsed, str):
        print(f"zrmon zoom backfill: {parsed}", file=sys.stderr)
        return EXIT_USAGE
    start_s, end_s, drain_timeout = parsed
    api = ZoomApi.from_config(config)      # ConfigError (exit 2) names a missing credential
    try:
        if args.dry_run:
            return _dry_run(config, api, start_s, end_s, args)
        return _backfill(config, api, start_s, end_s, args.rooms, drain_timeout)
    except KeyboardInterrupt:
        print("zrmon zoom backfill: interrupted; every page spooled so far is kept: run the "
              "same command again to go on", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ZoomError as exc:
        resume = "" if isinstance(exc, ZoomAuthError) else (
            "; what is spooled is kept: run the same command again to go on")
        print(f"zrmon zoom backfill: {exc}{resume}", file=sys.stderr)
        return exc.exit_code
    finally:
        api.close()


def _dry_run(config: Config, api: ZoomApi, start_s: int, end_s: int,
             args: argparse.Namespace) -> int:
    from monitor.zoom.backfill import Backfill
    from monitor.zoom.backfill_estimate import describe, estimate
    from monitor.zoom.sensor_windows import zoom_time_s

    backfill = Backfill(config, api, start_s, end_s)
    if args.rooms:          # no request at all: the rooms are named
        rooms, listing = list(args.rooms), 0
    else:
        rooms = [room.id for room in api.rooms()]
        listing = max(1, math.ceil(len(rooms) / api.settings.page_size))
    found = estimate(backfill, rooms, listing_requests=listing,
                     readings_per_day=args.readings_per_day)
    sys.stdout.write(f"range: {zoom_time_s(start_s)} .. {zoom_time_s(end_s)}\n" + describe(found))
    return 0


def _backfill(config: Config, api: ZoomApi, start_s: int, end_s: int,  # noqa: PLR0917
              rooms: Sequence[str], drain_timeout: float) -> int:
    from monitor.core.progress import progress_bar
    from monitor.store.influx import InfluxError
    from monitor.store.retention import chunk_count
    from monitor.zoom.backfill import Backfill, refresh_rollups, resolve_targets
    from monitor.zoom.sensor_sink import wait_drained
    from monitor.zoom.sensor_windows import DAY_S

    targets, unknown = resolve_targets(api, rooms)
    if unknown:
        print(f"zrmon zoom backfill: --room {unknown[0]}: no such room in GET /rooms",
              file=sys.stderr)
        return EXIT_USAGE
    backfill = Backfill(config, api, start_s, end_s)
    total = backfill.remaining_windows(t.id for t in targets)
    with progress_bar(total, "backfill", "room-day") as bar:
        result = backfill.run(targets, progress=bar.update)
    print(f"zrmon zoom backfill: {result.rooms} rooms, {result.windows} room-days, "
          f"{result.readings} readings in {result.events} events spooled, "
          f"{api.stats.requests} requests", file=sys.stderr)
    checkpoint = backfill.checkpoint
    if not wait_drained(config, checkpoint.spooled, drain_timeout):
        print(f"zrmon zoom backfill: the writer has not stored everything yet after "
              f"{drain_timeout:.0f} s (is `zrmon serve` or `zrmon writer` running?); run the "
              "same command again to refresh the rollups once it has", file=sys.stderr)
        return 1
    try:
        with progress_bar(chunk_count(start_s * NS_PER_S, end_s * NS_PER_S, DAY_S),
                          "rollups", "chunk") as bar:
            written = refresh_rollups(config, start_s, end_s, progress=bar.update)
    except InfluxError as exc:
        print(f"zrmon zoom backfill: rollups not refreshed: InfluxDB: {exc} (run `zrmon influx "
              "setup`, then this command again)", file=sys.stderr)
        return 1
    checkpoint.rollups = True
    checkpoint.write()
    print(f"zrmon zoom backfill: stored; {written} rollup points recomputed", file=sys.stderr)
    return 0
