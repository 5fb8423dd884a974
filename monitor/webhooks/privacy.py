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

from monitor.atomicfile import create_exclusive

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
    """A copy of a JSON value without credentials and with visitors pseudonymised."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in DROPPED_KEYS:
                continue
            if key in VISITOR_KEYS and not keep_visitor_pii and isinstance(item, str) and item:
                out[key] = pseudonym(salt, item)
            else:
                out[key] = scrub(item, salt, keep_visitor_pii=keep_visitor_pii)
        return out
    if isinstance(value, list):
        return [scrub(item, salt, keep_visitor_pii=keep_visitor_pii) for item in value]
    return value


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
