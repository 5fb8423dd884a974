"""``zrmon rules check``: the shipped rules pass; notify names must be channels."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from support.paths import REPO

from monitor.runtime.configcheck import check, main_check, read_channel_names

SLACK = {"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/x"}
RULES_DIR = REPO / "rules"

RULES = """\
group: g
rules:
  - name: a
    sensor: CO2
    levels: {warning: {above: 1000}}
    notify: [log, facilities-slak]
  - name: b
    incident: {alert_type: 3}
    levels: {critical: {above: 10m}}
    notify:
      - pager
      - log
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_the_default_rules_pass() -> None:
    assert check(RULES_DIR, None) == []
    assert check(RULES_DIR, {"log"}) == []
    for name in ("air-quality.yaml", "room-health.yaml"):
        assert check(RULES_DIR / name, None) == []


def test_the_default_rules_only_notify_the_log_channel() -> None:
    errors = check(RULES_DIR, {"elsewhere"})
    assert errors
    assert all("unknown channel 'log'" in line for line in errors)


def test_a_notify_name_missing_from_channels_yaml_is_reported_at_its_line(tmp_path: Path) -> None:
    rules = write(tmp_path / "g.yaml", RULES)
    write(tmp_path / "channels.yaml", """\
        channels:
          log: {type: log}
          facilities-slack: {type: slack, url: "${SLACK_WEBHOOK_URL}"}
    """)
    assert check(tmp_path, None, SLACK) == [
        f"{rules}:6: rules.0.notify.1: unknown channel 'facilities-slak' "
        "(channels: facilities-slack, log); did you mean 'facilities-slack'?",
        f"{rules}:11: rules.1.notify.0: unknown channel 'pager' (channels: facilities-slack, log)",
    ]
    # a single file finds channels.yaml beside it
    assert len(check(rules, None)) == 2


def test_without_channels_yaml_notify_is_not_checked_but_the_directory_is_refused(
        tmp_path: Path) -> None:
    """The evaluator cannot start without channels.yaml, so neither does the check pass."""
    rules = write(tmp_path / "g.yaml", RULES)
    assert check(tmp_path, None) == [
        f"{tmp_path / 'channels.yaml'}: missing: it defines the channels rules notify "
        "(at least `channels: {log: {type: log}}`)"]
    assert check(rules, None) == []          # one rule file alone: nothing to check against


def test_given_channel_names_win_over_channels_yaml(tmp_path: Path) -> None:
    rules = write(tmp_path / "g.yaml", RULES)
    write(tmp_path / "channels.yaml", "channels: {log: {type: log}}\n")
    assert check(tmp_path, {"log", "pager", "facilities-slak"}) == []
    assert check(tmp_path, set()) == [
        f"{rules}:6: rules.0.notify.0: unknown channel 'log' (no channels are defined)",
        f"{rules}:6: rules.0.notify.1: unknown channel 'facilities-slak' (no channels are defined)",
        f"{rules}:11: rules.1.notify.0: unknown channel 'pager' (no channels are defined)",
        f"{rules}:12: rules.1.notify.1: unknown channel 'log' (no channels are defined)",
    ]


def test_notify_errors_come_with_the_other_errors_in_line_order(tmp_path: Path) -> None:
    rules = write(tmp_path / "g.yaml", RULES.replace("sensor: CO2", "sensor: co2"))
    write(tmp_path / "channels.yaml", "channels: {log: {type: log}, pager: {type: log}}\n")
    errors = check(tmp_path, None)
    assert [line.split(": ")[0:2] for line in errors] == [
        [f"{rules}:4", "rules.0.sensor"],
        [f"{rules}:6", "rules.0.notify.1"],
    ]


def test_errors_of_every_file(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "group: a\nrules: []\nextra: 1\n")
    write(tmp_path / "b.yaml", "group: b\nrules:\n  - name: r\n")
    write(tmp_path / "tests" / "ignored.yaml", "anything: at all\n")
    write(tmp_path / "channels.yaml", "channels: {log: {type: log}}\n")
    assert check(tmp_path, None) == [
        f"{tmp_path / 'a.yaml'}:3: extra: unknown key (expected one of: group, interval, rules)",
        f"{tmp_path / 'b.yaml'}:3: rules.0: needs one of sensor, rate, incident, silent "
        "(what the rule measures)",
        f"{tmp_path / 'b.yaml'}:3: rules.0.levels: required key is missing",
    ]


