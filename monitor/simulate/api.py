"""The simulated rooms as a Zoom account: ``zrmon simulate --api-port`` serves them over
the fake Zoom REST API (:mod:`monitor.zoom.fake`), so ``zrmon zoom sync`` and
``zrmon zoom backfill`` work against the same rooms the webhooks describe.

- Rooms, devices and locations come from :func:`fleet_from_simulation`
  (same room ids, device ids and building/floor location ids as the webhooks), with the
  buildings placed in cities that have a time zone: HQ in San Jose
  (``America/Los_Angeles``), Annex in Berlin (``Europe/Berlin``).
- Sensor history is the webhooks' own readings: every ``zoomroom.sensor_data`` the
  simulation produces is recorded (the history before the webhooks start included), so a
  reading fetched by REST is the reading a webhook carried — same device, time and value
  — and lands on the same InfluxDB point.
- A room's status follows its events: ``Offline`` from an offline alert to its clear,
  ``InMeeting`` from check-in to check-out, else ``Available``.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from monitor.core.timeutil import NS_PER_S, to_ns
from monitor.datamodel.measurements import ALERT_EVENT, SENSOR_EVENT
from monitor.simulate.events import TRIGGERED, Event
from monitor.simulate.fleet import Fleet
from monitor.zoom.fake import FakeZoom
from monitor.zoom.fake_faults import FakeOptions
from monitor.zoom.fake_fleet import FakeDevice, FakeFleet, FakeLocation, FakeRoom, iso, zoom_id


def fleet_from_simulation(simulated: Fleet, *, city: str = "San Jose",
                          timezone: str = "America/Los_Angeles") -> FakeFleet:
    """The fake account of ``zrmon simulate``'s rooms: its buildings and floors (same
    location ids) under one country, state, city and campus; each room's ``room_id`` and
    sensor device id are the ones its webhooks carry."""
    seed, account = simulated.seed, simulated.account_id
    country = FakeLocation(zoom_id(seed, "country", "US"), "US", "country", account)
    state = FakeLocation(zoom_id(seed, "state", "California"), "California", "states",
                         country.id)
    city_loc = FakeLocation(zoom_id(seed, "city", city), city, "city", state.id, timezone)
    campus = FakeLocation(zoom_id(seed, "campus", city), f"{city} Campus", "campus",
                          city_loc.id)
    locations = [country, state, city_loc, campus]
    locations += [FakeLocation(loc.location_id, loc.name, loc.type, loc.parent_id or campus.id)
                  for loc in simulated.locations]
    rooms = [FakeRoom(id=zoom_id(seed, "room-api", room.index), room_id=room.room_id,
                      name=room.name, location_id=room.location_id,
                      status="Offline" if room.fault == "offline" else "Available",
                      devices=(FakeDevice(room.device_id, "Zoom Rooms Computer", "Online",
                                          "6.1.0 (5230)", "Win10 Build 19045"),))
             for room in simulated.rooms]
    return FakeFleet(account, locations, rooms)


# Building → (country, state, city, IANA zone); buildings not listed stay in San Jose.
CITIES = {"Annex": ("DE", "Berlin", "Berlin", "Europe/Berlin")}
_STATUS_EVENTS = {"zoomroom.checked_in": "InMeeting", "zoomroom.checked_out": "Available"}


def simulated_account(fleet: Fleet) -> FakeFleet:
    """The fake account of the simulator's rooms, buildings moved to their :data:`CITIES`."""
    account = fleet_from_simulation(fleet)
    seed, top = fleet.seed, account.locations[0].parent_location_id
    for building, (country, state, city, tz) in CITIES.items():
        found = [loc for loc in account.locations
                 if loc.type == "building" and loc.name == building]
        if not found:
            continue
        country_loc = FakeLocation(zoom_id(seed, "country", country), country, "country", top)
        state_loc = FakeLocation(zoom_id(seed, "state", state), state, "states", country_loc.id)
        city_loc = FakeLocation(zoom_id(seed, "city", city), city, "city", state_loc.id, tz)
        campus = FakeLocation(zoom_id(seed, "campus", city), f"{city} Campus", "campus",
                              city_loc.id)
        account.locations = [replace(loc, parent_location_id=campus.id) if loc in found
                             else loc for loc in account.locations]
        account.locations[4:4] = [country_loc, state_loc, city_loc, campus]
    return account


