"""Where a test's outbox lives: a state dir's ``outbox.sqlite``, or a fresh PostgreSQL database.

Tests of behaviour both backends share take an :class:`OutboxPlace` from the
parametrized ``outbox_place`` fixture (tests/conftest.py) and open outboxes
there, as many as they need (a restart is a second :meth:`OutboxPlace.open`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from monitor.notify.outbox import Fence, Outbox


@dataclass(frozen=True)
class OutboxPlace:
    state_dir: Path
    url: str = ""          # a PostgreSQL URL, or "" for the state dir's SQLite file

    @property
    def backend(self) -> str:
        return "postgresql" if self.url else "sqlite"

    def open(self, *, fence: Fence | None = None) -> Outbox:
        return Outbox.open(self.state_dir, self.url, fence=fence)
