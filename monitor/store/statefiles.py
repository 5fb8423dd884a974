"""Every state file of a data directory, checked in one place.

A damaged state file must never be a silent wedge: ``/readyz`` (both listeners)
answers 503 naming it, ``zrmon_state_file_errors`` counts it, the CLI exits 2
naming it, and ``zrmon state restore`` puts its last good copy back. The files
are found by kind, not listed by owner: every ``*.json`` and ``*.sqlite`` in the
state directory (the silences included), so a new state file is covered the day it
appears.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from monitor.core.atomicfile import LAST_GOOD, StateFileError, check_sqlite
from monitor.core.config import Config
from monitor.core.jsonutil import read_json_state

CACHE_S = 5.0   # /readyz may be polled every second; a check reads every file's header


def state_files(config: Config) -> list[Path]:
    return sorted(path for pattern in ("*.json", "*.sqlite")
                  for path in config.state_dir.glob(pattern)
                  if not path.name.endswith(LAST_GOOD))


def check(path: Path) -> None:
    """Raise :class:`StateFileError` if ``path`` is damaged."""
    if path.suffix == ".sqlite":
        check_sqlite(path)
    else:
        read_json_state(path, dict)


Signature = tuple[int, int]          # (mtime_ns, size): unchanged files are not read again
Seen = dict[Path, tuple[Signature, StateFileError | None]]


def problems(config: Config, seen: Seen | None = None) -> list[StateFileError]:
    """Every damaged state file; with ``seen``, only files changed since are read again."""
    memo: Seen = {} if seen is None else seen
    current: Seen = {}
    for path in state_files(config):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        signature = (stat.st_mtime_ns, stat.st_size)
        known = memo.get(path)
        if known is not None and known[0] == signature:
            current[path] = known
            continue
        try:
            check(path)
            current[path] = (signature, None)
        except StateFileError as exc:
            current[path] = (signature, exc)
    memo.clear()
    memo.update(current)
    return [error for _signature, error in current.values() if error is not None]


@dataclass
class StateHealth:
    """:func:`problems`, at most once every :data:`CACHE_S` per process, reading only the
    files that changed since the last look (an inventory of many rooms is megabytes)."""

    config: Config
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _at: float | None = None
    _found: list[StateFileError] = field(default_factory=list)
    _seen: Seen = field(default_factory=dict)

    def problems(self) -> list[StateFileError]:
        with self._lock:
            now = time.monotonic()
            if self._at is None or now - self._at > CACHE_S:
                self._found, self._at = problems(self.config, self._seen), now
            return list(self._found)
