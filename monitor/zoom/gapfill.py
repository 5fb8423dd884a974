"""Gap fill: readings Zoom never delivered, fetched from the REST API automatically.

Zoom retries a webhook delivery three times (about 5, 25 and 85 minutes later) and then
drops it; a receiver down longer than that, or deliveries Zoom gave up on, leave holes
in a room's readings that webhooks will never fill. A thread in the writer process
(started by ``zrmon writer`` / ``zrmon serve`` when the Zoom credentials are set) looks,
every ``ZRMON_ZOOM_GAP_FILL_INTERVAL``, at the last ``ZRMON_ZOOM_GAP_LOOKBACK`` of
``sensor`` up to ``ZRMON_ZOOM_GAP_SETTLE`` ago, for each room where readings stopped for
longer than ``ZRMON_ZOOM_GAP_MIN``:

- between two readings (InfluxQL ``elapsed`` in a subquery: only the gaps come back),
  and from a room's last reading to the end of the window;
- minus the spans of the room's ``room_offline`` incidents (an offline room sends
  nothing, and there is nothing to fetch) and minus what was already fetched;

and fills them oldest first through the backfill's own code
(:func:`monitor.zoom.sensor_windows.fill_window`: webhook-shaped events through the intake
into the spool, so the points are the webhooks' points). What was fetched is remembered
in ``state/zoom-gapfill.json`` whether Zoom had readings or not, so a gap Zoom has no
data for is not asked for again. The rollups of filled gaps are recomputed once the
writer has stored them. ``zrmon_zoom_gaps_total{outcome}`` counts found, filled, empty
and offline gaps.

No run while the spool has a backlog: readings still waiting there would look like gaps.
Budget: its own client at half of ``ZRMON_ZOOM_RATE``, sharing the data directory's
per-second slots and daily count with the sync and any backfill, and stopping once the
day's count passes half of ``ZRMON_ZOOM_DAILY_BUDGET``, so the registry sync keeps its
share. See docs/zoom-api.md, "Gap fill".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.core.config import Config
from monitor.core.jsonutil import read_json_state, write_atomic
from monitor.core.metrics import ZOOM_GAPS
from monitor.datamodel.influxql import influxql_ident, influxql_string
from monitor.datamodel.measurements import ROOM_INCIDENT, SENSOR
from monitor.store.influx import InfluxClient, InfluxError
from monitor.store.spool import spool_status
from monitor.store.state import read_offsets
from monitor.zoom.backfill import refresh_rollups
from monitor.zoom.client import ZoomApi
from monitor.zoom.errors import ZoomError
from monitor.zoom.models import Room
from monitor.zoom.onehost import OneHost
from monitor.zoom.sensor_sink import SpoolSink, Target, spool_positions, wait_drained
from monitor.zoom.sensor_windows import Cursor, Window, fill_window, windows

log = logging.getLogger("monitor.zoom.gapfill")

STATE_FILE = "zoom-gapfill.json"
SHARE = 0.5                   # of the rate and of the daily budget
BACKLOG_S = 60.0              # spool records older than this: the writer is catching up
DRAIN_TIMEOUT_S = 300.0
OFFLINE_ALERT = "room_offline"

Span = tuple[int, int]        # seconds, both ends included


# ---------------------------------------------------------------------- spans (pure)


def merge(spans: Iterable[Span]) -> list[Span]:
    out: list[Span] = []
    for low, high in sorted(spans):
        if out and low <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], high))
        else:
            out.append((low, high))
    return out


def subtract(spans: Iterable[Span], minus: Iterable[Span]) -> list[Span]:
    """``spans`` without any second of ``minus``."""
    cuts = merge(minus)
    out: list[Span] = []
    for low, high in merge(spans):
        start = low
        for cut_low, cut_high in cuts:
            if cut_high < start or cut_low > high:
                continue
            if cut_low > start:
                out.append((start, cut_low))
            start = max(start, cut_high)
        if start < high:
            out.append((start, high))
    return out


# ---------------------------------------------------------------------- what InfluxDB says


def reading_gaps(influx: InfluxClient, low_s: int, high_s: int,
                 min_gap_s: float) -> dict[str, list[Span]]:
    """Per room: every stretch longer than ``min_gap_s`` without a reading, in the window,
    including the one from its last reading to the window's end.

    The readings on either side are left out of the span: they are stored already, and
    fetched again they could land in a second series if the room's tags changed since
    (a registry sync that placed it in a building).
    """
    sensor = influxql_ident(SENSOR)
    where = f"time >= {low_s}s AND time < {high_s}s"
    inner = (f'SELECT elapsed("value", 1s) AS "gap" FROM {sensor} WHERE {where} '
             'GROUP BY "room_id"')
    found: dict[str, list[Span]] = {}
    for series in influx.query(f'SELECT "gap" FROM ({inner}) WHERE "gap" > {int(min_gap_s)} '
                               'GROUP BY "room_id"', epoch="s"):
        room = series.tags.get("room_id", "")
        for at, gap in series.values:
            found.setdefault(room, []).append((int(at) - int(gap) + 1, int(at) - 1))
    for series in influx.query(f'SELECT last("value") FROM {sensor} WHERE {where} '
                               'GROUP BY "room_id"', epoch="s"):
        room = series.tags.get("room_id", "")
        for at, _ in series.values:
            if high_s - int(at) > min_gap_s:
                found.setdefault(room, []).append((int(at) + 1, high_s))
    return found


def offline_spans(influx: InfluxClient, high_s: int, now_s: int) -> dict[str, list[Span]]:
    """Per room: when it was offline by its ``room_offline`` incidents (open: until now)."""
    out: dict[str, list[Span]] = {}
    query = (f'SELECT "start_ms", "end_ms" FROM {influxql_ident(ROOM_INCIDENT)} WHERE '
             f'"alert_name" = {influxql_string(OFFLINE_ALERT)} AND time < {high_s}s '
             'GROUP BY "room_id"')
    for series in influx.query(query, epoch="s"):
        room = series.tags.get("room_id", "")
        for at, start_ms, end_ms in series.values:
            start = int(start_ms) // 1000 if start_ms is not None else int(at)
            end = int(end_ms) // 1000 if end_ms is not None else now_s
            out.setdefault(room, []).append((start, end))
    return out


# ---------------------------------------------------------------------- what was done


@dataclass
class GapState:
    """Per room what was fetched (merged spans) and each gap's outcome, by its start."""

    fetched: dict[str, list[Span]] = field(default_factory=dict)
    seen: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GapState:
        return cls({room: [(int(a), int(b)) for a, b in spans]
                    for room, spans in (data.get("fetched") or {}).items()},
                   {room: dict(items) for room, items in (data.get("seen") or {}).items()})

    def to_json(self) -> dict[str, Any]:
        return {"fetched": {room: [list(span) for span in spans]
                            for room, spans in self.fetched.items()}, "seen": self.seen}

    def forget_before(self, low_s: int) -> None:
        """What ends before the look-back can never be looked at again."""
        self.fetched = {room: kept for room, spans in self.fetched.items()
                        if (kept := [s for s in spans if s[1] >= low_s])}
        self.seen = {room: recent for room, items in self.seen.items()
                     if (recent := {k: v for k, v in items.items() if int(k) >= low_s})}

    def mark(self, room: str, start: int, outcome: str) -> bool:
        """Record a gap's outcome; True if it is news (then it is counted)."""
        items = self.seen.setdefault(room, {})
        if items.get(str(start)) == outcome:
            return False
        items[str(start)] = outcome
        return True

    def add_fetched(self, room: str, span: Span) -> None:
        self.fetched[room] = merge([*self.fetched.get(room, []), span])


