"""Loading rules/channels.yaml: every kind, ${ENV} expansion, and errors that name file:line."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.paths import REPO

from monitor.core.configfile import ConfigFileError, expand_env
from monitor.notify.channels.email import EmailChannel
from monitor.notify.channels.loader import load_channels
from monitor.notify.channels.log import LogChannel
from monitor.notify.channels.slack import SlackChannel
from monitor.notify.channels.teams import TeamsChannel
from monitor.notify.channels.webhook import WebhookChannel

ALL_KINDS = """\
channels:
  log:              {type: log}
  facilities-slack: {type: slack, url: "${SLACK_WEBHOOK_URL}"}
  it-teams:         {type: teams, url: "${TEAMS_WEBHOOK_URL}", card: messagecard}
  ops-webhook:
    type: webhook
    url: "https://ops.example.com/hooks/zr"
    headers: {Authorization: "Bearer ${TOKEN}", X-Env: "${STAGE:-prod}"}
  facilities-mail:
    type: email
    host: smtp.example.com
    port: 587
    starttls: true
    username: "${SMTP_USER}"
    password: "${SMTP_PASSWORD}"
    from: "zrmon@example.com"
    to: ["facilities@example.com", "it@example.com"]
"""

ENV = {"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/secret-slack",
       "TEAMS_WEBHOOK_URL": "https://example.webhook.office.com/webhookb2/secret-teams",
       "TOKEN": "tok-123", "SMTP_USER": "mailer", "SMTP_PASSWORD": "pw-456"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "channels.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path, env: dict[str, str]) -> ConfigFileError:
    with pytest.raises(ConfigFileError) as caught:
        load_channels(path, env)
    return caught.value


def test_shipped_channels_file_loads_with_an_empty_environment() -> None:
    channels = load_channels(REPO / "rules" / "channels.yaml", {})
    assert channels == {"log": LogChannel("log")}


def test_every_kind_loads_with_secrets_from_the_environment(tmp_path: Path) -> None:
    channels = load_channels(write(tmp_path, ALL_KINDS), ENV)
    assert channels["log"] == LogChannel("log")
    assert channels["facilities-slack"] == SlackChannel("facilities-slack",
                                                        ENV["SLACK_WEBHOOK_URL"])
    assert channels["it-teams"] == TeamsChannel("it-teams", ENV["TEAMS_WEBHOOK_URL"],
                                                "messagecard")
    assert channels["ops-webhook"] == WebhookChannel(
        "ops-webhook", "https://ops.example.com/hooks/zr",
        {"Authorization": "Bearer tok-123", "X-Env": "prod"})
    assert channels["facilities-mail"] == EmailChannel(
        "facilities-mail", "smtp.example.com", 587, "zrmon@example.com",
        ("facilities@example.com", "it@example.com"), starttls=True,
        username="mailer", password="pw-456")


def test_secrets_never_show_in_repr(tmp_path: Path) -> None:
    shown = repr(load_channels(write(tmp_path, ALL_KINDS), ENV))
    for secret in ("secret-slack", "secret-teams", "tok-123", "pw-456"):
        assert secret not in shown


def test_missing_variable_is_an_error_naming_it_and_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, ALL_KINDS)
    env = {key: value for key, value in ENV.items() if key != "SMTP_PASSWORD"}
    error = load_error(path, env)
    assert (error.file, error.line) == (str(path), 15)
    assert "SMTP_PASSWORD" in error.message
    assert str(error).startswith(f"{path}:15: environment variable SMTP_PASSWORD is not set")


def test_default_applies_when_unset_or_empty_and_dollar_dollar_is_literal() -> None:
    env = {"EMPTY": "", "SET": "v"}
    assert expand_env("${UNSET:-d}|${EMPTY:-d}|${SET:-d}|${SET}", env) == "d|d|v|v"
    assert expand_env("cost $$5, ${EMPTY}, $HOME stays", env) == "cost $5, , $HOME stays"
    with pytest.raises(KeyError, match="UNSET"):
        expand_env("${UNSET}", env)
    with pytest.raises(ValueError, match="malformed"):
        expand_env("${not valid}", env)


def test_an_environment_value_cannot_change_the_yaml_structure(tmp_path: Path) -> None:
    path = write(tmp_path, 'channels:\n  hook: {type: webhook, url: "https://h.example.com/x",'
                           ' headers: {X-Token: "${TOKEN}"}}\n')
    tricky = '"}, type: log, url: {'
    channel = load_channels(path, {"TOKEN": tricky})["hook"]
    assert isinstance(channel, WebhookChannel)
    assert channel.headers == {"X-Token": tricky}


def test_numbers_and_booleans_may_come_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "channels:\n  mail:\n    type: email\n    host: smtp.example.com\n"
                           "    port: ${SMTP_PORT:-2525}\n    ssl: ${SMTP_SSL:-false}\n"
                           "    from: a@example.com\n    to: b@example.com\n")
    channel = load_channels(path, {"SMTP_SSL": "true"})["mail"]
    assert isinstance(channel, EmailChannel)
    assert (channel.port, channel.ssl, channel.to) == (2525, True, ("b@example.com",))


@pytest.mark.parametrize(("text", "line", "fragment"), [
    ("channels:\n  log: {type: log}\n  s:\n    type: slack\n    url: https://h.example.com\n"
     "    channel: '#x'\n", 6, "channel: Unknown field"),
    ("channels:\n  s:\n    type: slack\n    url: ftp://h.example.com/x\n", 4,
     "url: must be an http(s) URL"),
    ("channels:\n  s: {type: slack}\n", 2, "url: Missing data"),
    ("channels:\n  x:\n    type: pager\n", 3, "type must be one of"),
    ("channels:\n  log: {type: log}\n  log: {type: log}\n", 3, "duplicate key 'log'"),
    ("channels:\n  m:\n    type: email\n    host: h\n    username: u\n    password: p\n"
     "    from: a@example.com\n    to: [b@example.com]\n", 5, "in clear"),
    ("channels:\n  m:\n    type: email\n    host: h\n    from: a@example.com\n"
     "    to: [b@example.com, not-an-address]\n", 6, "to.1: Not a valid email"),
    ("channels:\n  w:\n    type: webhook\n    url: https://h.example.com/x\n"
     "    headers: {Bad Name: v}\n", 5, "headers.Bad Name: not a valid header name"),
    ("channels:\n  log: {type: log\n", 3, "invalid YAML"),
    ("channel:\n  log: {type: log}\n", 1, "unknown key 'channel'"),
    ("channels:\n  bad name: {type: log}\n", 2, "channel name"),
])
def test_invalid_files_name_the_line(tmp_path: Path, text: str, line: int,
                                     fragment: str) -> None:
    error = load_error(write(tmp_path, text), {})
    assert error.line == line, str(error)
    assert fragment in error.message, str(error)


def test_validation_errors_do_not_echo_secret_values(tmp_path: Path) -> None:
    path = write(tmp_path, 'channels:\n  s: {type: slack, url: "${SLACK_WEBHOOK_URL}"}\n')
    error = load_error(path, {"SLACK_WEBHOOK_URL": "ftp://hooks.example.com/secret-slack"})
    assert error.line == 2
    assert "secret-slack" not in str(error)


def test_missing_file_is_a_channel_error(tmp_path: Path) -> None:
    error = load_error(tmp_path / "nope.yaml", {})
    assert error.line == 0
    assert "cannot read" in error.message