def test_a_broken_channels_yaml_is_reported(tmp_path: Path) -> None:
    write(tmp_path / "g.yaml", RULES)
    channels = write(tmp_path / "channels.yaml", "channels:\n  log: {type: log\n")
    errors = check(tmp_path, None)
    assert len(errors) == 1
    assert errors[0].startswith(f"{channels}:3: invalid YAML")
    write(channels, "channels: [log]\n")
    assert check(tmp_path, None) == [
        f"{channels}: channels: must be a mapping of channel name → settings"]


def test_read_channel_names(tmp_path: Path) -> None:
    path = tmp_path / "channels.yaml"
    assert read_channel_names(path) == (None, [])
    write(path, "channels:\n  log: {type: log}\n  mail: {type: email}\n")
    assert read_channel_names(path) == ({"log", "mail"}, [])
    write(path, "# nothing yet\n")
    assert read_channel_names(path) == (set(), [])


def test_a_missing_path(tmp_path: Path) -> None:
    assert check(tmp_path / "nope.yaml", None) == [
        f"{tmp_path / 'nope.yaml'}: cannot read: No such file or directory"]


def test_main_check(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    assert main_check(None) == 0
    out, err = capsys.readouterr()
    assert (out, err) == ("rules: 3 group(s), 15 rule(s) OK\n", "")

    rules = write(tmp_path / "g.yaml", RULES)
    write(tmp_path / "channels.yaml", "channels: {log: {type: log}}\n")
    assert main_check(str(tmp_path)) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"{rules}:6: rules.0.notify.1: unknown channel 'facilities-slak' (channels: log)",
        f"{rules}:11: rules.1.notify.0: unknown channel 'pager' (channels: log)",
    ]


CONFIG_TYPOS = {
    "notify.yaml": ("grouping:\n  group_wiat: 30s\n", 2, "grouping.group_wiat: Unknown field."),
    "channels.yaml": ("channels:\n  log: {type: log}\n  pager: {type: log, url: 'http://x'}\n",
                      3, "channel 'pager': url: Unknown field."),
    "reports.yaml": ("reports:\n  - name: m\n    cron: '0 6 1 * *'\n    kind: uptim\n"
                     "    range: last_month\n    out_dir: out\n", 4,
                     "reports[0]: kind must be one of air-quality, uptime"),
}


@pytest.mark.parametrize("name", list(CONFIG_TYPOS))
def test_a_directory_check_validates_channels_notify_and_reports(tmp_path: Path,
                                                                 name: str) -> None:
    write(tmp_path / "g.yaml", RULES.replace("facilities-slak", "log").replace("pager", "log"))
    write(tmp_path / "channels.yaml", "channels: {log: {type: log}}\n")
    assert check(tmp_path, None) == []
    text, line, message = CONFIG_TYPOS[name]
    broken = tmp_path / name
    broken.write_text(text, encoding="utf-8")
    assert check(tmp_path, None) == [f"{broken}:{line}: {message}"]


def test_channel_secrets_are_checked_against_the_environment(tmp_path: Path) -> None:
    write(tmp_path / "g.yaml", "group: g\nrules: []\n")
    channels = write(tmp_path / "channels.yaml",
                     'channels:\n  s: {type: slack, url: "${SLACK_WEBHOOK_URL}"}\n')
    assert check(tmp_path, None, SLACK) == []
    [error] = check(tmp_path, None, {})
    assert error.startswith(f"{channels}:2: environment variable SLACK_WEBHOOK_URL is not set")


def test_a_config_file_with_the_yml_suffix_is_reported_as_unread(tmp_path: Path) -> None:
    write(tmp_path / "g.yaml", "group: g\nrules: []\n")
    write(tmp_path / "channels.yaml", "channels: {log: {type: log}}\n")
    write(tmp_path / "notify.yml", "grouping: {group_wait: 1s}\n")
    assert check(tmp_path, None) == [
        f"{tmp_path / 'notify.yml'}: not read: the file must be named notify.yaml"]


def test_the_shipped_directory_passes_with_an_empty_environment() -> None:
    assert check(RULES_DIR, None, {}) == []


@pytest.mark.parametrize("name", list(CONFIG_TYPOS))
def test_one_config_file_is_checked_by_its_own_loader(tmp_path: Path, name: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    text, line, message = CONFIG_TYPOS[name]
    broken = write(tmp_path / name, text)
    assert check(broken, None) == [f"{broken}:{line}: {message}"]
    assert main_check(str(broken)) == 2
    assert capsys.readouterr().err == f"{broken}:{line}: {message}\n"
    assert main_check(str(RULES_DIR / name)) == 0
    assert capsys.readouterr().out == f"{RULES_DIR / name}: OK\n"
