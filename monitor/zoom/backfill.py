"""Sensor history from Zoom's REST API into the ``sensor`` measurement, with no seam.

``zrmon zoom backfill --from … --to …`` (and the gap fill, :mod:`monitor.zoom.gapfill`)
read ``GET /rooms/{roomId}/sensor_data`` and turn every page into webhook-shaped
``zoomroom.sensor_data`` events, one per device and time, passed through the receiver's
own intake (:func:`monitor.webhooks.intake.parse_body` and
:func:`~monitor.webhooks.intake.prepare`, as ``zrmon quarantine replay`` does) and
appended to the spool. The writer maps them like any delivery: same series, same
timestamps, so a reading that came by webhook and by REST is one point, and a page
spooled twice changes nothing (the writer also skips the second copy by its digest).

Resuming: the history is cut into one request window per room and UTC day. After each
page's events are durably in the spool (fsync), a checkpoint records the room, the window,
the pages done and the page token for the next page (``state/zoom-backfill-<range>.json``,
the project's atomic writer). A run killed at any point starts again at the page after
the last checkpoint; only the page in flight is fetched twice. A page token older than
Zoom's 15 minutes cannot be used: the window then starts again from its first page.

Rollups: once every event is spooled, the command waits until the writer's committed
spool offsets pass the end of every segment it appended to (or the writer has dropped the
drained segment), then recomputes the rollups of the range with the rollup backfill of
``zrmon influx backfill``. See docs/zoom-api.md, "Backfill".
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from monitor.core import jsonutil
from monitor.core.config import Config
from monitor.core.timeutil import NS_PER_S, TimeParseError, iso_to_ns
from monitor.datamodel.measurements import SENSOR, SENSOR_EVENT
from monitor.datamodel.points import influxql_ident, influxql_string
from monitor.store.influx import InfluxClient
from monitor.store.quarantine import Quarantine
from monitor.store.spool import ACTIVE, SEALED, SpoolAppender, list_segments
from monitor.store.state import read_offsets
from monitor.webhooks.bounds import limits_of
from monitor.webhooks.intake import Intake, Privacy, parse_body, prepare
from monitor.webhooks.privacy import load_salt
from monitor.zoom.client import ZoomApi, zoom_time
from monitor.zoom.errors import ZoomRequestError
from monitor.zoom.models import Room

log = logging.getLogger("monitor.zoom.backfill")

DAY_S = 86_400
#: What a Zoom Rooms sensor reports (nine types every 5 minutes): the dry run's estimate.
READINGS_PER_ROOM_DAY = 9 * 288
#: A saved page token younger than this is used on resume; Zoom's live 15 minutes.
PAGE_TOKEN_TRUST_S = 14 * 60
MAX_WINDOW_RESTARTS = 3
STATE_PREFIX = "zoom-backfill-"


# ---------------------------------------------------------------------- events


def sensor_events(account_id: str, room_id: str, room_name: str,
                  items: Iterable[Mapping[str, Any]], fallback_ms: int) -> list[dict[str, Any]]:
    """REST items as webhook events: one per (device, time), readings in the API's order.

    Grouping by device and time is what makes the people count ride on every reading of
    the same moment, as it does in Zoom's own deliveries. ``event_ts`` is the readings'
    time, so the same readings always make the same event (and the same digest).
    """
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for item in items:
        device = str(item.get("device_id") or "")
        stamp = str(item.get("date_time") or "")
        groups.setdefault((device, stamp), []).append(
            {"date_time": item.get("date_time"), "sensor_type": item.get("sensor_type"),
             "sensor_value": item.get("sensor_value")})
    events = []
    for (device, stamp), readings in groups.items():
        try:
            event_ms = iso_to_ns(stamp) // 1_000_000
        except TimeParseError:
            event_ms = fallback_ms          # its readings are refused by the intake anyway
        obj: dict[str, Any] = {"id": room_id, "room_name": room_name, "sensor_data": readings}
        if device:
            obj["device_id"] = device
        events.append({"event": SENSOR_EVENT, "event_ts": event_ms,
                       "payload": {"account_id": account_id, "object": obj}})
    return events


def split_last_moment(items: Sequence[Mapping[str, Any]]) -> tuple[list[Mapping[str, Any]],
                                                                    list[Mapping[str, Any]]]:
    """A page's items without, and with only, those of its last time stamp.

    Zoom lists readings in time order, and a page may end half-way through one moment;
    the rest of that moment is held back until the next page so that one event carries
    all of it (the people count included), exactly like a webhook would.
    """
    if not items:
        return [], []
    last = items[-1].get("date_time")
    cut = len(items)
    while cut and items[cut - 1].get("date_time") == last:
        cut -= 1
    return list(items[:cut]), list(items[cut:])


@dataclass(frozen=True)
class Target:
    """A room to read: the id the API takes, and the name its readings are tagged with."""

    id: str
    room_id: str
    name: str

    @classmethod
    def of(cls, room: Room) -> Target:
        return cls(room.id, room.room_id, room.name)


class SpoolSink:
    """Webhook-shaped events through the receiver's intake into the spool, durably.

    Readings the intake refuses go to the quarantine (keyed, so spooling the same page
    again replaces the entry instead of adding one), as they would from a delivery.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.privacy = Privacy(load_salt(config.hash_salt, config.state_dir),
                               config.store_visitor_pii)
        self.limits = limits_of(config)
        self.spool = SpoolAppender(config.spool_dir, fsync=True,
                                   segment_bytes=config.spool_segment_bytes,
                                   max_bytes=config.spool_max_bytes)
        self.quarantine = Quarantine(config.quarantine_dir)
        self.influx = InfluxClient(config, timeout=60.0)
        self.events = 0
        self.readings = 0

    def stored(self, target: Target, low_s: int, high_s: int) -> set[tuple[str, int]]:
        """(sensor type, time) of the room's readings already in InfluxDB, under either id.

        A reading a webhook stored before the registry knew the room's place has no
        building/floor tags; written again now it would land in a second series (tags
        are part of a point's identity). So what is there already is left as it is,
        and the backfill only adds what is missing: one query per room and window.
        """
        ids = " OR ".join(f'"room_id" = {influxql_string(room_id)}'
                          for room_id in dict.fromkeys((target.id, target.room_id)) if room_id)
        series = self.influx.query(
            f'SELECT "value", "sensor_type" FROM {influxql_ident(SENSOR)} WHERE ({ids}) '
            f"AND time >= {low_s * NS_PER_S} AND time < {high_s * NS_PER_S}", epoch="ns")
        return {(str(row[2]), int(row[0])) for one in series for row in one.values}

    def put(self, target: Target, items: Sequence[Mapping[str, Any]], fallback_ms: int,
            stored: set[tuple[str, int]] | None = None) -> int:
        """Spool ``items`` not yet ``stored``; returns once they are on disk (the checkpoint
        may follow). A moment is skipped only when every reading of it is stored, so a
        spooled reading always rides with its moment's people count."""
        items = _missing(items, stored or set())
        for event in sensor_events(self.config.zoom_account_id, target.id, target.name, items,
                                   fallback_ms):
            body = jsonutil.dumps(event)
            parsed = parse_body(body, self.limits, self.privacy)
            intake = parsed if isinstance(parsed, Intake) else prepare(parsed, self.privacy)
            received_ns = time.time_ns()
            if intake.spool_payload is not None:
                self.spool.append(intake.spool_payload, received_ns)
                self.events += 1
            key = hashlib.blake2b(body, digest_size=16).digest()
            for n, entry in enumerate(intake.quarantine):
                self.quarantine.add(entry.body, event=intake.event, reason=entry.reason,
                                    errors=entry.errors, received_ns=received_ns,
                                    key=key + bytes([n % 256]))
        self.readings += len(items)
        return len(items)

    def close(self) -> None:
        self.spool.close()


