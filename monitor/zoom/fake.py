"""A local fake of the Zoom Rooms REST API, written from ``rooms-rest-subset.openapi.json``.

A real HTTP server on a loopback port (threaded, keep-alive), for the tests
and for ``zrmon simulate``: the OAuth token endpoint
(``POST /oauth/token``, Server-to-Server OAuth with HTTP Basic auth) and
the ``/v2/rooms…`` endpoints, served from an in-memory fleet. It behaves
the way Zoom does where a client can go wrong:

- tokens expire (``token_lifetime_s``, which may differ from the advertised
  ``expires_in``); an expired or unknown token gets 401 code 124;
- ``next_page_token`` tokens expire (``page_token_ttl_s``); a stale one gets
  400 code 300 "The next page token is invalid or expired.";
- over ``qps_limit`` requests in a second: 429, with or without
  ``X-RateLimit-*`` and ``Retry-After`` headers; past ``daily_limit``: 429
  ``X-RateLimit-Type: Daily-limit`` with ``Retry-After`` at the next UTC
  midnight; a 500 with probability ``error_rate`` (seeded, repeatable);
- :meth:`FakeZoom.script` queues exact answers for the next requests.

Every request is recorded (:attr:`FakeZoom.requests`) so tests can assert
what the server actually saw, e.g. requests per second.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import random
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

SENSOR_TYPES = ("CO2", "TEMPERATURE", "HUMIDITY")
SCOPE = ("zoom_rooms:read:list_rooms:admin zoom_rooms:read:room:admin "
         "zoom_rooms:read:list_locations:admin zoom_rooms:read:location:admin "
         "zoom_rooms:read:list_devices:admin zoom_rooms:read:sensor_data:admin")
BAD_CREDENTIALS = {"reason": "Invalid client_id or client_secret", "error": "invalid_client"}
PAGE_TOKEN_EXPIRED = {"code": 300, "message": "The next page token is invalid or expired."}
QPS_MESSAGE = "You have reached the maximum per-second rate limit for this API. Try again later."
DAILY_MESSAGE = ("You have reached the maximum daily rate limit for this API. Refer to the "
                 "response header for details on when you can make the next request.")


# ---------------------------------------------------------------------- the fleet


def zoom_id(seed: int, *parts: object) -> str:
    """A 22-character URL-safe id like Zoom's, stable for the same seed and parts."""
    digest = hashlib.sha256(":".join(map(str, (seed, *parts))).encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


@dataclass(frozen=True)
class FakeLocation:
    id: str
    name: str
    type: str                       # country, states, city, campus, building, floor
    parent_location_id: str         # the account id for the top level
    timezone: str | None = None     # cities only, as Zoom returns it

    def list_item(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "type": self.type,
                "parent_location_id": self.parent_location_id}

    def profile(self) -> dict[str, Any]:
        basic: dict[str, Any] = {"name": self.name, "parent_location_id": self.parent_location_id,
                                 "address": "", "description": f"{self.type} {self.name}",
                                 "support_email": "it@example.com", "support_phone": "",
                                 "required_code_to_ext": False, "room_passcode": "975193018"}
        if self.type == "city" and self.timezone:
            basic["timezone"] = self.timezone
        return {"basic": basic, "setup": {"apply_background_image_to_all_displays": True}}


@dataclass(frozen=True)
class FakeDevice:
    id: str
    device_type: str                # "Zoom Rooms Computer", "Controller", ...
    status: str                     # Online, Offline
    app_version: str
    device_system: str

    def item(self, room_name: str) -> dict[str, Any]:
        return {"id": self.id, "room_name": room_name, "device_type": self.device_type,
                "status": self.status, "app_version": self.app_version,
                "device_system": self.device_system,
                "device_hostname": f"zr-{self.id[:6].lower()}", "device_manufacturer": "Poly",
                "device_model": "Studio X50", "device_firmware": "1.1.1",
                "ip_address": "10.10.10.10", "serial_number": self.id[:8].upper(),
                "device_mac_addresses": ["01-23-45-67-89-AB"]}


@dataclass(frozen=True)
class FakeRoom:
    id: str
    room_id: str
    name: str
    location_id: str
    status: str                     # Offline, Available, InMeeting, UnderConstruction
    devices: tuple[FakeDevice, ...] = ()

    def list_item(self) -> dict[str, Any]:
        return {"id": self.id, "room_id": self.room_id, "name": self.name,
                "location_id": self.location_id, "status": self.status,
                "activation_code": "1315-2376-2198-7926", "tag_ids": []}

    def profile(self) -> dict[str, Any]:
        return {"basic": {"name": self.name, "display_name": self.name,
                          "location_id": self.location_id, "zoom_room_type": "ZoomRoom",
                          "capacity": 8, "support_email": "it@example.com",
                          "room_passcode": "975193018",
                          "activation_code": "1315-2376-2198-7926",
                          "calendar_resource_id": f"cal-{self.id[:8]}"},
                "device": {"device_profile_id": ""},
                "setup": {"under_construction": self.status == "UnderConstruction"}}

    @property
    def sensor_device_id(self) -> str:
        for device in self.devices:
            if device.device_type == "Zoom Rooms Computer":
                return device.id
        return self.devices[0].id if self.devices else self.id


Readings = Callable[[FakeRoom, int, int], list[dict[str, Any]]]


@dataclass
class FakeFleet:
    """What the fake account holds; ``readings(room, from_s, to_s)`` gives sensor history."""

    account_id: str
    locations: list[FakeLocation]
    rooms: list[FakeRoom]
    readings: Readings | None = None
    sensor_step_s: int = 300

    def sensor_data(self, room: FakeRoom, from_s: int, to_s: int) -> list[dict[str, Any]]:
        if self.readings is not None:
            return self.readings(room, from_s, to_s)
        return steady_readings(room, from_s, to_s, self.sensor_step_s)

    def room(self, room_key: str) -> FakeRoom | None:
        for room in self.rooms:
            if room_key in (room.id, room.room_id):
                return room
        return None

    def location(self, location_id: str) -> FakeLocation | None:
        for location in self.locations:
            if location.id == location_id:
                return location
        return None


def iso(at_s: float) -> str:
    return datetime.fromtimestamp(at_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def steady_readings(room: FakeRoom, from_s: int, to_s: int, step_s: int) -> list[dict[str, Any]]:
    """A reading per sensor every ``step_s`` on the step grid, values fixed by room and time."""
    first = -(-from_s // step_s) * step_s
    out: list[dict[str, Any]] = []
    for at in range(first, to_s + 1, step_s):
        wobble = (int.from_bytes(room.id.encode()[:4], "big") + at // step_s) % 17
        values = {"CO2": f"{600 + wobble * 20}", "TEMPERATURE": f"{21 + wobble / 10:.1f}",
                  "HUMIDITY": f"{40 + wobble}"}
        out.extend({"date_time": iso(at), "device_id": room.sensor_device_id,
                    "sensor_type": kind, "sensor_value": values[kind]} for kind in SENSOR_TYPES)
    return out


ALL_SENSOR_TYPES = ("CO2", "TEMPERATURE", "HUMIDITY", "VOC", "AQI", "PM25", "PM10",
                    "AIR_PRESSURE", "REAL_TIME_PEOPLE_COUNT")


def all_sensor_readings(room: FakeRoom, from_s: int, to_s: int,
                        step_s: int = 300) -> list[dict[str, Any]]:
    """What a Zoom Rooms sensor reports: all nine types every ``step_s``, ``to`` included,
    in time order (as Zoom lists them); values fixed by time."""
    first = -(-from_s // step_s) * step_s
    return [{"date_time": iso(at), "device_id": room.sensor_device_id, "sensor_type": kind,
             "sensor_value": f"{(at // step_s) % 50 + 400}"}
            for at in range(first, to_s + 1, step_s) for kind in ALL_SENSOR_TYPES]


_CITIES = (("US", "California", "San Jose", "America/Los_Angeles", (("HQ", 3), ("Annex", 2))),
           ("DE", "Berlin", "Berlin", "Europe/Berlin", (("Spree", 2),)))


def demo_fleet(rooms: int = 12, seed: int = 1, *, account_id: str | None = None) -> FakeFleet:
    """Countries, states, cities (with time zones), a campus each, buildings and floors,
    and ``rooms`` rooms spread over the floors, each with a computer and a controller."""
    account = account_id or zoom_id(seed, "account")
    locations: list[FakeLocation] = []
    floors: list[FakeLocation] = []
    for country, state, city, tz, buildings in _CITIES:
        country_loc = FakeLocation(zoom_id(seed, "country", country), country, "country", account)
        state_loc = FakeLocation(zoom_id(seed, "state", state), state, "states", country_loc.id)
        city_loc = FakeLocation(zoom_id(seed, "city", city), city, "city", state_loc.id, tz)
        campus = FakeLocation(zoom_id(seed, "campus", city), f"{city} Campus", "campus",
                              city_loc.id)
        locations += [country_loc, state_loc, city_loc, campus]
        for building, count in buildings:
            building_loc = FakeLocation(zoom_id(seed, "building", building), building,
                                        "building", campus.id)
            locations.append(building_loc)
            for number in range(1, count + 1):
                floor = FakeLocation(zoom_id(seed, "floor", building, number), f"Floor {number}",
                                     "floor", building_loc.id)
                locations.append(floor)
                floors.append(floor)
    statuses = ("Available", "InMeeting", "Available", "Offline")
    made = []
    for index in range(rooms):
        computer = FakeDevice(zoom_id(seed, "device", index), "Zoom Rooms Computer",
                              "Offline" if statuses[index % 4] == "Offline" else "Online",
                              f"6.{index % 3}.0 (52{index % 10}0)", "Win10 Build 19045")
        controller = FakeDevice(zoom_id(seed, "controller", index), "Controller", "Online",
                                "6.1.0 (5230)", "iPadOS 17.2")
        made.append(FakeRoom(id=zoom_id(seed, "room-api", index),
                             room_id=zoom_id(seed, "room", index), name=f"Room {index + 1}",
                             location_id=floors[index % len(floors)].id,
                             status=statuses[index % 4], devices=(computer, controller)))
    return FakeFleet(account, locations, made)


# ---------------------------------------------------------------------- the server


# (status, extra headers, JSON body)
Answer = tuple[int, dict[str, str], dict[str, Any]]


@dataclass(frozen=True)
class Recorded:
    at: float                 # time.monotonic() when the request arrived
    wall: float               # time.time() then
    method: str
    path: str
    query: dict[str, str]
    token: str | None         # the bearer token it carried
    status: int


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


class FakeZoom:
    """The fake API on ``127.0.0.1:<free port>``; ``api_url`` and ``oauth_url`` for clients."""

    def __init__(self, fleet: FakeFleet | None = None, options: FakeOptions | None = None, *,
                 host: str = "127.0.0.1", port: int = 0,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self.fleet = fleet or demo_fleet()
        self.options = options or FakeOptions()
        self.lock = threading.RLock()
        self.requests: list[Recorded] = []
        self._clock = clock
        self._wall = wall
        self._skew = 0.0
        self._tokens: dict[str, float] = {}
        self._pages: dict[str, tuple[tuple[Any, ...], int, float]] = {}
        self._script: deque[Scripted] = deque()
        self._recent: deque[float] = deque()
        self._day = ""
        self._day_count = 0
        self._rng = random.Random(self.options.seed)
        self._server = _Server((host, port), _handler_for(self))
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> FakeZoom:
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="fake-zoom", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeZoom:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        return self.base_url + "/v2"

    @property
    def oauth_url(self) -> str:
        return self.base_url + "/oauth/token"

    # -- test controls

    def now(self) -> float:
        return self._clock() + self._skew

    def advance(self, seconds: float) -> None:
        """Move the fake's clock for tokens and page tokens (not the request log)."""
        with self.lock:
            self._skew += seconds

    def expire_tokens(self) -> None:
        with self.lock:
            self._tokens.clear()

    def expire_page_tokens(self) -> None:
        with self.lock:
            self._pages.clear()

    def script(self, *answers: Scripted) -> None:
        """Answer the next API requests (after the token check) with these, in order."""
        with self.lock:
            self._script.extend(answers)

    def api_requests(self) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.path.startswith("/v2/")]

    def token_requests(self) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.path == "/oauth/token"]

    def max_per_second(self) -> int:
        """The most API requests that arrived within any one-second window."""
        times = sorted(r.at for r in self.api_requests())
        best, first = 0, 0
        for last, at in enumerate(times):
            while times[first] <= at - 1.0:
                first += 1
            best = max(best, last - first + 1)
        return best

    # -- handling

    def handle(self, method: str, target: str, headers: dict[str, str],
               body: bytes) -> Answer:
        parts = urlsplit(target)
        path = unquote(parts.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        with self.lock:
            arrived = time.monotonic()
            token = _bearer(headers)
            if path == "/oauth/token":
                status, extra, answer = self._token(method, query, headers, body)
            elif path.startswith("/v2/"):
                status, extra, answer = self._api(method, path[3:], query, token, arrived)
            else:
                status, extra, answer = 404, {}, {"code": 404, "message": "Not found"}
            self.requests.append(Recorded(arrived, self._wall(), method, path, query, token,
                                          status))
        return status, extra, answer

    def _token(self, method: str, query: dict[str, str], headers: dict[str, str],
               body: bytes) -> Answer:
        if method != "POST":
            return 405, {}, {"reason": "Method not allowed", "error": "invalid_request"}
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        params = {**query, **form}
        options = self.options
        if _basic(headers) != (options.client_id, options.client_secret):
            return options.bad_credentials_status, {}, dict(BAD_CREDENTIALS)
        if params.get("grant_type") != "account_credentials":
            return 400, {}, {"reason": "Unsupported grant type",
                             "error": "unsupported_grant_type"}
        if params.get("account_id") != self.fleet.account_id:
            return 400, {}, {"reason": "Invalid account_id", "error": "invalid_request"}
        value = "fake." + secrets.token_urlsafe(24)
        self._tokens[value] = self.now() + options.token_lifetime_s
        expires_in = options.expires_in or int(options.token_lifetime_s)
        return 200, {}, {"access_token": value, "token_type": "bearer",
                         "expires_in": expires_in, "scope": SCOPE}

    def _api(self, method: str, path: str, query: dict[str, str], token: str | None,
             arrived: float) -> Answer:
        refused = self._refusal(token, arrived)
        if refused is not None:
            return refused
        if method != "GET":
            return 405, {}, {"code": 405, "message": "Method not allowed"}
        return self._route(path, query)

    def _refusal(self, token: str | None, arrived: float) -> Answer | None:
        """What stands before the data: the token, scripted answers, limits, chance."""
        expires = self._tokens.get(token or "")
        if expires is None:
            return 401, {}, {"code": 124, "message": "Invalid access token."}
        if self.now() >= expires:
            return 401, {}, {"code": 124, "message": "Access token is expired."}
        if self._script:
            scripted = self._script.popleft()
            return scripted.status, dict(scripted.headers), dict(scripted.body)
        limited = self._limits(arrived)
        if limited is None and self.options.error_rate \
                and self._rng.random() < self.options.error_rate:
            return 500, {}, {"code": 500, "message": "Internal Error"}
        return limited

    def _limits(self, arrived: float) -> Answer | None:
        options = self.options
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

    def _route(self, path: str, query: dict[str, str]) -> Answer:
        segments = [s for s in path.split("/") if s]
        if segments[:2] == ["rooms", "locations"]:
            return self._locations(segments[2:], query)
        fleet = self.fleet
        if segments == ["rooms"]:
            items = [r.list_item() for r in fleet.rooms
                     if query.get("status") in (None, "", r.status)
                     and query.get("location_id") in (None, "", r.location_id)]
            return self._page(("rooms", query.get("status"), query.get("location_id")),
                              "rooms", items, query)
        room = fleet.room(segments[1]) if len(segments) in (2, 3) else None
        if room is None:
            return 404, {}, {"code": 1012, "message": f"Room not found: {'/'.join(segments)}."}
        return self._room(room, segments[2] if len(segments) == 3 else "", query)

    def _room(self, room: FakeRoom, what: str, query: dict[str, str]) -> Answer:
        if not what:
            return 200, {}, room.profile()
        if what == "devices":
            return 200, {}, {"devices": [d.item(room.name) for d in room.devices]}
        if what == "sensor_data":
            return self._sensor_data(room, query)
        return 404, {}, {"code": 404, "message": "Not found"}

    def _locations(self, rest: list[str], query: dict[str, str]) -> Answer:
        if not rest:
            items = [loc.list_item() for loc in self.fleet.locations
                     if query.get("type") in (None, "", loc.type)
                     and query.get("parent_location_id") in (None, "", loc.parent_location_id)]
            return self._page(("locations", query.get("type"), query.get("parent_location_id")),
                              "locations", items, query)
        if rest == ["structure"]:
            return 200, {}, {"structures": ["country", "states", "city", "campus", "building",
                                            "floor"]}
        location = self.fleet.location(rest[0]) if len(rest) == 1 else None
        if location is None:
            return 404, {}, {"code": 4801, "message": f"Location not found: {'/'.join(rest)}."}
        return 200, {}, location.profile()

    def _sensor_data(self, room: FakeRoom, query: dict[str, str]) -> Answer:
        try:
            from_s = _parse_time(query["from"])
            to_s = _parse_time(query["to"])
        except (KeyError, ValueError):
            return 400, {}, {"code": 300, "message": "Invalid field: from and to are required "
                                                     "as yyyy-MM-ddTHH:mm:ssZ."}
        items = self.fleet.sensor_data(room, from_s, to_s)
        items = [i for i in items if query.get("sensor_type") in (None, "", i["sensor_type"])
                 and query.get("device_id") in (None, "", i["device_id"])]
        status, headers, page = self._page(
            ("sensor_data", room.id, from_s, to_s, query.get("sensor_type"),
             query.get("device_id")), "sensor_data", items, query)
        if status == 200:
            page.update({"from": query["from"], "to": query["to"], "total_records": len(items)})
        return status, headers, page

    def _page(self, key: tuple[Any, ...], items_key: str, items: list[dict[str, Any]],
              query: dict[str, str]) -> Answer:
        try:
            size = max(1, min(300, int(query.get("page_size") or 30)))
        except ValueError:
            return 400, {}, {"code": 300, "message": "Invalid field: page_size."}
        offset = 0
        token = query.get("next_page_token") or ""
        if token:
            stored = self._pages.get(token)
            if (stored is None or stored[0] != key
                    or self.now() - stored[2] > self.options.page_token_ttl_s):
                return 400, {}, dict(PAGE_TOKEN_EXPIRED)
            offset = stored[1]
        chunk = items[offset:offset + size]
        next_token = ""
        if offset + size < len(items):
            next_token = secrets.token_urlsafe(26)
            self._pages[next_token] = (key, offset + size, self.now())
        return 200, {}, {"page_size": size, "next_page_token": next_token, items_key: chunk}


def _parse_time(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


def _bearer(headers: dict[str, str]) -> str | None:
    value = headers.get("authorization", "")
    return value[7:] if value.lower().startswith("bearer ") else None


def _basic(headers: dict[str, str]) -> tuple[str, str] | None:
    value = headers.get("authorization", "")
    if not value.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(value[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


class _Server(ThreadingHTTPServer):
    """Keeps its open connections so that stopping also ends kept-alive ones: a stopped fake
    must look like a Zoom that is gone, not one still answering old connections."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._open: set[Any] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            open_now = list(self._open)
        for connection in open_now:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


def _handler_for(fake: FakeZoom) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, answer = fake.handle(self.command, self.path, headers, body)
            if status == 0:
                self.close_connection = True
                return
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve  # noqa: N815 (http.server's naming)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the request log is :attr:`FakeZoom.requests`."""

    return Handler
