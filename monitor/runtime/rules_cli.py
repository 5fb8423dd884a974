"""``zrmon rules …``, ``zrmon scheduler`` and ``zrmon silence …``."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from monitor.core.config import Config
from monitor.core.exitcodes import EXIT_USAGE
from monitor.core.timeutil import TimeParseError, ns_to_iso, to_ns
from monitor.store.statedb import is_postgres_url


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser],
                 config_flags: object) -> None:
    add = config_flags  # a callable adding the config flags to a parser
    rules = commands.add_parser("rules", help="check, test and dry-run rule files")
    sub = rules.add_subparsers(dest="rules_command", required=True)
    check = sub.add_parser("check", help="validate rule files (exit 2 with file:line)")
    check.add_argument("path", nargs="?", type=Path)
    evaluate = sub.add_parser("eval", help="dry run against InfluxDB: what would fire")
    evaluate.add_argument("--at", help="evaluation time (ISO or epoch; default now)")
    evaluate.add_argument("path", nargs="?", type=Path)
    test = sub.add_parser("test", help="run promtool-style unit tests of rules")
    test.add_argument("files", nargs="+", type=Path)
    for parser in (check, evaluate, test):
        add(parser)  # type: ignore[operator]

    scheduler = commands.add_parser("scheduler", help="evaluate rules and notify (alone)")
    scheduler.add_argument("--admin-host", default="127.0.0.1")
    scheduler.add_argument("--admin-port", type=int, default=9108,
                           help="/metrics, /healthz and /readyz (0: no admin listener)")
    add(scheduler)  # type: ignore[operator]

    silence = commands.add_parser("silence", help="mute notifications for a while")
    s_sub = silence.add_subparsers(dest="silence_command", required=True)
    s_add = s_sub.add_parser("add", help="add a silence")
    s_add.add_argument("matchers", nargs="+", help="label=value or label=~regex "
                       "(labels: rule, room_id, room_name, building, level, …)")
    s_add.add_argument("--duration", default="2h")
    s_add.add_argument("--comment", default="")
    s_add.add_argument("--author", default="")
    s_list = s_sub.add_parser("list", help="list silences")
    s_list.add_argument("--all", action="store_true", help="include expired ones")
    s_expire = s_sub.add_parser("expire", help="end a silence now")
    s_expire.add_argument("id")
    for parser in (s_add, s_list, s_expire):
        add(parser)  # type: ignore[operator]


def cmd_rules(config: Config, args: argparse.Namespace) -> int:
    if args.rules_command == "check":
        from monitor.runtime.configcheck import main_check

        return main_check(str(args.path or config.rules_dir))
    if args.rules_command == "eval":
        return _eval(config, args.path or config.rules_dir, args.at)
    from monitor.runtime.ruletest import run_files

    return run_files(args.files, config)


def _eval(config: Config, path: Path, at: str | None) -> int:
    from monitor.rules.load import load_dir, load_file
    from monitor.rules.query import build_query, samples
    from monitor.rules.statemachine import breached_level
    from monitor.store.influx import InfluxClient

    try:
        at_ns = to_ns(at) if at else time.time_ns()
    except TimeParseError as exc:
        print(f"zrmon: --at: {exc}", file=sys.stderr)
        return exc.exit_code
    groups = load_dir(path) if path.is_dir() else [load_file(path)]
    influx = InfluxClient(config)
    print(f"evaluation at {ns_to_iso(at_ns)} (conditions only; `for` needs history)")
    for group in groups:
        for rule in group.rules:
            found = samples(rule, influx.query(build_query(rule, at_ns)), at_ns)
            for room_id, sample in sorted(found.items()):
                level = breached_level(rule, sample.value)
                if level is not None:
                    name = sample.tags.get("room_name", room_id)
                    print(f"{rule.id:<32} {name:<24} {level:<9} value {sample.value:g} "
                          f"({rule.levels[level].describe()})")
    return 0


def cmd_scheduler(config: Config, args: argparse.Namespace) -> int:
    """Evaluate alone; broken files (rules, channels, policy, reports): one line, exit 2."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    from monitor.runtime.evaluator import EvaluatorStartError, start
    from monitor.store.lock import AlreadyRunningError, RoleLock

    config = config.with_(evaluate=True)     # evaluating is what this command is for
    if is_postgres_url(config.state_url):
        return _scheduler_with_standbys(config, args)
    scheduler = BlockingScheduler(timezone="UTC")
    try:
        lock = RoleLock(config.state_dir, "evaluator").acquire()   # one evaluator per state
        engine = start(config, scheduler)
    except (EvaluatorStartError, AlreadyRunningError) as exc:
        print(f"zrmon: {exc}", file=sys.stderr)
        return exc.exit_code
    engine.start_delivery()
    admin = _start_admin(config, args.admin_host, args.admin_port)
    zoom_stop = threading.Event()
    _start_zoom_sync(config, zoom_stop)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        engine.stop()
        threading.Thread(target=scheduler.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"zrmon: evaluating {sum(len(g.rules) for g in engine.groups)} rules in "
          f"{len(engine.groups)} groups from {config.rules_dir}", file=sys.stderr, flush=True)
    try:
        scheduler.start()
    finally:
        zoom_stop.set()
        if admin is not None:
            admin.shutdown()
        lock.release()
    return 0


