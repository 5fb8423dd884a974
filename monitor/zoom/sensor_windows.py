"""One room's sensor history, window by window and page by page, resumable.

The history is cut into one request window per room and UTC day (:func:`windows`).
:func:`fill_window` reads a window's pages of ``GET /rooms/{roomId}/sensor_data``, hands
each to a :class:`~monitor.zoom.sensor_sink.SpoolSink` and, once the page's events are
durably in the spool, saves a :class:`Cursor`: the window, the pages done and the page
token for the next page. Started again from a saved cursor, only the page in flight is
fetched twice. A page token older than Zoom's 15 minutes cannot be used: the window then
starts again from its first page. A page may end half-way through one moment; the rest
of it is held back (:func:`split_last_moment`) so that one event carries all of it.
Used by the backfill (:mod:`monitor.zoom.backfill`) and the gap fill
(:mod:`monitor.zoom.gapfill`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from monitor.zoom.client import ZoomApi, zoom_time
from monitor.zoom.errors import ZoomRequestError
from monitor.zoom.sensor_sink import SpoolSink, Target

log = logging.getLogger("monitor.zoom.backfill")    # the name its log lines have always had

DAY_S = 86_400
#: A saved page token younger than this is used on resume; Zoom's live 15 minutes.
PAGE_TOKEN_TRUST_S = 14 * 60
MAX_WINDOW_RESTARTS = 3


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
