"""The client's request budget: a per-second limiter and a per-day budget.

Why not a rate-limiting library: the limiter must change its rate while it
runs (halve it after a bare 429, pause until a ``Retry-After``) and must
count a request from the moment it completes, not when it was started, so
that however late a request reaches Zoom the next one can never land in the
same second. pyrate-limiter and friends fix the rate at construction and
time-stamp at acquisition; the few lines below do exactly what is needed.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

from monitor.zoom.errors import ZoomBudgetError

log = logging.getLogger("monitor.zoom")

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class RateLimiter:
    """At most ``rate`` requests in any one-second window, measured from completion.

    A request holds a slot from :meth:`slot` until it returns; a slot in flight
    counts as "now" for every request waiting behind it. With ``n`` slots per
    window of ``w`` seconds (``n = floor(rate)``, ``w = n / rate``, at least 1 s)
    a request starts only when the ``n``-th previous one completed ``w`` ago,
    so Zoom never sees more than ``rate`` in any second.
    """

    def __init__(self, rate: float, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep,
                 slow_down_s: float = 60.0, min_rate: float = 0.1) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.min_rate = min(min_rate, rate)
        self.slow_down_s = slow_down_s
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._done: deque[float] = deque()      # completion times, oldest first
        self._in_flight = 0
        self._factor = 1.0
        self._slow_until = 0.0
        self._paused_until = 0.0

    def current_rate(self) -> float:
        with self._lock:
            return self._rate(self._clock())

    def _rate(self, now: float) -> float:
        if self._factor < 1.0 and now >= self._slow_until:
            self._factor = 1.0
            log.info("Zoom API: back to %.2f requests/s", self.rate)
        return max(self.min_rate, self.rate * self._factor)

    def _shape(self, now: float) -> tuple[int, float]:
        rate = self._rate(now)
        slots = max(1, math.floor(rate))
        return slots, max(1.0, slots / rate)

    def _wait(self, now: float) -> float:
        """Seconds until a slot frees up; 0 means take one now."""
        if now < self._paused_until:
            return self._paused_until - now
        slots, window = self._shape(now)
        while self._done and self._done[0] <= now - window:
            self._done.popleft()
        busy = len(self._done) + self._in_flight
        if busy < slots:
            return 0.0
        if len(self._done) + self._in_flight - slots >= len(self._done):
            return 0.05            # every counted slot is in flight: poll for a completion
        return self._done[busy - slots] + window - now

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        while True:
            with self._lock:
                wait = self._wait(self._clock())
                if wait <= 0:
                    self._in_flight += 1
                    break
            self._sleep(min(wait, 1.0))
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1
                self._done.append(self._clock())

    def pause_until(self, when: float) -> None:
        """No request before ``when`` (this limiter's clock): what Retry-After asks."""
        with self._lock:
            self._paused_until = max(self._paused_until, when)

    def paused_for(self) -> float:
        with self._lock:
            return max(0.0, self._paused_until - self._clock())

    def slow_down(self) -> float:
        """Halve the rate for ``slow_down_s``: a 429 without headers says only "too fast"."""
        with self._lock:
            now = self._clock()
            self._factor = max(self.min_rate / self.rate, self._factor / 2)
            self._slow_until = now + self.slow_down_s
            rate = self._rate(now)
        log.warning("Zoom API answered 429 without rate-limit headers: slowing down to "
                    "%.2f requests/s for %.0f s", rate, self.slow_down_s)
        return rate


def utc_day(wall_s: float) -> str:
    return datetime.fromtimestamp(wall_s, UTC).strftime("%Y-%m-%d")


def next_utc_midnight(wall_s: float) -> float:
    day = datetime.fromtimestamp(wall_s, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (day + timedelta(days=1)).timestamp()


@dataclass
class _Count:
    day: str
    used: int


class DailyBudget:
    """At most ``limit`` requests per UTC day; past it every call fails fast.

    With ``path`` the count survives restarts (a backfill resumed after a crash
    must not start a fresh day's budget): it is written with the project's
    atomic state writer every ``persist_every`` requests and on :meth:`flush`.
    """

    def __init__(self, limit: int, *, path: Path | None = None, wall: Clock = time.time,
                 persist_every: int = 20) -> None:
        self.limit = limit
        self._path = path
        self._wall = wall
        self._persist_every = max(1, persist_every)
        self._lock = threading.Lock()
        self._count = _Count(utc_day(wall()), 0)
        self._unsaved = 0
        if path is not None:
            self._load(path)

    def _load(self, path: Path) -> None:
        from monitor.jsonutil import read_json_state

        state = read_json_state(path, dict)
        if isinstance(state, dict) and state.get("day") == self._count.day:
            self._count.used = int(state.get("used", 0))

    def used(self) -> int:
        with self._lock:
            self._roll()
            return self._count.used

    def _roll(self) -> None:
        today = utc_day(self._wall())
        if today != self._count.day:
            self._count = _Count(today, 0)

    def take(self) -> None:
        with self._lock:
            self._roll()
            if self._count.used >= self.limit:
                renew = next_utc_midnight(self._wall())
                raise ZoomBudgetError(
                    f"daily Zoom API budget used up: {self._count.used} of {self.limit} "
                    f"requests today (ZRMON_ZOOM_DAILY_BUDGET); it renews at "
                    f"{datetime.fromtimestamp(renew, UTC):%Y-%m-%dT%H:%M:%SZ}", renew)
            self._count.used += 1
            self._unsaved += 1
            if self._unsaved >= self._persist_every:
                self._save()

    def flush(self) -> None:
        with self._lock:
            if self._unsaved:
                self._save()

    def _save(self) -> None:
        self._unsaved = 0
        if self._path is None:
            return
        from monitor.jsonutil import write_atomic

        write_atomic(self._path, {"day": self._count.day, "used": self._count.used})


def retry_after_s(headers: Mapping[str, str], wall_s: float) -> float | None:
    """Seconds Zoom asks to wait: ``Retry-After`` as seconds, an HTTP date or an ISO time."""
    raw = _header(headers, "Retry-After")
    if raw is None:
        return None
    text = raw.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    when = _parse_date(text)
    return None if when is None else max(0.0, when - wall_s)


def _parse_date(text: str) -> float | None:
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


@dataclass(frozen=True)
class Throttle:
    """What a 429 says: wait (seconds, or None when it said nothing), and of which kind."""

    wait_s: float | None
    kind: str               # "QPS", "Daily-limit", or "" when absent
    has_headers: bool

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], wall_s: float) -> Throttle:
        kind = (_header(headers, "X-RateLimit-Type") or "").strip()
        has = any(key.lower().startswith("x-ratelimit-") or key.lower() == "retry-after"
                  for key in headers)
        return cls(retry_after_s(headers, wall_s), kind, has)

    @property
    def daily(self) -> bool:
        return self.kind.lower().startswith("daily")
