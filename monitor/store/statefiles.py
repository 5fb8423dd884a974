"""Every state file of a data directory, checked in one place.

A damaged state file must never be a silent wedge: ``/readyz`` (both listeners)
answers 503 naming it, ``zrmon_state_file_errors`` counts it, the CLI exits 2
naming it, and ``zrmon state restore`` puts its last good copy back. The files
are found by kind, not listed by owner: every ``*.json`` and ``*.sqlite`` in the
state directory, plus the silences, so a new state file is covered the day it
appears.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from monitor.atomicfile import LAST_GOOD, StateFileError, check_sqlite
from monitor.config import Config
from monitor.jsonutil import read_json_state

CACHE_S = 5.0   # /readyz may be polled every second; a check reads every file's header


def state_files(config: Config) -> list[Path]:
    found: set[Path] = set()
    for directory in (config.state_dir, config.data_dir):
        for pattern in ("*.json", "*.sqlite"):
            found.update(path for path in directory.glob(pattern)
                         if not path.name.endswith(LAST_GOOD))
    return sorted(found)


def check(path: Path) -> None:
    """Raise :class:`StateFileError` if ``path`` is damaged."""
    if path.suffix == ".sqlite":
        check_sqlite(path)
    else:
        read_json_state(path, dict)


def problems(config: Config) -> list[StateFileError]:
    found: list[StateFileError] = []
    for path in state_files(config):
        try:
            check(path)
        except StateFileError as exc:
            found.append(exc)
    return found


@dataclass
class StateHealth:
    """:func:`problems`, at most once every :data:`CACHE_S` per process."""

    config: Config
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _at: float | None = None
    _found: list[StateFileError] = field(default_factory=list)

    def problems(self) -> list[StateFileError]:
        with self._lock:
            now = time.monotonic()
            if self._at is None or now - self._at > CACHE_S:
                self._found, self._at = problems(self.config), now
            return list(self._found)
