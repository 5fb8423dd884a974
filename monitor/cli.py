"""``zrmon``: the one command operators use.

Configuration errors exit with code 2 and one line naming the variable, so a
misconfigured container fails fast and says why.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path
from types import FrameType
from typing import Any

from monitor.core.config import Config
from monitor.core.errors import MonitorError, describe
from monitor.core.exitcodes import EXIT_USAGE
from monitor.store.lock import LOCK_FD_ENV, AlreadyRunningError, RoleLock, inherited
from monitor.store.quarantine import Quarantine

Handler = Callable[[Config, argparse.Namespace], int]


def _config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per setting, named after it: ``ZRMON_INFLUX_URL`` ↔ ``--influx-url``."""
    group = parser.add_argument_group("configuration (each flag overrides its variable)")
    for spec in fields(Config):
        variable = spec.metadata["env"]
        group.add_argument(f"--{spec.name.replace('_', '-')}", dest=f"cfg_{spec.name}",
                           metavar=variable, help=f"default: {spec.default!s}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zrmon", description="Zoom Rooms monitor")
    parser.add_argument("--log-level", default="INFO")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the webhook receiver and the writer")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=2)
    serve.add_argument("--threads", type=int, default=8)
    serve.add_argument("--admin-host", default="127.0.0.1")
    serve.add_argument("--admin-port", type=int, default=9108)
    serve.add_argument("--embedded-influxd", metavar="DIR", type=Path,
                       help="start a private influxd with its data under DIR (for `make run`)")
    serve.add_argument("--no-rules", action="store_true",
                       help="receive only, evaluate no rules (= ZRMON_EVALUATE=false; "
                            "`zrmon scheduler` evaluates)")
    _config_flags(serve)

    writer = commands.add_parser("writer", help="drain the spool into InfluxDB (part of serve)")
    writer.add_argument("--admin-host", default="127.0.0.1")
    writer.add_argument("--admin-port", type=int, default=9108)
    _config_flags(writer)

    spool = commands.add_parser("spool", help="inspect the spool")
    spool_commands = spool.add_subparsers(dest="spool_command", required=True)
    status = spool_commands.add_parser("status", help="depth and age of the oldest entry")
    status.add_argument("--json", action="store_true")
    _config_flags(status)
    drain = spool_commands.add_parser(
        "drain", help="write what a replica's spool holds, then exit (e.g. a dead host's disk "
                      "mounted here; --replica when its data directory lost its id; docs/ha.md)")
    _config_flags(drain)

    quarantine = commands.add_parser("quarantine", help="events that failed validation")
    q_commands = quarantine.add_subparsers(dest="quarantine_command", required=True)
    q_list = q_commands.add_parser("list", help="list quarantined events")
    q_list.add_argument("--json", action="store_true")
    _config_flags(q_list)
    q_replay = q_commands.add_parser("replay", help="validate again and spool what passes")
    q_replay.add_argument("ids", nargs="*", help="ids to replay (default: all)")
    _config_flags(q_replay)

    for module in _command_modules():
        module.add_commands(commands, _config_flags)
    return parser


# Each concept owns its subcommands: a module with ``add_commands(commands, config_flags)``
# and ``HANDLERS`` (command name -> handler), imported only when the parser is built.
COMMAND_MODULES = (
    "monitor.runtime.rules_cli",
    "monitor.store.cli",
    "monitor.simulate.cli",
    "monitor.reports.cli",
    "monitor.zoom.cli",
)


def _command_modules() -> list[Any]:
    return [importlib.import_module(name) for name in COMMAND_MODULES]


def _handler(command: str) -> Handler:
    if command in _HANDLERS:
        return _HANDLERS[command]
    for module in _command_modules():
        if command in module.HANDLERS:
            handler: Handler = module.HANDLERS[command]
            return handler
    raise KeyError(command)


