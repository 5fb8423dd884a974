"""Operator silences: "I know, stop telling me" for a while, by label matchers.

A silence mutes every alert its matchers match (see :mod:`monitor.notify.matchers`
for the matcher language: exact values, ``~regex``; labels include ``rule``,
``room_id``, ``level`` and ``status``) from ``starts_ns`` until ``ends_ns``.
Expiring one ends it now but keeps it listed for a week, so "who silenced
that, and why?" still has an answer.

The store is one JSON file, ``<data_dir>/state/silences.json``, shared by the
evaluator process and the CLI. Every call re-reads it (so one process sees the
other's silences at once), every change is a read-modify-write under an
exclusive ``flock`` (so two concurrent ``add``\\ s do not lose one) and lands by
temp file + ``os.replace`` (so a reader never sees half a file).
"""

from __future__ import annotations

import builtins
import fcntl
import json
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from monitor.core.atomicfile import read_state, write_bytes_atomic
from monitor.core.errors import UsageError
from monitor.notify.matchers import alert_labels, labels_match, matcher_errors
from monitor.rules.model import Alert

FILENAME = "silences.json"
FORMAT_VERSION = 1
# Expired silences stay listed this long (for the record), then are dropped.
KEEP_EXPIRED_NS = 7 * 86400 * 1_000_000_000


class SilenceError(UsageError):
    """A silence that cannot be created or found, or an unreadable store."""


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: dict[str, str]
    starts_ns: int
    ends_ns: int
    created_by: str = ""
    comment: str = ""

    def active(self, now_ns: int) -> bool:
        return self.starts_ns <= now_ns < self.ends_ns

    def expired(self, now_ns: int) -> bool:
        return now_ns >= self.ends_ns

    def matches(self, alert: Alert) -> bool:
        """Whether the matchers hold for the alert (whatever the time: see :meth:`silences`)."""
        return labels_match(self.matchers, alert_labels(alert))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Silence:
        return cls(id=str(data["id"]), matchers={str(k): str(v) for k, v in
                                                 data["matchers"].items()},
                   starts_ns=int(data["starts_ns"]), ends_ns=int(data["ends_ns"]),
                   created_by=str(data.get("created_by", "")),
                   comment=str(data.get("comment", "")))


def silences(alert: Alert, candidates: Iterable[Silence],
             now_ns: int) -> bool:
    """True if any silence active at ``now_ns`` matches the alert."""
    return any(silence.active(now_ns) and silence.matches(alert) for silence in candidates)


def parse_matchers(items: builtins.list[str]) -> dict[str, str]:
    """``["rule=air/co2", "building=~HQ.*"]`` → matchers; for ``--match k=v`` options.

    Refuses what would surprise at 3 a.m.: no ``=``, an empty name, a label
    given twice, a regex that does not compile, and no matchers at all (a
    silence of *everything* must not be one typo away).
    """
    matchers: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise SilenceError(f"not a matcher: {item!r} (use label=value or label=~regex)")
        if name in matchers:
            raise SilenceError(f"label {name!r} given twice")
        matchers[name] = value
    _check(matchers)
    return matchers


def _check(matchers: Mapping[str, str]) -> None:
    if not matchers:
        raise SilenceError("a silence needs at least one matcher")
    errors = matcher_errors(matchers)
    if errors:
        raise SilenceError("; ".join(errors))


class SilenceStore:
    """Silences in ``<data_dir>/state/silences.json``; ``clock`` gives now in ns."""

    def __init__(self, data_dir: Path, clock: Callable[[], int] = time.time_ns) -> None:
        self.path = data_dir / "state" / FILENAME
        self.clock = clock

    def add(self, matchers: Mapping[str, str], *, ends_ns: int, starts_ns: int | None = None,
            created_by: str = "", comment: str = "") -> Silence:
        """A new silence from ``starts_ns`` (default now) until ``ends_ns``."""
        _check(matchers)
        starts = self.clock() if starts_ns is None else starts_ns
        if ends_ns <= starts:
            raise SilenceError("a silence must end after it starts")
        with self._locked() as current:
            taken = {silence.id for silence in current}
            silence = Silence(_new_id(taken), dict(matchers), starts, ends_ns, created_by,
                              comment)
            current.append(silence)
        return silence

    def list(self, include_expired: bool = False) -> builtins.list[Silence]:
        """Current and future silences (and, if asked, the recently expired), by start."""
        now = self.clock()
        found = [s for s in self._read() if include_expired or not s.expired(now)]
        return sorted(found, key=lambda s: (s.starts_ns, s.id))

    def active(self, now_ns: int | None = None) -> builtins.list[Silence]:
        """The silences in force now: what the dispatcher needs each cycle."""
        now = self.clock() if now_ns is None else now_ns
        return [silence for silence in self._read() if silence.active(now)]

    def expire(self, silence_id: str, now_ns: int | None = None) -> Silence:
        """End a silence now; ``silence_id`` may be a unique prefix, as with git."""
        now = self.clock() if now_ns is None else now_ns
        with self._locked() as current:
            index = _find(current, silence_id)
            ended = current[index]
            if not ended.expired(now):
                ended = replace(ended, ends_ns=max(now, ended.starts_ns))
                current[index] = ended
        return ended

    def get(self, silence_id: str) -> Silence:
        current = self._read()
        return current[_find(current, silence_id)]

    def _read(self) -> builtins.list[Silence]:
        # Refuse (StateFileError) rather than treat as empty: that would un-silence everything.
        return read_state(self.path, _parse_silences, list)

    @contextmanager
    def _locked(self) -> Iterator[builtins.list[Silence]]:
        """Read-modify-write under an exclusive lock; written back only if no exception."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            current = self._read()
            yield current
            cutoff = self.clock() - KEEP_EXPIRED_NS
            self._write([silence for silence in current if silence.ends_ns > cutoff])

    def _write(self, current: builtins.list[Silence]) -> None:
        payload = {"version": FORMAT_VERSION, "silences": [s.to_json() for s in current]}
        text = json.dumps(payload, indent=1, sort_keys=True)
        write_bytes_atomic(self.path, text.encode("utf-8"), keep_last_good=True)


def _parse_silences(data: bytes) -> builtins.list[Silence]:
    return [Silence.from_json(item) for item in json.loads(data)["silences"]]


def _new_id(taken: set[str]) -> str:
    """Short enough to type in ``zrmon silence expire``; unique in the store."""
    while True:
        candidate = secrets.token_hex(4)
        if candidate not in taken:
            return candidate


def _find(current: builtins.list[Silence], silence_id: str) -> int:
    exact = [i for i, s in enumerate(current) if s.id == silence_id]
    found = exact or [i for i, s in enumerate(current) if s.id.startswith(silence_id)]
    if not silence_id or not found:
        raise SilenceError(f"no silence {silence_id!r}")
    if len(found) > 1:
        raise SilenceError(f"silence id {silence_id!r} is ambiguous")
    return found[0]
