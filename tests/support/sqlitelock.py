"""Another writer holding a SQLite database's write lock: every commit there fails as busy."""

from __future__ import annotations

import sqlite3
from pathlib import Path


class Locker:
    """A second real connection in ``BEGIN IMMEDIATE`` until :meth:`release`."""

    def __init__(self, path: Path) -> None:
        self.db: sqlite3.Connection | None = sqlite3.connect(path, isolation_level=None)
        self.db.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        if self.db is not None:
            self.db.execute("ROLLBACK")
            self.db.close()
            self.db = None