def _missing(items: Sequence[Mapping[str, Any]],
             stored: set[tuple[str, int]]) -> list[Mapping[str, Any]]:
    if not stored:
        return list(items)
    moments: dict[str, list[Mapping[str, Any]]] = {}
    for item in items:
        moments.setdefault(str(item.get("date_time") or ""), []).append(item)
    kept: list[Mapping[str, Any]] = []
    for stamp, readings in moments.items():
        try:
            at_ns = iso_to_ns(stamp)
        except TimeParseError:
            kept.extend(readings)           # refused by the intake, into quarantine
            continue
        if any((str(r.get("sensor_type") or ""), at_ns) not in stored for r in readings):
            kept.extend(readings)
    return kept


def spool_positions(spool_dir: Path, pid: int | None = None) -> dict[str, int]:
    """This process's spool segments and their sizes: where its appends end so far.

    Only this process appends to segments named with its pid, so once the writer's
    committed offset for each reaches the size seen here, everything appended before
    this call has been stored.
    """
    pid = os.getpid() if pid is None else pid
    out: dict[str, int] = {}
    for segment in list_segments(spool_dir):
        if segment.pid != pid:
            continue
        try:
            out[segment.stem] = segment.path.stat().st_size
        except FileNotFoundError:
            sealed = segment.path.with_suffix(SEALED)
            if sealed.exists():
                out[segment.stem] = sealed.stat().st_size
    return out


