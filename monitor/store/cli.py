"""``zrmon influx setup|backfill|prune``: retention policies, rollups, raw-data pruning;
``zrmon state check|migrate|export|import|restore``: the state files and database."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.core.config import Config
from monitor.core.errors import UsageError
from monitor.core.exitcodes import EXIT_USAGE

if TYPE_CHECKING:
    from monitor.store.transfer import Moved


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser],
                 config_flags: Callable[[argparse.ArgumentParser], Any]) -> None:
    influx = commands.add_parser("influx", help="InfluxDB retention policies and rollups")
    sub = influx.add_subparsers(dest="influx_command", required=True)
    setup = sub.add_parser("setup", help="create the database, retention policies and "
                                         "continuous queries (idempotent)")
    setup.add_argument("--dry-run", action="store_true", help="print what would change")
    backfill = sub.add_parser("backfill", help="compute the rollups for past readings")
    span = backfill.add_mutually_exclusive_group(required=True)
    span.add_argument("--from", dest="start", metavar="TIME",
                      help="start (ISO date/time or epoch); with --to")
    span.add_argument("--last", metavar="DURATION", help="e.g. 7d: from now minus this")
    backfill.add_argument("--to", dest="end", metavar="TIME", help="end (default now)")
    backfill.add_argument("--chunk", default="1d", help="time per query (default 1d)")
    prune = sub.add_parser("prune", help="delete raw readings older than ZRMON_RAW_RETENTION "
                                         "(the scheduler does it daily)")
    for parser in (setup, backfill, prune):
        config_flags(parser)
    state = commands.add_parser("state", help="check, migrate, export and import the state; "
                                         "restore a last good copy")
    state_sub = state.add_subparsers(dest="state_command", required=True)
    state_sub.add_parser("check", help="exit 2 naming every damaged state file")
    migrate = state_sub.add_parser("migrate", help="bring the state's schema up to date "
                                   "(each role also does it at start)")
    migrate.add_argument("--dry-run", action="store_true", help="list what would be applied")
    export = state_sub.add_parser("export", help="every component's state as one JSON-lines "
                                  "document (stop the service first)")
    export.add_argument("--out", type=Path, metavar="FILE",
                        help="write it to FILE (default: standard output)")
    load = state_sub.add_parser("import", help="load an export into the PostgreSQL database "
                                "of ZRMON_STATE_URL (stop the service first)")
    load.add_argument("file", type=Path, help="what `zrmon state export` wrote")
    load.add_argument("--force", action="store_true",
                      help="replace the state the database already holds for the "
                           "document's components (default: refuse)")
    restore = state_sub.add_parser("restore", help="put a state file's last good copy back "
                                                   "(stop the service first)")
    restore.add_argument("file", type=Path, help="the damaged file, as /readyz names it")
    for parser in (state, *state_sub.choices.values()):
        config_flags(parser)


def cmd_influx(config: Config, args: argparse.Namespace) -> int:
    from monitor.store.influx import InfluxClient

    client = InfluxClient(config, timeout=600.0)
    if args.influx_command == "setup":
        return _setup(client, config, args.dry_run)
    if args.influx_command == "prune":
        return _prune(client, config)
    return _backfill(client, args)


def _setup(client: Any, config: Config, dry_run: bool) -> int:
    from monitor.store.retention import apply_setup, current_state, plan_setup, shard_durations

    if dry_run:
        policies, cqs = current_state(client)
        statements = plan_setup(client.database, config.raw_retention,
                                config.rollup_retention, policies, cqs, shard_durations(client))
    else:
        statements = apply_setup(client, config)
    for statement in statements:
        print(statement)
    if not statements:
        print(f"zrmon: {client.database} is up to date", file=sys.stderr)
    return 0


def _prune(client: Any, config: Config) -> int:
    from monitor.store.retention import prune_raw

    statement = prune_raw(client, config, time.time_ns())
    print(statement or f"zrmon: {config.raw_retention}: raw readings are kept forever")
    return 0


def _backfill(client: Any, args: argparse.Namespace) -> int:
    from monitor.core.durations import seconds_or_duration
    from monitor.core.progress import progress_bar
    from monitor.core.timeutil import NS_PER_S, TimeParseError, to_ns
    from monitor.store.retention import backfill, chunk_count

    try:
        end = to_ns(args.end) if args.end else time.time_ns()
        start = (end - int(seconds_or_duration(args.last) * NS_PER_S) if args.last
                 else to_ns(args.start))
        chunk_s = int(seconds_or_duration(args.chunk))
    except (TimeParseError, ValueError) as exc:
        print(f"zrmon: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if start >= end or chunk_s < 3600:
        print("zrmon: the range must be non-empty and --chunk at least 1h", file=sys.stderr)
        return EXIT_USAGE
    with progress_bar(chunk_count(start, end, chunk_s), "backfill", "chunk") as bar:
        written = backfill(client, start, end, chunk_s=chunk_s, progress=bar.update)
    print(f"zrmon: {written} rollup points written", file=sys.stderr)
    return 0


def cmd_state(config: Config, args: argparse.Namespace) -> int:
    from monitor.core.atomicfile import restore_last_good
    from monitor.store.statefiles import check, problems, state_files

    if args.state_command == "migrate":
        return _migrate(config, args.dry_run)
    if args.state_command == "export":
        return _export(config, args.out)
    if args.state_command == "import":
        return _import(config, args.file, args.force)
    if args.state_command == "check":
        found = problems(config)
        for problem in found:
            print(f"zrmon: {problem}", file=sys.stderr)
        if not found:
            print(f"{len(state_files(config))} state files in {config.data_dir}: all usable")
        return EXIT_USAGE if found else 0
    backup = restore_last_good(args.file)
    check(args.file)
    print(f"restored {args.file} from {backup}")
    return 0


def _migrate(config: Config, dry_run: bool) -> int:
    from monitor.store.migrations import latest, migrate_all

    where = "PostgreSQL" if config.state_url else str(config.state_dir)
    for component, migrations in migrate_all(config, time.time_ns(), dry_run=dry_run):
        verb = "to apply" if dry_run else "applied"
        done = ", ".join(f"{m.version} ({m.title})" for m in migrations) or "none"
        print(f"{component}: {verb}: {done}; schema version {latest(component)} in {where}")
    return 0


def _export(config: Config, out: Path | None) -> int:
    from monitor.store.transfer import export_state

    if out is None:
        moved = export_state(config, sys.stdout, time.time_ns())
    else:
        moved = _export_to(config, out)
    for item in moved:
        print(f"{item.component}: exported {item.counts()} (schema version "
              f"{item.schema_version}) from {item.where}", file=sys.stderr)
    return 0


def _export_to(config: Config, out: Path) -> list[Moved]:
    """Whole or not at all: streamed into a temp file beside ``out``, synced, renamed over it."""
    import os
    import tempfile

    from monitor.core.atomicfile import fsync_directory
    from monitor.store.transfer import export_state

    try:
        fd, temp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial")
    except OSError as exc:
        raise UsageError(f"--out {out}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            moved = export_state(config, stream, time.time_ns())
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, out)
    finally:
        Path(temp).unlink(missing_ok=True)
    fsync_directory(out.parent)
    return moved


def _import(config: Config, path: Path, force: bool) -> int:
    from monitor.store.transfer import import_state

    for item in import_state(config, path, time.time_ns(), force=force):
        print(f"{item.component}: imported {item.counts()} into {item.where} (schema version "
              f"{item.schema_version})")
        if "offsets" in item.rows:
            print(f"{item.component}: spool offsets of this host are under replica "
                  f"{config.replica_id()}")
    return 0


HANDLERS: dict[str, Callable[[Config, argparse.Namespace], int]] = {
    "influx": cmd_influx, "state": cmd_state}
