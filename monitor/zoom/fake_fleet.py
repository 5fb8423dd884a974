"""What the fake Zoom account holds: its locations, rooms, devices and sensor history.

The estate model of :mod:`monitor.zoom.fake`, kept apart from the HTTP server because
the simulator builds its own fake accounts from it (:mod:`monitor.simulate.api`) and
takes Zoom-like ids from :func:`zoom_id`. :func:`demo_fleet` is the account the tests
and the demo use; :func:`steady_readings` and :func:`all_sensor_readings` are the two
sensor histories the fake can serve.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SENSOR_TYPES = ("CO2", "TEMPERATURE", "HUMIDITY")


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