def drained(config: Config, positions: Mapping[str, int]) -> bool:
    """The writer has committed every record up to ``positions`` (or dropped the segment,
    which it does only once it is drained and sealed)."""
    offsets = read_offsets(config.state_dir)
    for stem, end in positions.items():
        if offsets.get(stem, 0) >= end:
            continue
        if (config.spool_dir / (stem + ACTIVE)).exists() or \
                (config.spool_dir / (stem + SEALED)).exists():
            return False
    return True


def wait_drained(config: Config, positions: Mapping[str, int], timeout_s: float, *,
                 stop: threading.Event | None = None, poll_s: float = 0.2) -> bool:
    """True once :func:`drained`; False after ``timeout_s`` (or when ``stop`` is set)."""
    deadline = time.monotonic() + timeout_s
    while not drained(config, positions):
        if time.monotonic() >= deadline or (stop is not None and stop.is_set()):
            return False
        if stop is not None:
            stop.wait(poll_s)
        else:
            time.sleep(poll_s)
    return True


# ---------------------------------------------------------------------- windows and pages


def windows(start_s: int, end_s: int, size_s: int = DAY_S) -> list[tuple[int, int]]:
    """``[start, end)`` cut at UTC day boundaries (or every ``size_s``), half-open."""
    out = []
    low = start_s
    while low < end_s:
        high = min(end_s, (low // size_s + 1) * size_s)
        out.append((low, high))
        low = high
    return out


@dataclass
class Cursor:
    """Where one room stands: windows before ``window`` are done; of that window,
    ``pages`` pages are spooled and ``token`` (got at wall time ``token_at``) asks for the
    next one; ``carry`` is the held-back last moment of the last page."""

    window: int
    pages: int = 0
    token: str = ""
    token_at: float = 0.0
    carry: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"window": self.window, "pages": self.pages, "token": self.token,
                "token_at": self.token_at, "carry": self.carry}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Cursor:
        return cls(int(data["window"]), int(data.get("pages", 0)), str(data.get("token", "")),
                   float(data.get("token_at", 0.0)), list(data.get("carry") or []))


def sensor_page(api: ZoomApi, room_id: str, low_s: int, high_s: int,
                token: str) -> tuple[list[Mapping[str, Any]], str]:
    """One page of ``GET /rooms/{id}/sensor_data`` for ``[low, high)`` (Zoom's ``to`` is
    inclusive, so it is asked for up to the second before ``high``)."""
    params = {"from": zoom_time_s(low_s), "to": zoom_time_s(max(low_s, high_s - 1)),
              "page_size": str(api.settings.page_size)}
    if token:
        params["next_page_token"] = token
    document = api.get(f"/rooms/{quote(room_id, safe='')}/sensor_data", params)
    items = [item for item in document.get("sensor_data") or () if isinstance(item, Mapping)]
    return items, str(document.get("next_page_token") or "")


def zoom_time_s(at_s: int) -> str:
    return zoom_time(datetime.fromtimestamp(at_s, UTC))


Save = Callable[[Cursor], None]


@dataclass(frozen=True)
class Window:
    """One room's ``[low, high)``: one listing of ``sensor_data``, one or more pages."""

    target: Target
    low_s: int
    high_s: int


def fill_window(api: ZoomApi, sink: SpoolSink, window: Window, cursor: Cursor, save: Save, *,
                wall: Callable[[], float] = time.time,
                stop: threading.Event | None = None) -> int | None:
    """Spool one room's window page by page, saving ``cursor`` after each page.

    Returns the readings spooled by this call, or None when ``stop`` was set (the cursor
    saved says where to go on).
    """
    target, low_s, high_s = window.target, window.low_s, window.high_s
    if cursor.token and wall() - cursor.token_at > PAGE_TOKEN_TRUST_S:
        log.info("backfill %s: the saved page token is too old; window %s again from its "
                 "first page", target.id, zoom_time_s(low_s))
        cursor = Cursor(low_s)
    if cursor.pages and not cursor.token:       # finished before; nothing left here
        return 0
    restarts = spooled = 0
    fallback_ms = low_s * 1000
    stored = sink.stored(target, low_s, high_s)
    while True:
        if stop is not None and stop.is_set():
            return None
        try:
            items, token = sensor_page(api, target.id, low_s, high_s, cursor.token)
        except ZoomRequestError as exc:
            if not (cursor.token and exc.page_token_expired) or restarts >= MAX_WINDOW_RESTARTS:
                raise
            restarts += 1
            log.warning("backfill %s: page token expired; window %s again from its first "
                        "page", target.id, zoom_time_s(low_s))
            cursor = Cursor(low_s)
            continue
        pending = [*cursor.carry, *items]
        ready, carry = (split_last_moment(pending) if token else (pending, []))
        spooled += sink.put(target, ready, fallback_ms, stored)
        cursor = Cursor(low_s, cursor.pages + 1, token, wall() if token else 0.0,
                        [dict(item) for item in carry])
        save(cursor)
        if not token:
            return spooled


# ---------------------------------------------------------------------- the checkpoint


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


# ---------------------------------------------------------------------- a whole backfill


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


# ---------------------------------------------------------------------- the dry run


@dataclass(frozen=True)
class Estimate:
    rooms: int
    room_days: float
    listing_requests: int
    requests: int
    rate: float
    daily_budget: int
    used_today: int

    @property
    def seconds_at_rate(self) -> float:
        return self.requests / self.rate

    @property
    def budget_days(self) -> int:
        """UTC days of budget the requests need, today's remainder counting as the first."""
        left = max(0, self.daily_budget - self.used_today)
        if self.requests <= left:
            return 1
        return 1 + math.ceil((self.requests - left) / self.daily_budget)


def estimate(backfill: Backfill, rooms: Sequence[str], *, listing_requests: int,
             readings_per_day: int) -> Estimate:
    """Requests still to make: the room listing and, per remaining room window, its pages
    (``readings_per_day`` readings a room-day, ``page_size`` a page, at least one)."""
    page_size = backfill.api.settings.page_size
    requests = listing_requests
    room_days = 0.0
    for room_id in rooms:
        cursor = backfill.checkpoint.cursor(room_id)
        if cursor is None:
            continue
        for low, high in backfill.windows:
            if low < cursor.window:
                continue
            days = (high - low) / DAY_S
            pages = max(1, math.ceil(readings_per_day * days / page_size))
            if low == cursor.window:
                pages = max(0, pages - cursor.pages)
            requests += pages
            room_days += days
    settings = backfill.api.settings
    return Estimate(len(rooms), room_days, listing_requests, requests, settings.rate,
                    settings.daily_budget, backfill.api.budget.used())


def describe(found: Estimate) -> str:
    from monitor.core.timeutil import human_duration

    lines = [f"rooms: {found.rooms}", f"room-days: {found.room_days:g}",
             f"requests: {found.requests}",
             f"time at ZRMON_ZOOM_RATE={found.rate:g}/s: "
             f"{human_duration(found.seconds_at_rate)} ({found.seconds_at_rate:.0f} s)"]
    left = max(0, found.daily_budget - found.used_today)
    if found.budget_days == 1:
        lines.append(f"daily budget ZRMON_ZOOM_DAILY_BUDGET={found.daily_budget}: fits in "
                     f"today's remaining {left}")
    else:
        lines.append(f"daily budget ZRMON_ZOOM_DAILY_BUDGET={found.daily_budget}: needs "
                     f"{found.budget_days} UTC days ({left} left today); the backfill stops "
                     "when a day's budget is used up: run the same command again after "
                     "00:00 UTC to go on")
    return "\n".join(lines) + "\n"

