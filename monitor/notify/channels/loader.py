"""Named notification channels, loaded from ``rules/channels.yaml``.

Rules name channels (``notify: [facilities-slack]``); this file says what
each name is. It is validated completely at load time — unknown keys,
non-http(s) URLs, credentials without TLS, unset ``${ENV}`` secrets — so a
typo is a start-up error with ``file:line`` instead of an alert that
silently goes nowhere at 3 a.m.

Secrets never appear in error messages or in a channel's ``repr``. What
each ``type:`` accepts is its kind's schema (:mod:`.registry`); this module
reads the file around them and turns the first problem into ``file:line``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from monitor.core.configfile import ConfigFileError, Document, KeyPath, parse_yaml, walk_messages
from monitor.notify.channels.kind import Channel
from monitor.notify.channels.registry import KINDS

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")




def _error(file: Path | str, line: int, message: str) -> ConfigFileError:
    """The channels file names the channel in the message, so no separate key path."""
    return ConfigFileError(file, line, "", message)


def load_channels(path: Path, env: Mapping[str, str]) -> dict[str, Channel]:
    """Every channel in ``path``, by name; :class:`ConfigFileError` for the first problem."""
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
    known = KINDS.get(kind) if isinstance(kind, str) else None
    if known is None:
        raise _error(path, document.line((*where, "type")),
                           f"channel {name!r}: type must be one of {', '.join(KINDS)}, "
                           f"got {kind!r}")
    try:
        data = known.schema().load(spec)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        line, message = _first_error(document, where, messages)
        raise _error(path, line, f"channel {name!r}: {message}") from None
    return known.build(name, data)


def _first_error(document: Document, where: KeyPath,
                 messages: Any) -> tuple[int, str]:
    """The earliest error in the file, with the key path it is about."""
    found = sorted((document.line((*where, *keys)), ".".join(map(str, keys)), text)
                   for keys, text in walk_messages(messages, dict_steps=True))
    line, key, text = found[0]
    return line, f"{key}: {text}" if key else text
