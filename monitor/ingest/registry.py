"""Rooms and locations as Zoom last described them, so readings can be tagged.

Zoom's sensor events name the room but not where it is; the location tree
(country → state → city → campus → building → floor) arrives separately in
``zoomroom.location_*`` events, and a room's place in it in
``zoomroom.created``/``updated``. Updates can arrive out of order, so each
entry keeps the event time it came from and an older update never replaces
a newer one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

LOCATION_LEVELS = ("country", "state", "city", "campus", "building", "floor")


@dataclass
class Room:
    name: str = ""
    location_id: str = ""
    deleted: bool = False
    updated_ns: int = 0


@dataclass
class Location:
    name: str = ""
    type: str = ""
    parent_id: str = ""
    deleted: bool = False
    updated_ns: int = 0


class Registry:
    def __init__(self) -> None:
        self.rooms: dict[str, Room] = {}
        self.locations: dict[str, Location] = {}

    def update_room(self, room_id: str, time_ns: int, *, name: str | None = None,
                    location_id: str | None = None, deleted: bool = False) -> bool:
        """Apply a room event; False when it is older than what we already know."""
        room = self.rooms.setdefault(room_id, Room())
        if time_ns < room.updated_ns:
            return False
        room.updated_ns = time_ns
        room.deleted = deleted
        if name:
            room.name = name
        if location_id:
            room.location_id = location_id
        return True

    def update_location(self, location_id: str, time_ns: int, *, name: str | None = None,
                        type_: str | None = None, parent_id: str | None = None,
                        deleted: bool = False) -> bool:
        location = self.locations.setdefault(location_id, Location())
        if time_ns < location.updated_ns:
            return False
        location.updated_ns = time_ns
        location.deleted = deleted
        if name:
            location.name = name
        if type_:
            location.type = type_.strip().lower()
        if parent_id is not None:
            location.parent_id = parent_id
        return True

    def location_tags(self, location_id: str) -> dict[str, str]:
        """Names of the building and floor (and the rest of the path) above a location."""
        tags: dict[str, str] = {}
        seen: set[str] = set()
        current = location_id
        while current and current not in seen:
            seen.add(current)
            location = self.locations.get(current)
            if location is None or location.deleted:
                break
            if location.type in LOCATION_LEVELS and location.type not in tags:
                tags[location.type] = location.name or current
            current = location.parent_id
        return {key: tags[key] for key in ("building", "floor") if key in tags}

    def room_tags(self, room_id: str) -> dict[str, str]:
        room = self.rooms.get(room_id)
        if room is None or room.deleted or not room.location_id:
            return {}
        return self.location_tags(room.location_id)

    def room_name(self, room_id: str) -> str:
        room = self.rooms.get(room_id)
        return room.name if room is not None else ""

    def to_json(self) -> dict[str, Any]:
        return {
            "rooms": {key: asdict(value) for key, value in self.rooms.items()},
            "locations": {key: asdict(value) for key, value in self.locations.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Registry:
        registry = cls()
        registry.rooms = {k: Room(**v) for k, v in data.get("rooms", {}).items()}
        registry.locations = {k: Location(**v) for k, v in data.get("locations", {}).items()}
        return registry
