"""Scheduled reports from ``rules/reports.yaml``, run by the rules' APScheduler.

:func:`add_report_jobs` adds one CronTrigger job per entry of
:func:`load_schedule`; ``monitor.runtime.jobs.schedule_jobs`` calls it where the rule
scheduler starts. A job computes its range from the clock at run time
(``last_month`` on 1 November is October), writes
the file into ``out_dir`` and, when the entry names an e-mail channel from
``rules/channels.yaml``, sends it as an attachment. A failing job is logged
and retried at its next time; it never stops the scheduler.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any, cast

from monitor.core.config import Config
from monitor.core.configfile import ConfigFileError, KeyPath, parse_yaml
from monitor.reports.run import KINDS, Kind, Request, file_name, resolve_zone, write
from monitor.reports.timerange import RELATIVE, relative_range
from monitor.store.localtime import BUILDING, zone

log = logging.getLogger("monitor.reports")
FILE_NAME = "reports.yaml"
FORMATS = ("html", "csv", "json")




Lines = Callable[[KeyPath], int]     # the line of a key path (0: unknown)
KEYS = ("name", "cron", "kind", "range", "out_dir", "format", "building", "email", "tz")


@dataclass(frozen=True)
class Scheduled:
    name: str
    cron: str
    kind: Kind
    range: str
    out_dir: Path
    fmt: str = "html"
    building: str | None = None
    email: str | None = None
    tz: str = "UTC"          # UTC, an IANA name, or building (its city's, when the job runs)


def parse_schedule(data: Any, source: str = FILE_NAME,
                   lines: Lines | None = None) -> list[Scheduled]:
    """Validated entries; :class:`ConfigFileError` for the first problem, at its line."""
    from apscheduler.triggers.cron import CronTrigger

    def error(path: KeyPath, message: str) -> ConfigFileError:
        line = lines(path) if lines is not None else 0
        return ConfigFileError(source, line, f"reports[{path[1]}]" if len(path) > 1 else "",
                               message)

    items = data.get("reports") if isinstance(data, Mapping) else None
    if not isinstance(items, list):
        raise error(("reports",), "needs a list under `reports:`")
    out = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise error(("reports", index), "must be a mapping")
        unknown = sorted(map(str, set(item) - set(KEYS)))
        if unknown:
            raise error(("reports", index, unknown[0]), f"unknown key(s) {', '.join(unknown)} "
                                                        f"(expected: {', '.join(KEYS)})")
        entry = Scheduled(str(item.get("name") or f"report-{index}"), str(item.get("cron", "")),
                          cast(Kind, item.get("kind")), str(item.get("range", "")),
                          Path(str(item.get("out_dir", ""))), str(item.get("format", "html")),
                          item.get("building"), item.get("email"), str(item.get("tz") or "UTC"))
        problem = _problem(entry)
        if problem is not None:
            key, message = problem
            raise error(("reports", index, key), message)
        try:
            CronTrigger.from_crontab(entry.cron, timezone="UTC")
        except ValueError as exc:
            raise error(("reports", index, "cron"), f"cron {entry.cron!r}: {exc}") from None
        out.append(entry)
    return out


def _problem(entry: Scheduled) -> tuple[str, str] | None:
    """(key, message) of the first thing wrong with an entry, or None."""
    if entry.kind not in KINDS:
        return "kind", f"kind must be one of {', '.join(KINDS)}"
    if entry.range not in RELATIVE:
        return "range", f"range must be one of {', '.join(RELATIVE)}"
    if entry.fmt not in FORMATS:
        return "format", f"format must be one of {', '.join(FORMATS)}"
    if not str(entry.out_dir) or str(entry.out_dir) == ".":
        return "out_dir", "out_dir is required"
    return _tz_problem(entry)


def _tz_problem(entry: Scheduled) -> tuple[str, str] | None:
    if entry.tz == BUILDING:
        if not entry.building:
            return "tz", "tz: building needs building: (one report has one time zone)"
        return None
    try:
        zone(entry.tz)
    except ValueError as exc:
        return "tz", str(exc)
    return None


def load_schedule(rules_dir: Path, env: Mapping[str, str] | None = None) -> list[Scheduled]:
    """``rules_dir/reports.yaml`` (none when absent), read like channels.yaml: values may
    use ``${ENV}`` and every error names its line."""
    path = rules_dir / FILE_NAME
    if not path.is_file():
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(path, 0, "", f"cannot read: {exc}") from None
    document = parse_yaml(text, os.environ if env is None else env)
    if document.problems:
        _, line, message = document.problems[0]
        raise ConfigFileError(path, line, "", message)
    return parse_schedule(document.data, str(path), document.line)


def run_job(config: Config, entry: Scheduled, now_ns: int,
            send: Callable[[Scheduled, Path], None] | None = None) -> Path:
    """Write one scheduled report for the range before ``now`` on the calendar of the entry's
    zone (a building's is looked up now: a sync may have moved it); mail it if configured."""
    tz = resolve_zone(config, entry.tz, entry.building)
    request = Request(entry.kind, relative_range(entry.range, now_ns, tz), entry.fmt,
                      entry.building)
    out = entry.out_dir / file_name(request)
    write(config, request, now_ns, out)
    log.info("report %s written to %s", entry.name, out)
    if entry.email:
        (send or _mailer(config))(entry, out)
    return out


def _mailer(config: Config) -> Callable[[Scheduled, Path], None]:
    def send(entry: Scheduled, path: Path) -> None:
        from monitor.notify.channels.email import EmailChannel, EmailSender
        from monitor.notify.channels.loader import load_channels

        channels = load_channels(config.rules_dir / "channels.yaml", os.environ)
        channel = channels.get(entry.email or "")
        if not isinstance(channel, EmailChannel):
            raise ConfigFileError(config.rules_dir / FILE_NAME, 0, f"report {entry.name}",
                                  f"{entry.email!r} is not an e-mail channel in channels.yaml")
        # One SMTP session, the same TLS/auth handling as notifications.
        EmailSender(channel)._send(report_message(entry, path, channel.from_addr, channel.to))

    return send


def report_message(entry: Scheduled, path: Path, sender: str,
                   recipients: tuple[str, ...]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"[zrmon] {entry.kind} report: {path.stem}"
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(usegmt=True)
    message.set_content(f"The {entry.kind} report {path.name} is attached.\n")
    if entry.fmt == "json":
        message.add_attachment(path.read_bytes(), maintype="application", subtype="json",
                               filename=path.name)
    else:   # text parts as text, so the charset (UTF-8: °, µ, ≤) is declared
        message.add_attachment(path.read_text(encoding="utf-8"), subtype=entry.fmt,
                               filename=path.name)
    return message


Gate = Callable[[str, str], bool]
"""``gate(job_id, cron)``: whether this process runs the job's current slot (once per slot)."""


MISFIRE_GRACE_S = 3600      # a report run this late still runs; later, the next slot


def add_report_jobs(config: Config, entries: list[Scheduled], scheduler: Any,
                    gate: Gate | None = None) -> int:
    """One CronTrigger job per entry already loaded (:func:`load_schedule`)."""
    from apscheduler.triggers.cron import CronTrigger

    for entry in entries:
        scheduler.add_job(_job, CronTrigger.from_crontab(entry.cron, timezone="UTC"),
                          args=(config, entry, gate), id=f"report:{entry.name}",
                          name=entry.name, replace_existing=True, coalesce=True,
                          max_instances=1, misfire_grace_time=MISFIRE_GRACE_S)
    return len(entries)


def _job(config: Config, entry: Scheduled, gate: Gate | None = None) -> None:
    if gate is not None and not gate(f"report:{entry.name}", entry.cron):
        log.info("scheduled report %s already ran for this slot", entry.name)
        return
    try:
        run_job(config, entry, time.time_ns())
    except Exception:
        log.exception("scheduled report %s failed", entry.name)