def _scheduler_with_standbys(config: Config, args: argparse.Namespace) -> int:
    """Shared PostgreSQL state: evaluate while this process leads, stand by otherwise.

    Broken files still end the command at once (exit 2); a standby checks them too,
    so a failover never lands on a scheduler that cannot evaluate.
    """
    from monitor.runtime.evaluator import evaluate, startup_problem
    from monitor.runtime.standby import Standby
    from monitor.store.lock import RoleLock

    problem = startup_problem(config.rules_dir)
    if problem is not None:
        print(f"zrmon: {problem}", file=sys.stderr)
        return EXIT_USAGE
    lock = RoleLock(config.state_dir, "evaluator").acquire()   # one per data directory
    admin = _start_admin(config, args.admin_host, args.admin_port)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"zrmon: {config.replica_id()} evaluates from {config.rules_dir} while it leads",
          file=sys.stderr, flush=True)
    try:
        Standby(config, lambda lead: evaluate(config, lead.fence)).run(stop)
    finally:
        if admin is not None:
            admin.shutdown()
        lock.release()
    return 0


def _start_zoom_sync(config: Config, stop: threading.Event) -> None:
    """Registry sync only on the writer's data directory: a snapshot is a spool record, and
    only a writer drains a spool (docs/zoom-api.md, "Which process syncs")."""
    if not config.zoom_enabled:
        return
    if not (config.state_dir / "writer.lock").exists():
        print("zrmon: Zoom registry sync left to `zrmon serve` (no writer on "
              f"{config.data_dir})", file=sys.stderr, flush=True)
        return
    from monitor.zoom.sync import start_sync_loop

    start_sync_loop(config, stop, "scheduler")


def _start_admin(config: Config, host: str, port: int) -> Any:
    """The scheduler has no public listener: its health checks and metrics live here."""
    if port == 0:
        return None
    from monitor.runtime.adminserver import start_admin_server
    from monitor.runtime.app import create_admin_app

    return start_admin_server(create_admin_app(config), host, port)


def cmd_silence(config: Config, args: argparse.Namespace) -> int:
    from contextlib import closing

    from monitor.notify.policy_load import parse_duration_ns
    from monitor.notify.silences import SilenceError, SilenceStore, parse_matchers

    with closing(SilenceStore(config.data_dir, state_url=config.state_url)) as store:
        try:
            if args.silence_command == "add":
                now = time.time_ns()
                silence = store.add(parse_matchers(args.matchers),
                                    ends_ns=now + parse_duration_ns(args.duration),
                                    created_by=args.author, comment=args.comment)
                print(silence.id)
                return 0
            if args.silence_command == "expire":
                store.expire(args.id)
                return 0
        except (SilenceError, ValueError) as exc:
            print(f"zrmon: {exc}", file=sys.stderr)
            return EXIT_USAGE
        for item in store.list(include_expired=args.all):
            print(json.dumps(item.to_json()))
        return 0


HANDLERS = {"rules": cmd_rules, "scheduler": cmd_scheduler, "silence": cmd_silence}