def _config(args: argparse.Namespace) -> Config:
    flags = {spec.metadata["env"]: getattr(args, f"cfg_{spec.name}", None)
             for spec in fields(Config)}
    return Config.from_env({**os.environ, **{k: v for k, v in flags.items() if v is not None}})


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = _config(args)
        return _handler(args.command)(config, args)
    except MonitorError as exc:   # every command ends here on an error: its line, its kind's code
        print(f"zrmon: {describe(exc)}", file=sys.stderr)
        return exc.exit_code


def cmd_serve(config: Config, args: argparse.Namespace) -> int:
    from monitor.runtime.supervisor import Listen, Supervisor

    config.require_secret()
    if args.no_rules:
        config = config.with_(evaluate=False)
    if config.evaluate:
        from monitor.runtime.evaluator import startup_problem

        problem = startup_problem(config.rules_dir)
        if problem is not None:
            print(f"zrmon: {problem}", file=sys.stderr)
            return EXIT_USAGE
    listen = Listen(args.host, args.port, args.workers, args.threads, args.admin_host,
                    args.admin_port)
    if args.embedded_influxd is None:
        return Supervisor(config, listen).run()
    from monitor.store.influxd import LocalInfluxd, port_is_free

    port = 8086 if port_is_free(8086) else 0
    influxd = LocalInfluxd(args.embedded_influxd, http_port=port).start()
    print(f"zrmon: embedded influxd at {influxd.url}, data in {args.embedded_influxd}",
          file=sys.stderr)
    try:
        return Supervisor(config.with_(influx_url=influxd.url), listen).run()
    finally:
        influxd.stop()


def cmd_writer(config: Config, args: argparse.Namespace) -> int:
    from monitor.runtime.adminserver import start_admin_server
    from monitor.runtime.app import create_admin_app
    from monitor.store.writer import Writer, wait_for_usable_state

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    locks = _own_roles(config)
    admin = start_admin_server(create_admin_app(config), args.admin_host, args.admin_port)
    rules = _start_rules(config)
    stats = _start_receiver_stats(config, stop)
    zoom_sync = _start_zoom_sync(config, stop)
    gap_fill = _start_gap_fill(config, stop)
    try:
        if wait_for_usable_state(config, stop):
            Writer(config, stop=stop).run()
    finally:
        stats.join(timeout=5)
        if zoom_sync is not None:
            zoom_sync.join(timeout=5)
        if gap_fill is not None:
            gap_fill.join(timeout=5)
        if rules is not None:
            rules()
        admin.shutdown()
        for lock in locks:
            lock.release()
    return 0


def _own_roles(config: Config) -> list[RoleLock]:
    """The writer's lock (shared with ``zrmon serve`` when it started us) and, when this
    process evaluates, the evaluator's: one owner per state, or exit 2 saying who."""
    locks: list[RoleLock] = []
    try:
        if not inherited(os.environ.get(LOCK_FD_ENV)):
            locks.append(RoleLock(config.state_dir, "writer").acquire())
        if config.evaluate:
            locks.append(RoleLock(config.state_dir, "evaluator").acquire())
    except AlreadyRunningError:
        for lock in locks:
            lock.release()
        raise
    return locks


def _start_rules(config: Config) -> Any:
    """The rule engine runs here, in the one writer process, never in gunicorn workers.

    ``zrmon serve`` refused broken rule files before starting this process; if
    they broke since, the receiver keeps ingesting and ``/readyz`` reports the
    evaluator as failed (:mod:`monitor.runtime.evaluator`).
    """
    from monitor.runtime.evaluator import start_in_background

    return start_in_background(config)


def _start_receiver_stats(config: Config, stop: threading.Event) -> threading.Thread:
    """The receiver's own counters into InfluxDB, for the rules that watch Zoom's deliveries."""
    from monitor.runtime.receiverstats import ReceiverStats

    return ReceiverStats(config, stop).start()


def _start_gap_fill(config: Config, stop: threading.Event) -> threading.Thread | None:
    """Readings Zoom never delivered, from its REST API, when its credentials are set."""
    from monitor.zoom.gapfill import start_gap_fill

    return start_gap_fill(config, stop)


