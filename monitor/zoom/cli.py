"""``zrmon zoom …``: the Zoom REST API from the command line.

Exit codes: 2 for what the operator must fix in the configuration (a
missing credential, credentials Zoom refuses), 1 when Zoom could not be
read (unreachable, rate or budget exhausted), one line on stderr either way.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from monitor.core.config import Config
from monitor.zoom.backfill_cli import add_command as add_backfill_command
from monitor.zoom.backfill_cli import cmd_backfill
from monitor.zoom.sync_cli import add_sync_command, cmd_zoom_rooms_cached, cmd_zoom_sync


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser],
                 config_flags: Callable[[argparse.ArgumentParser], Any]) -> None:
    from monitor.zoom.inventory import FORMATS

    zoom = commands.add_parser("zoom", help="read the Zoom REST API (docs/zoom-api.md)")
    sub = zoom.add_subparsers(dest="zoom_command", required=True)
    rooms = sub.add_parser("rooms", help="every room with location, status, devices and "
                                         "app versions, straight from the API")
    rooms.add_argument("--format", dest="fmt", choices=FORMATS, default="table")
    rooms.add_argument("--cached", action="store_true",
                       help="from the last sync's inventory file, without asking Zoom")
    config_flags(rooms)
    add_sync_command(sub, config_flags)
    add_backfill_command(sub, config_flags)


def cmd_zoom(config: Config, args: argparse.Namespace) -> int:
    from monitor.zoom.client import ZoomApi
    from monitor.zoom.errors import ZoomError
    from monitor.zoom.inventory import collect, render

    if args.zoom_command == "sync":
        return cmd_zoom_sync(config, args)
    if args.zoom_command == "backfill":
        return cmd_backfill(config, args)
    if args.zoom_command == "rooms" and args.cached:
        return cmd_zoom_rooms_cached(config, args)
    api = ZoomApi.from_config(config)      # ConfigError (exit 2) names a missing credential
    try:
        text = render(collect(api), args.fmt)
    except ZoomError as exc:
        print(f"zrmon zoom: {exc}", file=sys.stderr)
        return exc.exit_code
    finally:
        api.close()
    sys.stdout.write(text)
    return 0


HANDLERS: dict[str, Callable[[Config, argparse.Namespace], int]] = {
    "zoom": cmd_zoom,
}