@dataclass(frozen=True)
class Gap:
    room: str          # the room_id tag
    start: int         # what identifies it: where the readings stopped
    span: Span         # what is to be fetched


@dataclass
class GapRun:
    found: int = 0
    filled: int = 0
    empty: int = 0
    offline: int = 0
    readings: int = 0
    requests: int = 0
    skipped: str = ""


# ---------------------------------------------------------------------- the job


class GapFiller:
    """The writer's gap-fill thread; :meth:`run_once` is one look and fill."""

    def __init__(self, config: Config, stop: threading.Event, *,
                 clock: Any = time.time) -> None:
        interval, minimum, lookback, settle = config.zoom_gap_settings()
        self.config = config
        self.stop = stop
        self.clock = clock
        self.interval_s = interval or 0.0
        self.min_gap_s, self.lookback_s, self.settle_s = minimum, lookback, settle
        self.state_path = config.state_dir / STATE_FILE
        self.influx = InfluxClient(config, timeout=60.0)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="zoom-gap-fill", daemon=True)
        thread.start()
        return thread

    def run(self) -> None:
        hosts = OneHost(self.config, "zoom-gap-fill")
        try:
            self._loop(hosts)
        finally:
            hosts.close()

    def _loop(self, hosts: OneHost) -> None:
        while not self.stop.wait(self.interval_s):
            if not hosts.ours():
                continue
            try:
                self.run_once()
            except (ZoomError, InfluxError, OSError) as exc:
                log.warning("gap fill: %s; trying again in %.0f s", exc, self.interval_s)
            except Exception:
                log.exception("gap fill failed; trying again in %.0f s", self.interval_s)

    def _api(self) -> ZoomApi:
        # Half the rate and half the day: it runs only while the day's shared count (sync,
        # backfill and gap fill together) is below half the budget, and its requests share
        # the data directory's per-second slots with the others.
        return ZoomApi.from_config(self.config, settings={
            "rate": self.config.zoom_rate * SHARE,
            "daily_budget": max(1, int(self.config.zoom_daily_budget * SHARE))})

    def backlog(self) -> bool:
        status = spool_status(self.config.spool_dir, read_offsets(self.config))
        return status.oldest_age_s() > BACKLOG_S

    def run_once(self) -> GapRun:
        result = GapRun()
        if self.backlog():
            result.skipped = "the writer is catching up with the spool"
            log.info("gap fill: skipped, %s", result.skipped)
            return result
        now = int(self.clock())
        low, high = now - int(self.lookback_s), now - int(self.settle_s)
        state = GapState.from_json(read_json_state(self.state_path, dict))
        state.forget_before(low)
        gaps = self.find(state, low, high, now, result)
        write_atomic(self.state_path, state.to_json())
        if gaps:
            self.fill(gaps, state, result)
        return result

    def find(self, state: GapState, low: int, high: int, now: int,
             result: GapRun) -> list[Gap]:
        """The gaps to fetch, oldest first; counts new ones as found or offline."""
        offline = offline_spans(self.influx, high, now)
        todo: list[Gap] = []
        for room, spans in sorted(reading_gaps(self.influx, low, high, self.min_gap_s).items()):
            for span in spans:
                online = [p for p in subtract([span], offline.get(room, []))
                          if p[1] - p[0] >= self.min_gap_s]
                if not online:
                    if state.mark(room, span[0], "offline"):
                        result.offline += 1
                        ZOOM_GAPS.labels("offline").inc()
                    continue
                if str(span[0]) not in state.seen.get(room, {}):
                    state.mark(room, span[0], "found")
                    result.found += 1
                    ZOOM_GAPS.labels("found").inc()
                todo += [Gap(room, span[0], piece)
                         for piece in subtract(online, state.fetched.get(room, []))
                         if piece[1] - piece[0] >= self.min_gap_s]
        return sorted(todo, key=lambda gap: (gap.span[0], gap.room))

    def fill(self, gaps: list[Gap], state: GapState, result: GapRun) -> None:
        api = self._api()
        sink = SpoolSink(self.config)
        filled: list[Span] = []
        try:
            rooms: dict[str, Room] = {}
            for room in api.rooms():
                rooms.setdefault(room.id, room)
                rooms.setdefault(room.room_id, room)
            for gap in gaps:
                if self.stop.is_set():
                    break
                readings = self._fill_one(api, sink, gap, rooms.get(gap.room))
                if readings is None:
                    break
                state.add_fetched(gap.room, gap.span)
                outcome = "filled" if readings else "empty"
                if state.mark(gap.room, gap.start, outcome):
                    setattr(result, outcome, getattr(result, outcome) + 1)
                    ZOOM_GAPS.labels(outcome).inc()
                write_atomic(self.state_path, state.to_json())
                result.readings += readings
                if readings:
                    filled.append(gap.span)
        except ZoomError as exc:
            log.warning("gap fill stopped: %s (the rest waits for the next run)", exc)
        finally:
            sink.close()
            result.requests = api.stats.requests
            api.close()
        if filled:
            self._refresh(merge(filled))

    def _fill_one(self, api: ZoomApi, sink: SpoolSink, gap: Gap,
                  room: Room | None) -> int | None:
        """Readings spooled for one gap; None when stopped."""
        if room is None:
            log.warning("gap fill: room %s is not in GET /rooms; its gap %s is left alone",
                        gap.room, gap.span)
            return 0
        target = Target.of(room)
        total = 0
        for low, high in windows(gap.span[0], gap.span[1] + 1):
            spooled = fill_window(api, sink, Window(target, low, high), Cursor(low),
                                  lambda _cursor: None, stop=self.stop)
            if spooled is None:
                return None
            total += spooled
        log.info("gap fill: room %s %s..%s: %d readings from Zoom", gap.room, gap.span[0],
                 gap.span[1], total)
        return total

    def _refresh(self, spans: list[Span]) -> None:
        """Rollups of the filled spans, once the writer (this process) has stored them."""
        if not wait_drained(self.config, spool_positions(self.config.spool_dir),
                            DRAIN_TIMEOUT_S, stop=self.stop):
            log.warning("gap fill: rollups not refreshed, the writer has not stored the "
                        "readings yet")
            return
        for low, high in spans:
            try:
                refresh_rollups(self.config, low, high + 1)
            except InfluxError as exc:
                log.warning("gap fill: rollups of %s..%s not refreshed: %s", low, high, exc)


def start_gap_fill(config: Config, stop: threading.Event) -> threading.Thread | None:
    """The gap-fill thread, when the Zoom credentials are set and it is not off."""
    if not config.zoom_enabled or config.zoom_gap_settings()[0] is None:
        return None
    return GapFiller(config, stop).start()
