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
import time
from pathlib import Path
from typing import Any

from monitor.core.atomicfile import create_exclusive, write_bytes_atomic
from monitor.core.config import Config
from monitor.store.migrations import migrate
from monitor.store.statedb import StateDBError, is_postgres_url, open_state_db

DROPPED_KEYS = frozenset({"passcode", "join_url", "password"})
VISITOR_KEYS = frozenset({"visitor_email", "visitor_name"})

SALT_KEY = "pseudonym_salt"   # in the shared state's key/value table


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


def load_salt(config: Config) -> bytes:
    """The configured salt, else one generated once and kept beside the state.

    With shared PostgreSQL state every replica must pseudonymise alike, so the
    salt is the database's (the first replica's wins) and the local file is its
    cache: a replica that has started once keeps accepting while PostgreSQL is down.
    """
    if config.hash_salt:
        return config.hash_salt.encode("utf-8")
    path = config.state_dir / "pseudonym.salt"
    if is_postgres_url(config.state_url):
        return _shared_salt(config, path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    create_exclusive(path, secrets.token_hex(32).encode("ascii"))  # one process's salt wins
    return path.read_bytes()


def _shared_salt(config: Config, cache: Path) -> bytes:
    try:
        cached: bytes | None = cache.read_bytes()
    except FileNotFoundError:
        cached = None
    try:
        salt = _agree_salt(config, cached or secrets.token_hex(32).encode("ascii"))
    except StateDBError:
        if cached is None and cache.exists():   # another process of this replica cached it
            return cache.read_bytes()
        if cached is None:
            raise
        return cached
    if salt != cached:
        config.state_dir.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(cache, salt)
    return salt


def _agree_salt(config: Config, candidate: bytes) -> bytes:
    """The shared salt: ``candidate`` if no replica set one before."""
    db = open_state_db(config.state_url, config.state_dir, timeout_s=3.0)
    try:
        migrate(db, "writer", time.time_ns())
        with db.transaction() as tx:
            tx.execute("INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                       (SALT_KEY, candidate.decode("ascii")))
            row = tx.execute("SELECT value FROM kv WHERE key = ?", (SALT_KEY,)).fetchone()
    finally:
        db.close()
    return str(row[0]).encode("ascii")