def _start_zoom_sync(config: Config, stop: threading.Event) -> threading.Thread | None:
    """Registry sync from Zoom's REST API when its credentials are set (also ``--no-rules``):
    its snapshots go through the spool this process drains."""
    from monitor.zoom.sync import start_sync_loop

    return start_sync_loop(config, stop, "writer")


def cmd_spool(config: Config, args: argparse.Namespace) -> int:
    from monitor.store.spool import spool_status
    from monitor.store.state import read_offsets

    if args.spool_command == "drain":
        return _spool_drain(config)
    status = spool_status(config.spool_dir, read_offsets(config))
    report = {"depth": status.depth, "bytes": status.bytes,
              "oldest_age_s": round(status.oldest_age_s(time.time_ns()), 3)}
    if args.json:
        print(json.dumps(report))
    else:
        print(f"depth {report['depth']} events, {report['bytes']} bytes, "
              f"oldest {report['oldest_age_s']} s")
    return 0


def _spool_drain(config: Config) -> int:
    """Drain one data directory's spool as its replica would, holding its writer lock.

    With shared PostgreSQL state the offsets are the replica's own, so another
    host can finish a dead replica's backlog from its disk; the events pair and
    dedup with everything the live replicas wrote meanwhile.
    """
    from monitor.store.spool import spool_status
    from monitor.store.state import read_offsets
    from monitor.store.writer import Writer

    lock = RoleLock(config.state_dir, "writer").acquire()     # never beside its own writer
    try:
        writer = Writer(config)
        drained = 0
        try:
            while handled := writer.drain_once():
                drained += handled
        finally:
            writer.state.close()
        left = spool_status(config.spool_dir, read_offsets(config)).depth
    finally:
        lock.release()
    print(f"zrmon: {drained} spooled events of {config.replica_id()} written; {left} left",
          file=sys.stderr)
    return 0 if left == 0 else 1


def cmd_quarantine(config: Config, args: argparse.Namespace) -> int:
    quarantine = Quarantine(config.quarantine_dir)
    if args.quarantine_command == "list" and config.state_url:
        return _quarantine_list_shared(config, args.json)
    if args.quarantine_command == "list":
        return _quarantine_list(quarantine, args.json)
    from monitor.runtime.replay import replay

    result = replay(config, quarantine, args.ids or None)
    print(json.dumps(result))
    return 0 if not result["still_invalid"] and not result["missing"] else 1


def _quarantine_list_shared(config: Config, as_json: bool) -> int:
    """Every replica's quarantine, from the shared index; replay runs on the replica named."""
    from dataclasses import asdict

    from monitor.store.migrations import migrate
    from monitor.store.quarantine_index import indexed
    from monitor.store.statedb import open_state_db

    db = open_state_db(config.state_url, config.state_dir)
    try:
        migrate(db, "writer", time.time_ns())
        items = indexed(db)
    finally:
        db.close()
    if as_json:
        print(json.dumps([asdict(item) for item in items], indent=2))
        return 0
    if not items:
        print("quarantine is empty on every replica")
    for item in items:
        print(f"{item.id}  {item.replica:<16} {item.event or '?':<45} {item.reason:<18} "
              f"{item.fields or '-'}")
    return 0


def _quarantine_list(quarantine: Quarantine, as_json: bool) -> int:
    items = [item.summary() for item in quarantine.items()]
    if as_json:
        print(json.dumps(items, indent=2))
        return 0
    if not items:
        print("quarantine is empty")
    for item in items:
        fields = ", ".join(sorted(item["errors"])) or "-"
        print(f"{item['id']}  {item['event'] or '?':<45} {item['reason']:<18} {fields}")
    return 0


_HANDLERS: dict[str, Handler] = {
    "serve": cmd_serve,
    "writer": cmd_writer,
    "spool": cmd_spool,
    "quarantine": cmd_quarantine,
}

if __name__ == "__main__":
    sys.exit(main())
