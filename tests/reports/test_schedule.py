"""Scheduled reports: parsing reports.yaml, cron triggers, and a job run with a fixed clock."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from support.airquality import EVEREST_CO2, EVEREST_PEOPLE
from support.paths import RULES
from support.readings import hourly_readings, incident, seed
from support.sinks import SmtpServers

from monitor.core.config import Config
from monitor.core.configfile import ConfigFileError
from monitor.core.timeutil import iso_to_ns
from monitor.reports.schedule import add_report_jobs, load_schedule, parse_schedule, run_job
from monitor.store.influx import InfluxClient

SCHEDULE = """
reports:
  - name: monthly-air
    cron: "0 6 1 * *"
    kind: air-quality
    range: last_month
    out_dir: {out}
    format: json
  - name: daily-uptime
    cron: "30 5 * * *"
    kind: uptime
    range: last_day
    out_dir: {out}
    email: mail
"""


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "rules"
    directory.mkdir()
    shutil.copy(RULES / "air-quality.yaml", directory)
    (directory / "reports.yaml").write_text(SCHEDULE.format(out=tmp_path / "out"))
    return directory


@pytest.fixture
def smtp() -> Iterator[SmtpServers]:
    servers = SmtpServers()
    yield servers
    servers.stop_all()


def test_cron_triggers_fire_when_configured(config: Config, rules_dir: Path) -> None:
    scheduler = BackgroundScheduler(timezone="UTC")
    assert add_report_jobs(config.with_(rules_dir=rules_dir), load_schedule(rules_dir),
                           scheduler) == 2
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"report:monthly-air", "report:daily-uptime"}
    after = datetime(2026, 10, 15, 12, 0, tzinfo=UTC)
    monthly = jobs["report:monthly-air"].trigger.get_next_fire_time(None, after)
    daily = jobs["report:daily-uptime"].trigger.get_next_fire_time(None, after)
    assert monthly == datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
    assert daily == datetime(2026, 10, 16, 5, 30, tzinfo=UTC)


def test_no_file_no_jobs(config: Config, tmp_path: Path) -> None:
    assert load_schedule(tmp_path) == []
    scheduler = BackgroundScheduler(timezone="UTC")
    assert add_report_jobs(config, load_schedule(tmp_path), scheduler) == 0
    assert scheduler.get_jobs() == []


@pytest.mark.parametrize(("change", "message"), [
    ({"cron": "every day"}, "cron"), ({"kind": "energy"}, "kind must be one of"),
    ({"range": "last_year"}, "range must be one of"), ({"colour": "red"}, "unknown key"),
    ({"format": "pdf"}, "format must be one of"),
])
def test_bad_entries_are_refused(change: dict[str, str], message: str) -> None:
    entry = {"cron": "0 6 1 * *", "kind": "uptime", "range": "last_month", "out_dir": "out",
             **change}
    with pytest.raises(ConfigFileError, match=message):
        parse_schedule({"reports": [entry]})


def test_monthly_job_writes_last_month(config: Config, influx: InfluxClient,
                                       rules_dir: Path) -> None:
    seed(config, influx, hourly_readings("everest", "CO2", EVEREST_CO2, people=EVEREST_PEOPLE))
    config = config.with_(rules_dir=rules_dir)
    monthly = load_schedule(rules_dir)[0]
    out = run_job(config, monthly, iso_to_ns("2026-11-01T06:00:00Z"))
    assert out.name == "air-quality_2026-10-01_2026-11-01.json"
    document = json.loads(out.read_text())
    assert (document["from"], document["to"], document["hours"]) == \
        ("2026-10-01T00:00:00.000Z", "2026-11-01T00:00:00.000Z", 31 * 24)
    everest = [r for r in document["rows"] if r["room_id"] == "everest"]
    assert [r["within_co2_warning"] for r in everest] == [9 / (31 * 24), 0.7]


def test_daily_job_mails_the_file(config: Config, influx: InfluxClient, rules_dir: Path,
                                  smtp: SmtpServers) -> None:
    seed(config, influx, [incident("everest", "2026-10-01T07:40:00Z", "2026-10-01T08:27:00Z")])
    sink = smtp.start()
    (rules_dir / "channels.yaml").write_text(
        f"channels:\n  mail: {{type: email, host: 127.0.0.1, port: {sink.port}, "
        f"from: zrmon@example.com, to: [facilities@example.com]}}\n")
    daily = load_schedule(rules_dir)[1]
    out = run_job(config.with_(rules_dir=rules_dir), daily, iso_to_ns("2026-10-02T05:30:00Z"))
    assert out.name == "uptime_2026-10-01_2026-10-02.html" and out.is_file()
    [message] = sink.messages
    assert message["Subject"] == "[zrmon] uptime report: uptime_2026-10-01_2026-10-02"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == out.name
    # SMTP may re-wrap lines and change line ends; the words are what must arrive intact
    assert attachment.get_content().split() == out.read_text().split()


@pytest.mark.parametrize(("entry", "line", "message"), [
    ("  - {name: a, cron: '0 6 1 * *', kind: uptime, range: last_month, out_dir: o}\n"
     "  - name: b\n    cron: '0 6 1 * *'\n    kind: uptime\n    range: last_mnth\n"
     "    out_dir: o\n", 6, "reports[1]: range must be one of"),
    ("  - name: a\n    cron: every day\n    kind: uptime\n    range: last_day\n"
     "    out_dir: o\n", 3, "reports[0]: cron 'every day'"),
    ("  - name: a\n    cron: '0 6 1 * *'\n    colour: red\n", 4,
     "reports[0]: unknown key(s) colour"),
    ("  - name: a\n    kind: uptime\n    range: last_day\n    cron: '0 6 1 * *'\n", 2,
     "reports[0]: out_dir is required"),
])
def test_errors_in_reports_yaml_name_file_and_line(tmp_path: Path, entry: str, line: int,
                                                   message: str) -> None:
    path = tmp_path / "reports.yaml"
    path.write_text("reports:\n" + entry)
    with pytest.raises(ConfigFileError) as caught:
        load_schedule(tmp_path)
    assert str(caught.value).startswith(f"{path}:{line}: {message}"), str(caught.value)


def test_a_reports_yaml_syntax_error_has_its_line(tmp_path: Path) -> None:
    (tmp_path / "reports.yaml").write_text("reports:\n  - {name: a\n")
    with pytest.raises(ConfigFileError, match=r"reports\.yaml:3: invalid YAML"):
        load_schedule(tmp_path)
