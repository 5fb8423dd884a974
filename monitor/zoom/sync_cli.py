"""``zrmon zoom sync`` and ``zrmon zoom rooms --cached``: the registry sync by hand, and the
inventory it leaves, without a request to Zoom (docs/zoom-api.md, "Registry sync").

Exit codes as every ``zrmon zoom`` command: 2 for missing or refused credentials, 1 when
Zoom could not be read, one line on stderr either way.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from monitor.core.config import Config


def add_sync_command(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                     config_flags: Callable[[argparse.ArgumentParser], Any]) -> None:
    sync = sub.add_parser("sync", help="rooms, locations and devices from the API into the "
                                       "registry (one snapshot in the spool) and the inventory")
    sync.add_argument("--json", action="store_true", help="print the summary as JSON")
    config_flags(sync)


def cmd_zoom_sync(config: Config, args: argparse.Namespace) -> int:
    """One registry sync now; the writer applies the snapshot when it drains the spool."""
    from monitor.zoom.errors import ZoomError
    from monitor.zoom.sync import Syncer

    syncer = Syncer(config)                # ConfigError (exit 2) names a missing credential
    try:
        result = syncer.sync()
    except ZoomError as exc:
        print(f"zrmon zoom sync: {exc}", file=sys.stderr)
        return exc.exit_code
    finally:
        syncer.close()
    if args.json:
        print(json.dumps({"rooms": result.rooms, "locations": result.locations,
                          "timezones": result.timezones, "devices": result.devices,
                          "device_errors": result.device_errors,
                          "started_ns": result.started_ns}))
    else:
        print(f"zrmon zoom sync: {result.summary()}; snapshot spooled")
    if not (config.state_dir / "writer.lock").exists():
        print(f"zrmon zoom sync: no writer has run on {config.data_dir} yet: the snapshot "
              "waits in its spool until one does", file=sys.stderr)
    return 0


def cmd_zoom_rooms_cached(config: Config, args: argparse.Namespace) -> int:
    """``zrmon zoom rooms --cached``: the inventory file, no credentials and no request."""
    from monitor.zoom.inventory import inventory_path, read_inventory, render

    synced_ns, rows = read_inventory(config.state_dir)
    if not synced_ns:
        print(f"zrmon zoom rooms: no inventory yet ({inventory_path(config.state_dir)}); "
              "run `zrmon zoom sync` or set the Zoom credentials of `zrmon serve`",
              file=sys.stderr)
        return 1
    sys.stdout.write(render(rows, args.fmt))
    return 0
