"""``zrmon zoom backfill --dry-run``: the requests a backfill still needs, and the time.

Counts, from the checkpoint, the room listing and the pages of every remaining room
window (a guessed number of readings per room-day, ``page_size`` a page), and says how
long they take at ``ZRMON_ZOOM_RATE`` and how many UTC days of
``ZRMON_ZOOM_DAILY_BUDGET`` they need. Kept apart from the backfill itself
(:mod:`monitor.zoom.backfill`) because it makes no request for sensor data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.zoom.backfill import Backfill
from monitor.zoom.sensor_windows import DAY_S


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
