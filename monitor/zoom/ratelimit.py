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
import fcntl
import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from monitor.store.spool import process_alive
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
                 slow_down_s: float = 60.0, min_rate: float = 0.1,
                 shared: SharedSlots | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.shared = shared    # the data directory's budget, across processes
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
            if self.shared is None:
                yield
            else:
                with self.shared.slot():
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

    With ``path`` the count is the data directory's, not the process's: every
    request reads, increments and writes it under an exclusive lock (one small
    file, a few requests a second), so a backfill run beside the service, or one
    resumed after a crash, spends the same day's budget rather than a fresh one.
    Clients with a lower ``limit`` on the same file (gap fill) stop while the
    day's total is past their share, leaving the rest to the others.
    """

    def __init__(self, limit: int, *, path: Path | None = None, wall: Clock = time.time) -> None:
        self.limit = limit
        self._path = path
        self._wall = wall
        self._lock = threading.Lock()
        self._count = _Count(utc_day(wall()), 0)

    def used(self) -> int:
        with self._lock, self._shared() as count:
            return count.used

    @contextlib.contextmanager
    def _shared(self) -> Iterator[_Count]:
        """The day's count, from the shared file when there is one, written back after."""
        today = utc_day(self._wall())
        if self._path is None:
            if self._count.day != today:
                self._count = _Count(today, 0)
            yield self._count
            return
        with locked(self._path):
            state = _read_json(self._path)
            count = _Count(today, int(state.get("used", 0)) if state.get("day") == today else 0)
            before = count.used
            yield count
            if count.used != before:
                _write_json(self._path, {"day": count.day, "used": count.used})

    def take(self) -> None:
        with self._lock, self._shared() as count:
            if count.used >= self.limit:
                renew = next_utc_midnight(self._wall())
                raise ZoomBudgetError(
                    f"daily Zoom API budget used up: {count.used} of {self.limit} "
                    f"requests today (ZRMON_ZOOM_DAILY_BUDGET); it renews at "
                    f"{datetime.fromtimestamp(renew, UTC):%Y-%m-%dT%H:%M:%SZ}", renew)
            count.used += 1

    def flush(self) -> None:
        """Nothing to do: every request is counted in the file as it is taken."""


class SharedSlots:
    """The per-second budget of every process on one data directory (sync, gap fill,
    ``zrmon zoom backfill``): at most ``rate`` requests in any window, counted like
    :class:`RateLimiter` does, from completion, with requests in flight as "now".

    The slots live in one small file read and written under an exclusive lock; a
    slot of a process that died mid-request counts as completed when that is noticed.
    """

    def __init__(self, path: Path, rate: float, *, wall: Clock = time.time,
                 sleep: Sleep = time.sleep) -> None:
        self.path = path
        self.slots = max(1, math.floor(rate))
        self.window = max(1.0, self.slots / rate)
        self._wall, self._sleep = wall, sleep

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        key = f"{os.getpid()}-{threading.get_ident()}-{time.monotonic_ns()}"
        while (wait := self._try_take(key)) > 0:
            self._sleep(min(wait, 1.0))
        try:
            yield
        finally:
            self._finish(key)

    def _try_take(self, key: str) -> float:
        with locked(self.path):
            now = self._wall()
            settled = [self._settle(entry, now)
                       for entry in _read_json(self.path).get("slots", [])]
            entries = [entry for entry in settled if self._live(entry, now)]
            done = sorted(float(entry["end"]) for entry in entries if entry.get("end"))
            busy = len(entries)
            if busy < self.slots:
                entries.append({"key": key, "pid": os.getpid(), "start": now, "end": None})
                _write_json(self.path, {"slots": entries})
                return 0.0
            in_flight = busy - len(done)
            if in_flight >= self.slots or not done:
                return 0.05
            return max(0.01, done[busy - self.slots] + self.window - now)

    @staticmethod
    def _settle(entry: dict[str, Any], now: float) -> dict[str, Any]:
        """A slot in flight of a process that died: its request may have reached Zoom, so
        it counts as completed now (for one more window), not as never sent."""
        pid = entry.get("pid")
        if entry.get("end") is None and not (isinstance(pid, int) and process_alive(pid)):
            return {**entry, "end": now}
        return entry

    def _live(self, entry: Mapping[str, object], now: float) -> bool:
        end = entry.get("end")
        return (isinstance(end, int | float) and end > now - self.window) or end is None

    def _finish(self, key: str) -> None:
        with locked(self.path):
            state = _read_json(self.path)
            entries = list(state.get("slots", []))
            for entry in entries:
                if entry.get("key") == key:
                    entry["end"] = self._wall()
            _write_json(self.path, {"slots": entries})


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock beside ``path`` (``<name>.lock``) for a read-modify-write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _read_json(path: Path) -> dict[str, Any]:
    from monitor.core.atomicfile import StateFileError
    from monitor.core.jsonutil import read_json_state

    try:
        state = read_json_state(path, dict)
    except StateFileError as exc:      # a counter, not a record: start it again, loudly
        log.error("%s; starting it over", exc)
        return {}
    return state if isinstance(state, dict) else {}


def _write_json(path: Path, value: Mapping[str, Any]) -> None:
    from monitor.core.atomicfile import write_bytes_atomic
    from monitor.core.jsonutil import dumps

    write_bytes_atomic(path, dumps(value))


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
