"""The backfill's checkpoint: where each room of a range stands, in the state directory.

``state/zoom-backfill-<range>.json`` (the project's atomic writer) holds, per room, the
:class:`~monitor.zoom.sensor_windows.Cursor` saved after each page (absent: not started;
``done``: finished), the spool positions every run appended up to, and whether the
rollups were refreshed. A backfill killed at any point starts again from it
(:class:`monitor.zoom.backfill.Backfill`); the command waits for the writer to pass the
spool positions before it refreshes the rollups (:mod:`monitor.zoom.backfill_cli`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.core import jsonutil
from monitor.zoom.sensor_windows import Cursor, zoom_time_s

STATE_PREFIX = "zoom-backfill-"


def checkpoint_path(state_dir: Path, start_s: int, end_s: int) -> Path:
    return state_dir / f"{STATE_PREFIX}{zoom_time_s(start_s)}-{zoom_time_s(end_s)}.json" \
        .replace(":", "")


@dataclass
class Checkpoint:
    """Per room the :class:`Cursor` (absent: not started; ``done``: finished), the spool
    positions every run appended up to, and whether the rollups were refreshed."""

    path: Path
    start_s: int
    end_s: int
    rooms: dict[str, Any] = field(default_factory=dict)
    spooled: dict[str, int] = field(default_factory=dict)
    rollups: bool = False

    @classmethod
    def load(cls, state_dir: Path, start_s: int, end_s: int) -> Checkpoint:
        path = checkpoint_path(state_dir, start_s, end_s)
        data = jsonutil.read_json_state(path, dict)
        return cls(path, start_s, end_s, dict(data.get("rooms") or {}),
                   {str(k): int(v) for k, v in (data.get("spooled") or {}).items()},
                   bool(data.get("rollups", False)))

    def cursor(self, room_id: str) -> Cursor | None:
        """None when the room is done; its cursor (new: at the start) otherwise."""
        entry = self.rooms.get(room_id)
        if entry == "done":
            return None
        return Cursor.from_json(entry) if isinstance(entry, Mapping) else Cursor(self.start_s)

    def save(self, room_id: str, cursor: Cursor | None, positions: Mapping[str, int]) -> None:
        self.rooms[room_id] = "done" if cursor is None else cursor.to_json()
        for stem, end in positions.items():
            self.spooled[stem] = max(end, self.spooled.get(stem, 0))
        self.rollups = False
        self.write()

    def write(self) -> None:
        jsonutil.write_atomic(self.path, {"from": zoom_time_s(self.start_s),
                                          "to": zoom_time_s(self.end_s), "rooms": self.rooms,
                                          "spooled": self.spooled, "rollups": self.rollups})
