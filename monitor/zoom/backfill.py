"""Sensor history from Zoom's REST API into the ``sensor`` measurement, with no seam.

``zrmon zoom backfill --from … --to …`` (and the gap fill, :mod:`monitor.zoom.gapfill`)
read ``GET /rooms/{roomId}/sensor_data`` and turn every page into webhook-shaped
``zoomroom.sensor_data`` events that go through the receiver's own intake into the
spool (:mod:`monitor.zoom.sensor_sink`). The writer maps them like any delivery: same
series, same timestamps, so a reading that came by webhook and by REST is one point.

Resuming: the history is cut into one request window per room and UTC day, read page by
page (:mod:`monitor.zoom.sensor_windows`). After each page's events are durably in the
spool (fsync), a checkpoint records the room, the window, the pages done and the page
token for the next page (:mod:`monitor.zoom.backfill_checkpoint`). A run killed at any
point starts again at the page after the last checkpoint; only the page in flight is
fetched twice. A page token older than Zoom's 15 minutes cannot be used: the window then
starts again from its first page.

Rollups: once every event is spooled, the command waits until the writer's committed
spool offsets pass the end of every segment it appended to (or the writer has dropped the
drained segment), then recomputes the rollups of the range with the rollup backfill of
``zrmon influx backfill`` (:func:`refresh_rollups`). The dry run's figures are
:mod:`monitor.zoom.backfill_estimate`. See docs/zoom-api.md, "Backfill".
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from monitor.core.config import Config
from monitor.core.timeutil import NS_PER_S
from monitor.zoom.backfill_checkpoint import Checkpoint
from monitor.zoom.client import ZoomApi
from monitor.zoom.models import Room
from monitor.zoom.sensor_sink import SpoolSink, Target, spool_positions
from monitor.zoom.sensor_windows import Cursor, Window, fill_window, windows


@dataclass
class BackfillResult:
    rooms: int = 0
    windows: int = 0
    readings: int = 0
    events: int = 0
    interrupted: bool = False


Progress = Callable[[int], None]


class Backfill:
    """One range for a set of rooms, resumable from its checkpoint."""

    def __init__(self, config: Config, api: ZoomApi, start_s: int, end_s: int, *,
                 stop: threading.Event | None = None) -> None:
        self.config = config
        self.api = api
        self.start_s, self.end_s = start_s, end_s
        self.stop = stop
        self.checkpoint = Checkpoint.load(config.state_dir, start_s, end_s)
        self.windows = windows(start_s, end_s)

    def remaining_windows(self, targets: Iterable[str]) -> int:
        total = 0
        for room_id in targets:
            cursor = self.checkpoint.cursor(room_id)
            if cursor is not None:
                total += sum(1 for low, _ in self.windows if low >= cursor.window)
        return total

    def run(self, targets: Sequence[Target], progress: Progress | None = None) -> BackfillResult:
        result = BackfillResult(rooms=len(targets))
        sink = SpoolSink(self.config)
        try:
            for target in targets:
                if not self._room(target, sink, result, progress):
                    result.interrupted = True
                    break
        finally:
            sink.close()
            result.events = sink.events
            result.readings = sink.readings
        return result

    def _room(self, target: Target, sink: SpoolSink, result: BackfillResult,
              progress: Progress | None) -> bool:
        cursor = self.checkpoint.cursor(target.id)
        if cursor is None:
            return True
        spool_dir = self.config.spool_dir
        for low, high in self.windows:
            if low < cursor.window:
                continue
            current = cursor if cursor.window == low else Cursor(low)

            def save(saved: Cursor) -> None:
                self.checkpoint.save(target.id, saved, spool_positions(spool_dir))

            if fill_window(self.api, sink, Window(target, low, high), current, save,
                           stop=self.stop) is None:
                return False
            cursor = Cursor(high)
            result.windows += 1
            if progress is not None:
                progress(1)
        self.checkpoint.save(target.id, None, spool_positions(spool_dir))
        return True


def resolve_targets(api: ZoomApi, wanted: Sequence[str]) -> tuple[list[Target], list[str]]:
    """Every room of ``GET /rooms``, or those named (either id); and the unknown names."""
    rooms = api.rooms()
    by_key: dict[str, Room] = {}
    for room in rooms:
        by_key.setdefault(room.id, room)
        if room.room_id:
            by_key.setdefault(room.room_id, room)
    if not wanted:
        return [Target.of(room) for room in rooms], []
    unknown = [name for name in wanted if name not in by_key]
    chosen: dict[str, Target] = {}
    for name in wanted:
        if name in by_key:
            chosen.setdefault(by_key[name].id, Target.of(by_key[name]))
    return list(chosen.values()), unknown


def refresh_rollups(config: Config, start_s: int, end_s: int,
                    progress: Progress | None = None) -> int:
    """The rollups of ``[start, end)`` recomputed from the raw readings (whole hours)."""
    from monitor.store.influx import InfluxClient
    from monitor.store.retention import backfill

    client = InfluxClient(config, timeout=600.0)
    return backfill(client, start_s * NS_PER_S, end_s * NS_PER_S, progress=progress)
