"""The Zoom REST API client the monitor's sync, backfill and reconciliation share.

One :class:`ZoomApi` per process, built from :class:`~monitor.core.config.Config`
with :meth:`ZoomApi.from_config`. Every API request passes, in order: the
daily budget (fail fast when used up), the rate limiter (wait for a slot),
a bearer token (fetched or renewed), and then the retry loop: a 401 renews
the token once, a 429 waits as Zoom says (or halves the rate when it says
nothing), 5xx answers and network errors are retried with exponential
back-off and jitter, a bounded number of times. Retries are done here and
not by urllib3 so that each one also passes the limiter and the budget.
See docs/zoom-api.md.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import urllib3

from monitor.core.config import Config
from monitor.zoom.auth import Credentials, TokenSource
from monitor.zoom.errors import (
    ZoomAuthError,
    ZoomError,
    ZoomRateLimitError,
    ZoomRequestError,
    ZoomUnavailableError,
)
from monitor.zoom.models import Device, Location, LocationProfile, Room, RoomProfile, SensorReading
from monitor.zoom.paging import paginate
from monitor.zoom.ratelimit import (
    Clock,
    DailyBudget,
    RateLimiter,
    SharedSlots,
    Sleep,
    Throttle,
)

log = logging.getLogger("monitor.zoom")

PAGE_SIZE = 300            # the largest page Zoom serves on every endpoint used here


@dataclass(frozen=True)
class ZoomSettings:
    """Everything the client needs; the secret never shows in ``repr``."""

    account_id: str
    client_id: str
    client_secret: str = field(repr=False)
    api_url: str = "https://api.zoom.us/v2"
    oauth_url: str = "https://zoom.us/oauth/token"
    rate: float = 5.0                 # requests per second
    daily_budget: int = 30_000        # requests per UTC day
    timeout_s: float = 30.0
    max_attempts: int = 5             # per request, over 5xx answers and network errors
    backoff_s: float = 0.5            # first retry delay; doubles per attempt
    backoff_max_s: float = 30.0
    max_throttled: int = 10           # 429s in a row on one request before giving up
    max_wait_s: float = 300.0         # a longer Retry-After fails the call instead of sleeping
    slow_down_s: float = 60.0         # how long a bare 429 halves the rate
    page_size: int = PAGE_SIZE

    @classmethod
    def from_config(cls, config: Config, **overrides: Any) -> ZoomSettings:
        config.require_zoom()
        values: dict[str, Any] = {
            "account_id": config.zoom_account_id, "client_id": config.zoom_client_id,
            "client_secret": config.zoom_client_secret, "api_url": config.zoom_api_url,
            "oauth_url": config.zoom_oauth_url, "rate": config.zoom_rate,
            "daily_budget": config.zoom_daily_budget}
        values.update(overrides)
        return cls(**values)


@dataclass
class ApiStats:
    """Counters for logs and metrics: what the budget was spent on."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    token_renewals: int = 0


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: Mapping[str, str]
    document: Any


BUDGET_FILE = "zoom-budget.json"   # the day's count, shared by every client on a data dir
RATE_FILE = "zoom-rate.json"       # the per-second slots, likewise


def shared_slots(config: Config) -> SharedSlots:
    """ZRMON_ZOOM_RATE for the whole data directory, whichever process asks."""
    return SharedSlots(config.state_dir / RATE_FILE, config.zoom_rate)