class History:
    """Every recorded reading per room: ``(time s, items)`` in time order, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: dict[str, list[int]] = {}
        self._items: dict[str, list[tuple[tuple[str, str], ...]]] = {}
        self._devices: dict[str, str] = {}

    def add(self, room_id: str, device_id: str, at_s: int,
            readings: Iterable[tuple[str, str]]) -> None:
        with self._lock:
            times = self._times.setdefault(room_id, [])
            items = self._items.setdefault(room_id, [])
            self._devices[room_id] = device_id
            index = bisect.bisect_right(times, at_s)
            times.insert(index, at_s)
            items.insert(index, tuple(readings))

    def readings(self, room: FakeRoom, from_s: int, to_s: int) -> list[dict[str, Any]]:
        """Zoom's ``sensor_data`` items of ``room`` with ``from_s <= time <= to_s``."""
        with self._lock:
            times = self._times.get(room.room_id, [])
            low, high = bisect.bisect_left(times, from_s), bisect.bisect_right(times, to_s)
            steps = list(zip(times[low:high], self._items[room.room_id][low:high],
                             strict=True)) if high > low else []
            device = self._devices.get(room.room_id, room.sensor_device_id)
        return [{"date_time": iso(at), "device_id": device, "sensor_type": kind,
                 "sensor_value": value} for at, items in steps for kind, value in items]

    def count(self) -> int:
        with self._lock:
            return sum(len(times) for times in self._times.values())


class SimulatedZoom:
    """The fake Zoom API for one simulated fleet, fed by :meth:`record`."""

    def __init__(self, fleet: Fleet, *, host: str = "127.0.0.1", port: int = 0,
                 options: FakeOptions | None = None) -> None:
        self.history = History()
        self.account = simulated_account(fleet)
        self.account.readings = self.history.readings
        self.fake = FakeZoom(self.account, options or FakeOptions(), host=host, port=port)
        self._offline: set[str] = set()

    def start(self) -> SimulatedZoom:
        self.fake.start()
        return self

    def stop(self) -> None:
        self.fake.stop()

    def env(self) -> dict[str, str]:
        """What ``zrmon serve`` / ``zrmon zoom …`` need to read this account."""
        return {"ZOOM_ACCOUNT_ID": self.account.account_id,
                "ZOOM_CLIENT_ID": self.fake.options.client_id,
                "ZOOM_CLIENT_SECRET": self.fake.options.client_secret,
                "ZRMON_ZOOM_API_URL": self.fake.api_url,
                "ZRMON_ZOOM_OAUTH_URL": self.fake.oauth_url}

    def record(self, events: Iterable[Event], since_s: float | None = None) -> None:
        """Readings (at or after ``since_s``) into the history; statuses from every event."""
        for event in events:
            name, obj = event["event"], event["payload"]["object"]
            if name == SENSOR_EVENT:
                self._reading(obj, since_s)
            elif name == ALERT_EVENT:
                offline = obj.get("alert_kind") == TRIGGERED
                (self._offline.add if offline else self._offline.discard)(obj["id"])
                self._status(obj["id"], "Offline" if offline else "Available")
            elif name in _STATUS_EVENTS and obj["id"] not in self._offline:
                self._status(obj["id"], _STATUS_EVENTS[name])

    def _reading(self, obj: dict[str, Any], since_s: float | None) -> None:
        readings = obj["sensor_data"]
        at_s = to_ns(readings[0]["date_time"]) // NS_PER_S
        if since_s is None or at_s >= since_s:
            self.history.add(obj["id"], obj["device_id"], at_s,
                             ((r["sensor_type"], r["sensor_value"]) for r in readings))

    def _status(self, webhook_room_id: str, status: str) -> None:
        with self.fake.lock:
            rooms = self.account.rooms
            for index, room in enumerate(rooms):
                if room.room_id == webhook_room_id and room.status != status:
                    rooms[index] = replace(room, status=status)
