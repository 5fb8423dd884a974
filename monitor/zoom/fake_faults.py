"""How the fake Zoom API misbehaves: its options, scripted answers, rate limits and 500s.

Everything that can stand between a valid token and the data, in the order Zoom seems
to apply it: an answer a test queued (:class:`Scripted`), the daily limit (429
``X-RateLimit-Type: Daily-limit`` with ``Retry-After`` at the next UTC midnight), the
per-second limit (429, with or without ``X-RateLimit-*`` and ``Retry-After``), and a
500 with probability ``error_rate`` (seeded, repeatable). Kept apart from the server
(:mod:`monitor.zoom.fake`) and its routes so that what a client must survive reads in
one place. :class:`FakeOptions` also holds the credentials and lifetimes the token
endpoint (:mod:`monitor.zoom.fake_auth`) and the pages (:mod:`monitor.zoom.fake_routes`)
follow.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.zoom.fake_fleet import iso

QPS_MESSAGE = "You have reached the maximum per-second rate limit for this API. Try again later."
DAILY_MESSAGE = ("You have reached the maximum daily rate limit for this API. Refer to the "
                 "response header for details on when you can make the next request.")

# (status, extra headers, JSON body)
Answer = tuple[int, dict[str, str], dict[str, Any]]


@dataclass(frozen=True)
class Scripted:
    """An exact answer; status 0 closes the connection without one (a network error)."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeOptions:
    """How the fake misbehaves; change fields while it runs (guarded by the server's lock)."""

    client_id: str = "fake-client-id"
    client_secret: str = "fake-client-secret"
    token_lifetime_s: float = 3600.0
    expires_in: int | None = None             # advertised; None: the real lifetime
    bad_credentials_status: int = 400         # what Zoom has been seen to answer
    page_token_ttl_s: float = 900.0
    qps_limit: float | None = None
    qps_rate_headers: bool = True             # X-RateLimit-* on a QPS 429
    qps_retry_after: str | None = "seconds"   # "seconds", "date" or None
    daily_limit: int | None = None
    error_rate: float = 0.0
    seed: int = 0


class Faults:
    """The scripted answers still queued, the requests of the last second and of the UTC
    day, and the seeded chance of a 500; used under the server's lock."""

    def __init__(self, seed: int, wall: Callable[[], float]) -> None:
        self.script: deque[Scripted] = deque()
        self._wall = wall
        self._recent: deque[float] = deque()
        self._day = ""
        self._day_count = 0
        self._rng = random.Random(seed)

    def answer(self, options: FakeOptions, arrived: float) -> Answer | None:
        """What a request with a valid token gets instead of its data, if anything."""
        if self.script:
            scripted = self.script.popleft()
            return scripted.status, dict(scripted.headers), dict(scripted.body)
        limited = self._limits(options, arrived)
        if limited is None and options.error_rate and self._rng.random() < options.error_rate:
            return 500, {}, {"code": 500, "message": "Internal Error"}
        return limited

    def _limits(self, options: FakeOptions, arrived: float) -> Answer | None:
        day = datetime.fromtimestamp(self._wall(), UTC).strftime("%Y-%m-%d")
        if day != self._day:
            self._day, self._day_count = day, 0
        self._day_count += 1
        if options.daily_limit is not None and self._day_count > options.daily_limit:
            midnight = (datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(days=1))
            return 429, {"X-RateLimit-Category": "Heavy", "X-RateLimit-Type": "Daily-limit",
                         "X-RateLimit-Limit": str(options.daily_limit),
                         "X-RateLimit-Remaining": "0",
                         "Retry-After": midnight.strftime("%Y-%m-%dT%H:%M:%SZ")}, \
                {"code": 429, "message": DAILY_MESSAGE}
        self._recent.append(arrived)
        while self._recent and self._recent[0] <= arrived - 1.0:
            self._recent.popleft()
        if options.qps_limit is None or len(self._recent) <= options.qps_limit:
            return None
        headers: dict[str, str] = {}
        if options.qps_rate_headers:
            headers.update({"X-RateLimit-Category": "Medium", "X-RateLimit-Type": "QPS",
                            "X-RateLimit-Limit": f"{options.qps_limit:g}",
                            "X-RateLimit-Remaining": "0"})
        if options.qps_retry_after == "seconds":
            headers["Retry-After"] = "1"
        elif options.qps_retry_after == "date":
            headers["Retry-After"] = iso(self._wall() + 2)
        return 429, headers, {"code": 429, "message": QPS_MESSAGE}