class ZoomApi:
    """Typed calls to the Zoom Rooms REST API; thread-safe, one connection pool."""

    def __init__(self, settings: ZoomSettings, *, budget_path: Path | None = None,
                 clock: Clock = time.monotonic, wall: Clock = time.time,
                 sleep: Sleep = time.sleep, rng: random.Random | None = None,
                 maxsize: int = 4, shared: SharedSlots | None = None) -> None:
        self.settings = settings
        self._credentials = Credentials(settings.account_id, settings.client_id,
                                        settings.client_secret)
        self._clock, self._wall, self._sleep = clock, wall, sleep
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self._timeout = urllib3.Timeout(connect=min(settings.timeout_s, 10.0),
                                        read=settings.timeout_s)
        self._http = urllib3.PoolManager(maxsize=maxsize, retries=False,
                                         headers={"User-Agent": "zrmon",
                                                  "Accept": "application/json"})
        self.limiter = RateLimiter(settings.rate, clock=clock, sleep=sleep,
                                   slow_down_s=settings.slow_down_s, shared=shared)
        self.budget = DailyBudget(settings.daily_budget, path=budget_path, wall=wall)
        self.tokens = TokenSource(self._credentials, settings.oauth_url, self._token_request,
                                  clock=clock)
        self.stats = ApiStats()
        self._blocked: ZoomRateLimitError | None = None

    @classmethod
    def from_config(cls, config: Config, **kwargs: Any) -> ZoomApi:
        """The one way the monitor builds a client: ConfigError names a missing credential."""
        settings = ZoomSettings.from_config(config, **kwargs.pop("settings", {}))
        kwargs.setdefault("budget_path", config.state_dir / BUDGET_FILE)
        kwargs.setdefault("shared", shared_slots(config))
        return cls(settings, **kwargs)

    def __repr__(self) -> str:
        return f"<ZoomApi {self.settings.api_url} account {self.settings.account_id}>"

    def close(self) -> None:
        self.budget.flush()
        self._http.clear()

    def __enter__(self) -> ZoomApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ typed calls

    def rooms(self) -> list[Room]:
        """Every room of the account, all pages."""
        return [Room.from_api(item) for item in self._paged("/rooms", "rooms", {},
                                                            key=lambda i: i.get("id"))]

    def room(self, room_id: str) -> RoomProfile:
        return RoomProfile.from_api(room_id, self.get(f"/rooms/{_segment(room_id)}"))

    def locations(self, *, parent_location_id: str | None = None,
                  location_type: str | None = None) -> list[Location]:
        """Every location (country … floor) with its parent and type, all pages."""
        params = {"parent_location_id": parent_location_id, "type": location_type}
        return [Location.from_api(item)
                for item in self._paged("/rooms/locations", "locations", params,
                                        key=lambda i: i.get("id"))]

    def location(self, location_id: str) -> LocationProfile:
        """A location's profile; ``timezone`` is what a city's buildings inherit."""
        return LocationProfile.from_api(
            location_id, self.get(f"/rooms/locations/{_segment(location_id)}"))

    def location_structure(self) -> tuple[str, ...]:
        document = self.get("/rooms/locations/structure")
        return tuple(str(level) for level in document.get("structures") or ())

    def devices(self, room_id: str) -> list[Device]:
        document = self.get(f"/rooms/{_segment(room_id)}/devices")
        return [Device.from_api(item) for item in document.get("devices") or ()
                if isinstance(item, Mapping)]

    def iter_sensor_data(self, room_id: str, start: datetime | str, end: datetime | str, *,
                         device_id: str | None = None, sensor_type: str | None = None,
                         page_size: int | None = None) -> Iterator[SensorReading]:
        """A room's sensor history in ``[start, end]``, page by page as it arrives."""
        params = {"from": zoom_time(start), "to": zoom_time(end), "device_id": device_id,
                  "sensor_type": sensor_type}
        for item in self._paged(f"/rooms/{_segment(room_id)}/sensor_data", "sensor_data",
                                params, key=lambda i: (i.get("date_time"), i.get("device_id"),
                                                       i.get("sensor_type")),
                                page_size=page_size):
            yield SensorReading.from_api(room_id, item)

    def sensor_data(self, room_id: str, start: datetime | str, end: datetime | str,
                    **kwargs: Any) -> list[SensorReading]:
        return list(self.iter_sensor_data(room_id, start, end, **kwargs))

    def _paged(self, path: str, items_key: str, params: Mapping[str, str | None], *,
               key: Any, page_size: int | None = None) -> Iterator[Mapping[str, Any]]:
        base = {name: value for name, value in params.items() if value is not None}
        base["page_size"] = str(page_size or self.settings.page_size)

        def fetch(token: str) -> Mapping[str, Any]:
            return self.get(path, {**base, "next_page_token": token} if token else base)

        return paginate(fetch, items_key, key, what=f"GET {path}")

    # ------------------------------------------------------------------ one request

    def get(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """One API call with budget, limiter, token renewal and retries; the JSON answer."""
        url = self.settings.api_url.rstrip("/") + path
        what = f"GET {path}"
        failures = throttled = 0
        renewed = False
        while True:
            self._refuse_while_blocked()
            self.budget.take()
            bearer = self.tokens.bearer()
            try:
                with self.limiter.slot():
                    answer = self._send("GET", url, {"Authorization": bearer},
                                        fields=dict(params or {}))
            except urllib3.exceptions.HTTPError as exc:
                failures += 1
                self._retry_later(failures, what, f"network error: {exc}")
                continue
            self.stats.requests += 1
            if 200 <= answer.status < 300:
                return answer.document if isinstance(answer.document, dict) else {}
            if answer.status == 401 and not renewed:
                renewed = True
                self.stats.token_renewals += 1
                log.info("Zoom API: %s answered 401 (%s); renewing the access token", what,
                         _said(answer.document))
                self.tokens.invalidate(bearer)
                continue
            if answer.status == 401:
                raise ZoomAuthError(f"Zoom API {what}: a fresh access token was refused too: "
                                    f"HTTP 401: {_said(answer.document)}")
            if answer.status == 429:
                throttled += 1
                self._throttled(answer, throttled, what)
                continue
            if answer.status >= 500:
                failures += 1
                self._retry_later(failures, what, f"HTTP {answer.status}: "
                                                  f"{_said(answer.document)}")
                continue
            raise _request_error(what, answer)

    def _send(self, method: str, url: str, headers: dict[str, str], *,
              fields: dict[str, str] | None = None, body: bytes | None = None) -> _Answer:
        response = self._http.request(method, url, headers=headers, fields=fields, body=body,
                                      timeout=self._timeout, redirect=False)
        try:
            document = json.loads(response.data) if response.data else None
        except ValueError:
            document = None
        return _Answer(response.status, dict(response.headers.items()), document)

    def _token_request(self, method: str, url: str, headers: dict[str, str],
                       body: bytes) -> tuple[int, Any]:
        """The OAuth endpoint, retried on 5xx and network errors like the API (not budgeted:
        Zoom does not count token requests against the API limits)."""
        failures = 0
        while True:
            try:
                answer = self._send(method, url, headers, body=body)
            except urllib3.exceptions.HTTPError as exc:
                failures += 1
                self._retry_later(failures, "token request", f"network error: {exc}")
                continue
            if answer.status >= 500:
                failures += 1
                self._retry_later(failures, "token request", f"HTTP {answer.status}")
                continue
            return answer.status, answer.document

    def _retry_later(self, failures: int, what: str, failure: str) -> None:
        failure = self._credentials.redact(failure)
        if failures >= self.settings.max_attempts:
            raise ZoomUnavailableError(f"Zoom API {what} failed {failures} times, giving up; "
                                       f"last: {failure}")
        delay = self._backoff(failures)
        self.stats.retries += 1
        log.warning("Zoom API %s: %s; retry %d of %d in %.1f s", what, failure, failures,
                    self.settings.max_attempts - 1, delay)
        self._sleep(delay)

    def _backoff(self, attempt: int) -> float:
        """Exponential with equal jitter: half fixed, half random, so clients spread out."""
        ceiling = min(self.settings.backoff_max_s, self.settings.backoff_s * 2.0 ** (attempt - 1))
        with self._rng_lock:
            return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def _throttled(self, answer: _Answer, throttled: int, what: str) -> None:
        self.stats.throttled += 1
        wall = self._wall()
        throttle = Throttle.from_headers(answer.headers, wall)
        if throttle.daily or (throttle.wait_s is not None
                              and throttle.wait_s > self.settings.max_wait_s):
            self._block(throttle, wall, what)
        if throttled > self.settings.max_throttled:
            raise ZoomRateLimitError(f"Zoom API {what}: still 429 (rate limited) after "
                                     f"{throttled} waits, giving up")
        if throttle.wait_s is not None:
            wait = throttle.wait_s
            log.warning("Zoom API %s: 429, Retry-After %.1f s", what, wait)
        else:
            if not throttle.has_headers:
                self.limiter.slow_down()
            wait = max(1.0, self._backoff(throttled))
            log.warning("Zoom API %s: 429 (%s), waiting %.1f s", what,
                        throttle.kind or "no Retry-After", wait)
        self.limiter.pause_until(self._clock() + wait)

    def _block(self, throttle: Throttle, wall: float, what: str) -> None:
        """A wait too long to sleep through (Zoom's daily limit): fail this and every call
        until then, without asking Zoom again."""
        retry_at = wall + throttle.wait_s if throttle.wait_s is not None else None
        until = (f"; Zoom accepts requests again at "
                 f"{datetime.fromtimestamp(retry_at, UTC):%Y-%m-%dT%H:%M:%SZ}"
                 if retry_at is not None else "")
        kind = "daily rate limit" if throttle.daily else "rate limit"
        error = ZoomRateLimitError(f"Zoom API {what}: Zoom's {kind} is reached (429){until}",
                                   retry_at)
        if throttle.wait_s is not None:
            self.limiter.pause_until(self._clock() + throttle.wait_s)
            self._blocked = error
        raise error

    def _refuse_while_blocked(self) -> None:
        blocked = self._blocked
        if blocked is None:
            return
        if self.limiter.paused_for() > self.settings.max_wait_s:
            raise ZoomRateLimitError(str(blocked), blocked.retry_at)
        self._blocked = None


def _segment(value: str) -> str:
    return quote(value, safe="")


def zoom_time(value: datetime | str) -> str:
    """``yyyy-MM-ddTHH:mm:ssZ``, the only form ``sensor_data`` takes."""
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _said(document: Any) -> str:
    if isinstance(document, dict):
        message = str(document.get("message") or document.get("reason") or "")
        code = document.get("code") or document.get("error")
        return f"{message} (code {code})" if message and code is not None else message or "-"
    return "-"


def _request_error(what: str, answer: _Answer) -> ZoomError:
    code = answer.document.get("code") if isinstance(answer.document, dict) else None
    return ZoomRequestError(f"Zoom API {what}: HTTP {answer.status}: {_said(answer.document)}",
                            answer.status, code if isinstance(code, int) else None)
