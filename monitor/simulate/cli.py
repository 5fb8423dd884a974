"""``zrmon simulate``: post realistic, signed Zoom Rooms webhooks to a receiver.

Bad flags exit with code 2 and one line naming the flag; a wrong secret
(the receiver answers 401) exits with code 2 too, saying which secret; a
receiver that stays unavailable exits with code 1. Ctrl-C stops cleanly
after the events in flight are acknowledged.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from monitor.core.config import Config
from monitor.core.errors import UsageError
from monitor.core.exitcodes import EXIT_USAGE

MAX_ROOMS = 10_000
log = logging.getLogger("monitor.simulate")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser],
                 config_flags: Callable[[argparse.ArgumentParser], Any]) -> None:
    sim = commands.add_parser(
        "simulate", help="post realistic signed Zoom Rooms webhooks (demo, load, tests)",
        description="Simulate Zoom Rooms: sensors, meetings, check-ins, reservations and "
                    "outages, posted as signed webhooks. See docs/simulator.md.")
    sim.add_argument("--url", default="http://127.0.0.1:8080/webhooks/zoom",
                     help="the receiver's webhook URL (default: %(default)s)")
    sim.add_argument("--rooms", type=int, default=20, help="number of rooms (default: 20)")
    sim.add_argument("--secret", help="Zoom secret token (default: $ZOOM_WEBHOOK_SECRET_TOKEN)")
    sim.add_argument("--backfill", default="0",
                     help="history to post first, as fast as the receiver takes it, e.g. 7d")
    sim.add_argument("--backfill-only", action="store_true",
                     help="stop after the backfill instead of going live")
    sim.add_argument("--speed", type=float, default=1.0,
                     help="live mode: simulated seconds per real second (60: a minute a second)")
    sim.add_argument("--step", default="5m", help="time between two sensor reports (default 5m)")
    sim.add_argument("--duration", help="stop live mode after this much real time, e.g. 90s")
    sim.add_argument("--seed", type=int, default=1, help="same seed, same rooms and events")
    sim.add_argument("--threads", type=int, default=4, help="concurrent connections")
    sim.add_argument("--demo-faults", action=argparse.BooleanOptionalAction, default=True,
                     help="rooms 2-4 misbehave on purpose (docs/simulator.md)")
    sim.add_argument("--wait-ready", default="0",
                     help="first wait up to this long for the receiver's /readyz, e.g. 60s")
    sim.add_argument("--api-port", type=int, metavar="PORT",
                     help="also serve the rooms as a Zoom REST API (and OAuth) on this port "
                          "(0: a free one) for `zrmon zoom sync/backfill`")
    sim.add_argument("--api-host", default="127.0.0.1", help="the API's address (%(default)s)")
    sim.add_argument("--api-history", default="1d",
                     help="sensor history the API holds before the start (default 1d)")
    sim.add_argument("--print-api-env", action="store_true",
                     help="print the ZOOM_*/ZRMON_ZOOM_* settings of --api-port and exit")


def cmd_simulate(config: Config, args: argparse.Namespace) -> int:
    from monitor.simulate.poster import PostError
    from monitor.simulate.runner import run

    try:
        plan = _plan(config, args)
    except UsageError as exc:
        print(f"zrmon simulate: {exc}", file=sys.stderr)
        return exc.exit_code
    if args.print_api_env:
        return _print_api_env(plan)
    stop = threading.Event()
    previous = _stop_on_signals(stop)
    started = time.monotonic()
    try:
        stats = run(plan, stop, on_api=_announce)
    except PostError as exc:   # a wrong secret ends with 2, an unreachable receiver with 1
        print(f"zrmon simulate: {exc}", file=sys.stderr)
        return exc.exit_code
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    elapsed = time.monotonic() - started
    print(f"zrmon simulate: {stats.posted} events posted in {elapsed:.1f} s "
          f"({stats.retries} retries, {stats.rejected} refused)"
          + ("; stopped" if stop.is_set() else ""), file=sys.stderr)
    return 1 if stats.rejected else 0


def _print_api_env(plan: Any) -> int:
    """``KEY=value`` lines for the API ``plan`` would serve (for `make demo`'s ``export``)."""
    from monitor.simulate.fleet import make_fleet
    from monitor.zoom.fake_faults import FakeOptions

    if plan.api_port is None or plan.api_port == 0:
        print("zrmon simulate: --print-api-env needs --api-port PORT (not 0)", file=sys.stderr)
        return EXIT_USAGE
    options, base = FakeOptions(), f"http://{plan.api_host}:{plan.api_port}"
    env = {"ZOOM_ACCOUNT_ID": make_fleet(1, plan.seed).account_id,
           "ZOOM_CLIENT_ID": options.client_id, "ZOOM_CLIENT_SECRET": options.client_secret,
           "ZRMON_ZOOM_API_URL": base + "/v2", "ZRMON_ZOOM_OAUTH_URL": base + "/oauth/token"}
    print("\n".join(f"{key}={value}" for key, value in env.items()))
    return 0


def _announce(api: Any) -> None:
    env = api.env()
    print(f"zrmon simulate: Zoom API for {len(api.account.rooms)} rooms at "
          f"{env['ZRMON_ZOOM_API_URL']} ({api.history.count()} sensor reports of history; "
          f"ZOOM_ACCOUNT_ID={env['ZOOM_ACCOUNT_ID']}, ZOOM_CLIENT_ID={env['ZOOM_CLIENT_ID']}, "
          "the secret from --print-api-env)", file=sys.stderr, flush=True)


def _stop_on_signals(stop: threading.Event) -> dict[int, Any]:
    """Ctrl-C and SIGTERM finish the events in flight, then stop (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    return {signum: signal.signal(signum, on_signal)
            for signum in (signal.SIGINT, signal.SIGTERM)}


def _plan(config: Config, args: argparse.Namespace) -> Any:
    from monitor.simulate.runner import RunPlan

    secret = args.secret if args.secret is not None else config.secret_token
    if not secret:
        raise UsageError("no secret: pass --secret or set ZOOM_WEBHOOK_SECRET_TOKEN")
    parts = urlsplit(args.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--url: not an http(s) URL: {args.url!r}")
    if not 1 <= args.rooms <= MAX_ROOMS:
        raise UsageError(f"--rooms: must be between 1 and {MAX_ROOMS}, got {args.rooms}")
    if not 1 <= args.threads <= 64:
        raise UsageError(f"--threads: must be between 1 and 64, got {args.threads}")
    step = _duration("--step", args.step)
    if step < 1:
        raise UsageError(f"--step: must be at least 1s, got {args.step!r}")
    if not args.speed > 0:
        raise UsageError(f"--speed: must be positive, got {args.speed:g}")
    if not args.backfill_only and step / args.speed < 1:
        raise UsageError(f"--speed: {args.speed:g} with --step {args.step} would stamp "
                         "readings less than a second apart (Zoom's times are whole seconds)")
    duration = _duration("--duration", args.duration) if args.duration else None
    if duration is not None and duration <= 0:
        raise UsageError(f"--duration: must be positive, got {args.duration!r}")
    if args.api_port is not None and not 0 <= args.api_port <= 65535:
        raise UsageError(f"--api-port: must be between 0 and 65535, got {args.api_port}")
    return RunPlan(url=args.url, secret=secret, rooms=args.rooms, seed=args.seed,
                   step_s=int(step), backfill_s=_duration("--backfill", args.backfill),
                   backfill_only=args.backfill_only, speed=args.speed, duration_s=duration,
                   threads=args.threads, faults=args.demo_faults,
                   wait_ready_s=_duration("--wait-ready", args.wait_ready),
                   history_s=_duration("--api-history", args.api_history),
                   api_host=args.api_host, api_port=args.api_port)


def _duration(flag: str, text: str) -> float:
    from monitor.core.durations import seconds_or_duration

    try:
        return seconds_or_duration(text)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None


HANDLERS: dict[str, Callable[[Config, argparse.Namespace], int]] = {
    "simulate": cmd_simulate,
}
