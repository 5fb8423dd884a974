"""Scrub what we must not keep before an event touches the disk.

Meeting passcodes and join URLs (``zoomroom.thirdparty_meeting_attempted``)
are credentials: dropped. Visitors' names and e-mail addresses are personal
data of people who are not our users: replaced by a salted HMAC, which still
lets a report count repeat visitors without revealing who they were, unless
the operator opts in to keeping them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Any

from monitor.core.atomicfile import create_exclusive

DROPPED_KEYS = frozenset({"passcode", "join_url", "password"})
VISITOR_KEYS = frozenset({"visitor_email", "visitor_name"})


PSEUDONYM_PREFIX = "hmac-sha256:"


def pseudonym(salt: bytes, value: str) -> str:
    """Idempotent, so a quarantined (already scrubbed) event can be replayed."""
    if value.startswith(PSEUDONYM_PREFIX):
        return value
    digest = hmac.new(salt, value.strip().lower().encode("utf-8"), hashlib.sha256)
    return PSEUDONYM_PREFIX + digest.hexdigest()[:32]


def scrub(value: Any, salt: bytes, *, keep_visitor_pii: bool = False) -> Any:
    """A copy of a JSON value without credentials and with visitors pseudonymised.

    Iterative, so a body at the nesting limit (or a quarantined one beyond
    it) cannot exhaust the interpreter's stack.
    """
    if not isinstance(value, dict | list):
        return value
    root: dict[str, Any] | list[Any] = {} if isinstance(value, dict) else []
    stack: list[tuple[Any, Any]] = [(value, root)]
    child: dict[str, Any] | list[Any]
    while stack:
        source, target = stack.pop()
        if isinstance(source, dict):
            for key, item in source.items():
                if key in DROPPED_KEYS:
                    continue
                if key in VISITOR_KEYS and not keep_visitor_pii and isinstance(item, str) and item:
                    target[key] = pseudonym(salt, item)
                elif isinstance(item, dict | list):
                    target[key] = child = {} if isinstance(item, dict) else []
                    stack.append((item, child))
                else:
                    target[key] = item
        else:
            for item in source:
                if isinstance(item, dict | list):
                    child = {} if isinstance(item, dict) else []
                    target.append(child)
                    stack.append((item, child))
                else:
                    target.append(item)
    return root


# What a scrub could change, as the key appears in a JSON text. A text without any
# of these (and without escapes that could spell one) needs no scrub.
_NEEDLES = (*(f'"{key}"'.encode() for key in sorted(DROPPED_KEYS | VISITOR_KEYS)), b"\\u")


def could_need_scrub(text: bytes) -> bool:
    """Whether ``scrub`` might change the value this JSON text encodes (a cheap byte search)."""
    return any(needle in text for needle in _NEEDLES)


def needs_scrub(event: str) -> bool:
    return event.startswith("visitor_management.") or event.endswith("thirdparty_meeting_attempted")


def load_salt(configured: str, state_dir: Path) -> bytes:
    """The configured salt, else one generated once and kept beside the state."""
    if configured:
        return configured.encode("utf-8")
    path = state_dir / "pseudonym.salt"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    create_exclusive(path, secrets.token_hex(32).encode("ascii"))  # one process's salt wins
    return path.read_bytes()
