"""Typed, frozen views of Zoom's answers: only the fields the monitor uses.

``room_passcode`` and ``activation_code`` are dropped here, at the edge, so
no later code can store them by accident.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from monitor.core.timeutil import iso_to_ns


def _text(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    return "" if value is None else str(value)


def _optional(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return None if value in (None, "") else str(value)


@dataclass(frozen=True)
class Room:
    """An item of ``GET /rooms``. Webhooks may carry either ``id`` or ``room_id``."""

    id: str
    room_id: str
    name: str
    location_id: str
    status: str
    tag_ids: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Room:
        return cls(id=_text(raw, "id"), room_id=_text(raw, "room_id"), name=_text(raw, "name"),
                   location_id=_text(raw, "location_id"), status=_text(raw, "status"),
                   tag_ids=tuple(str(tag) for tag in raw.get("tag_ids") or ()))


@dataclass(frozen=True)
class RoomProfile:
    """``GET /rooms/{roomId}``: the ``basic`` profile without its secrets."""

    id: str
    name: str
    display_name: str
    location_id: str
    zoom_room_type: str
    capacity: int | None
    support_email: str
    calendar_resource_id: str
    under_construction: bool

    @classmethod
    def from_api(cls, room_id: str, raw: Mapping[str, Any]) -> RoomProfile:
        basic = raw.get("basic") or {}
        setup = raw.get("setup") or {}
        capacity = basic.get("capacity")
        return cls(id=room_id, name=_text(basic, "name"),
                   display_name=_text(basic, "display_name"),
                   location_id=_text(basic, "location_id"),
                   zoom_room_type=_text(basic, "zoom_room_type"),
                   capacity=int(capacity) if isinstance(capacity, int | float) else None,
                   support_email=_text(basic, "support_email"),
                   calendar_resource_id=_text(basic, "calendar_resource_id"),
                   under_construction=bool(setup.get("under_construction", False)))


@dataclass(frozen=True)
class Location:
    """An item of ``GET /rooms/locations``; the top level's parent is the account id."""

    id: str
    name: str
    type: str
    parent_location_id: str

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Location:
        return cls(id=_text(raw, "id"), name=_text(raw, "name"), type=_text(raw, "type"),
                   parent_location_id=_text(raw, "parent_location_id"))


@dataclass(frozen=True)
class LocationProfile:
    """``GET /rooms/locations/{id}``; ``timezone`` is set for ``city`` locations only."""

    id: str
    name: str
    parent_location_id: str
    timezone: str | None
    address: str
    description: str
    support_email: str

    @classmethod
    def from_api(cls, location_id: str, raw: Mapping[str, Any]) -> LocationProfile:
        basic = raw.get("basic") or {}
        return cls(id=location_id, name=_text(basic, "name"),
                   parent_location_id=_text(basic, "parent_location_id"),
                   timezone=_optional(basic, "timezone"), address=_text(basic, "address"),
                   description=_text(basic, "description"),
                   support_email=_text(basic, "support_email"))


@dataclass(frozen=True)
class Device:
    """An item of ``GET /rooms/{roomId}/devices``."""

    id: str
    room_name: str
    device_type: str
    status: str
    app_version: str
    device_system: str
    hostname: str
    manufacturer: str
    model: str
    firmware: str
    ip_address: str
    serial_number: str
    mac_addresses: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Device:
        return cls(id=_text(raw, "id"), room_name=_text(raw, "room_name"),
                   device_type=_text(raw, "device_type"), status=_text(raw, "status"),
                   app_version=_text(raw, "app_version"),
                   device_system=_text(raw, "device_system"),
                   hostname=_text(raw, "device_hostname"),
                   manufacturer=_text(raw, "device_manufacturer"),
                   model=_text(raw, "device_model"), firmware=_text(raw, "device_firmware"),
                   ip_address=_text(raw, "ip_address"),
                   serial_number=_text(raw, "serial_number"),
                   mac_addresses=tuple(str(m) for m in raw.get("device_mac_addresses") or ()))


@dataclass(frozen=True)
class SensorReading:
    """An item of ``GET /rooms/{roomId}/sensor_data``; the value is a string, as in webhooks."""

    room_id: str
    date_time: str
    device_id: str
    sensor_type: str
    sensor_value: str

    @classmethod
    def from_api(cls, room_id: str, raw: Mapping[str, Any]) -> SensorReading:
        return cls(room_id=room_id, date_time=_text(raw, "date_time"),
                   device_id=_text(raw, "device_id"), sensor_type=_text(raw, "sensor_type"),
                   sensor_value=_text(raw, "sensor_value"))

    @property
    def at_ns(self) -> int:
        return iso_to_ns(self.date_time)

    @property
    def key(self) -> tuple[str, str, str]:
        """One reading per device, sensor and time: what a restarted listing must not repeat."""
        return (self.date_time, self.device_id, self.sensor_type)
