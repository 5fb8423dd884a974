"""Named notification channels, loaded from ``rules/channels.yaml``.

Rules name channels (``notify: [facilities-slack]``); this file says what
each name is. It is validated completely at load time — unknown keys,
non-http(s) URLs, credentials without TLS, unset ``${ENV}`` secrets — so a
typo is a start-up error with ``file:line`` instead of an alert that
silently goes nowhere at 3 a.m.

Secrets never appear in error messages or in a channel's ``repr``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)

from monitor.core.configfile import ConfigFileError, Document, KeyPath, parse_yaml, walk_messages

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")


ChannelError = ConfigFileError       # the name callers catch


def _error(file: Path | str, line: int, message: str) -> ConfigFileError:
    """The channels file names the channel in the message, so no separate key path."""
    return ConfigFileError(file, line, "", message)


@dataclass(frozen=True)
class LogChannel:
    """Writes the message to the ``monitor.notify`` logger; needs no configuration."""

    name: str


@dataclass(frozen=True)
class SlackChannel:
    name: str
    url: str = field(repr=False)          # the URL is the secret


@dataclass(frozen=True)
class TeamsChannel:
    name: str
    url: str = field(repr=False)
    card: Literal["adaptive", "messagecard"] = "adaptive"


@dataclass(frozen=True)
class WebhookChannel:
    name: str
    url: str = field(repr=False)
    headers: dict[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class EmailChannel:
    name: str
    host: str
    port: int
    from_addr: str
    to: tuple[str, ...]
    starttls: bool = False
    ssl: bool = False                     # implicit TLS (port 465)
    username: str = ""
    password: str = field(default="", repr=False)
    ca_file: str | None = None            # trust this CA bundle instead of the system's
    timeout_s: float = 15.0


Channel = LogChannel | SlackChannel | TeamsChannel | WebhookChannel | EmailChannel


def _http_url() -> fields.Url:
    return fields.Url(required=True, schemes={"http", "https"}, require_tld=False,
                      error_messages={"invalid": "must be an http(s) URL"})


class _Base(Schema):
    class Meta:
        unknown = RAISE

    type = fields.String(required=True)


class _LogSchema(_Base):
    pass


class _SlackSchema(_Base):
    url = _http_url()


class _TeamsSchema(_Base):
    url = _http_url()
    card = fields.String(load_default="adaptive",
                         validate=validate.OneOf(["adaptive", "messagecard"]))


class _WebhookSchema(_Base):
    url = _http_url()
    headers = fields.Dict(
        keys=fields.String(validate=validate.Regexp(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$",
                                                    error="not a valid header name")),
        values=fields.String(validate=validate.Regexp(r"^[^\r\n]*$",
                                                      error="header values must be one line")),
        load_default=dict)


class _EmailSchema(_Base):
    host = fields.String(required=True, validate=validate.Length(min=1))
    port = fields.Integer(load_default=None, validate=validate.Range(min=1, max=65535))
    starttls = fields.Boolean(load_default=False)
    ssl = fields.Boolean(load_default=False)
    username = fields.String(load_default="")
    password = fields.String(load_default="")
    from_addr = fields.Email(required=True, data_key="from")
    to = fields.List(fields.Email(), required=True, validate=validate.Length(min=1))
    ca_file = fields.String(load_default=None)
    timeout_s = fields.Float(load_default=15.0, data_key="timeout",
                             validate=validate.Range(min=0, min_inclusive=False))

    @pre_load
    def _single_recipient(self, data: Any, **_: Any) -> Any:
        """``to: a@example.com`` is as natural to write as a one-item list."""
        if isinstance(data, dict) and isinstance(data.get("to"), str):
            return {**data, "to": [data["to"]]}
        return data

    @validates_schema
    def _transport(self, data: dict[str, Any], **_: Any) -> None:
        if data["starttls"] and data["ssl"]:
            raise ValidationError("use either starttls (587) or ssl (465), not both", "ssl")
        if bool(data["username"]) != bool(data["password"]):
            raise ValidationError("username and password must be set together", "password")
        if data["username"] and not (data["starttls"] or data["ssl"]):
            raise ValidationError("refusing to send SMTP credentials in clear: "
                                  "set starttls: true or ssl: true", "username")


_SCHEMAS: dict[str, type[Schema]] = {
    "log": _LogSchema, "slack": _SlackSchema, "teams": _TeamsSchema,
    "webhook": _WebhookSchema, "email": _EmailSchema,
}


def load_channels(path: Path, env: Mapping[str, str]) -> dict[str, Channel]:
    """Every channel in ``path``, by name; :class:`ChannelError` for the first problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _error(path, 0, f"cannot read: {exc}") from exc
    document = parse_yaml(text, env)
    if document.problems:
        _, line, message = document.problems[0]
        raise _error(path, line, message)
    return _parse(path, document)


def _parse(path: Path, document: Document) -> dict[str, Channel]:
    root = document.data
    if root is None:
        return {}
    if not isinstance(root, dict):
        raise _error(path, document.line(()), "expected a mapping with a 'channels' key")
    for key in root:
        if key != "channels":
            raise _error(path, document.line((key,)),
                               f"unknown key {key!r} (expected only 'channels')")
    entries = root.get("channels") or {}
    if not isinstance(entries, dict):
        raise _error(path, document.line(("channels",)),
                           "'channels' must map channel names to their settings")
    return {name: _channel(path, document, name, spec) for name, spec in entries.items()}


def _channel(path: Path, document: Document, name: str, spec: Any) -> Channel:
    where: KeyPath = ("channels", name)
    if not _NAME.match(str(name)):
        raise _error(path, document.line(where),
                           f"channel name {name!r}: use letters, digits, '-', '_' or '.'")
    if not isinstance(spec, dict):
        raise _error(path, document.line(where),
                           f"channel {name!r}: expected a mapping such as {{type: log}}")
    kind = spec.get("type")
    schema = _SCHEMAS.get(kind) if isinstance(kind, str) else None
    if schema is None:
        raise _error(path, document.line((*where, "type")),
                           f"channel {name!r}: type must be one of {', '.join(_SCHEMAS)}, "
                           f"got {kind!r}")
    try:
        data = schema().load(spec)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        line, message = _first_error(document, where, messages)
        raise _error(path, line, f"channel {name!r}: {message}") from None
    return _build(name, str(kind), data)


def _first_error(document: Document, where: KeyPath,
                 messages: Any) -> tuple[int, str]:
    """The earliest error in the file, with the key path it is about."""
    found = sorted((document.line((*where, *keys)), ".".join(map(str, keys)), text)
                   for keys, text in walk_messages(messages, dict_steps=True))
    line, key, text = found[0]
    return line, f"{key}: {text}" if key else text


def _build(name: str, kind: str, data: dict[str, Any]) -> Channel:
    if kind == "slack":
        return SlackChannel(name, data["url"])
    if kind == "teams":
        return TeamsChannel(name, data["url"], data["card"])
    if kind == "webhook":
        return WebhookChannel(name, data["url"], dict(data["headers"]))
    if kind == "email":
        port = data["port"] or (465 if data["ssl"] else 587 if data["starttls"] else 25)
        return EmailChannel(name, data["host"], port, data["from_addr"], tuple(data["to"]),
                            starttls=data["starttls"], ssl=data["ssl"],
                            username=data["username"], password=data["password"],
                            ca_file=data["ca_file"], timeout_s=data["timeout_s"])
    return LogChannel(name)
