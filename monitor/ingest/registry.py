"""Rooms and locations as Zoom last described them, so readings can be tagged.

Zoom's sensor events name the room but not where it is; the location tree
(country → state → city → campus → building → floor) arrives separately in
``zoomroom.location_*`` events, and a room's place in it only from the REST API
(``zrmon zoom sync``, whose snapshot reaches the writer through the spool like
any event) or in the rare room event that carries a ``location_id``. Updates
can arrive out of order, so each entry keeps the time it came from and an older
update (webhook or snapshot) never replaces a newer one.

A room has two ids in Zoom's REST API: ``id`` and ``room_id``. Which one a webhook
carries is not documented, so both are kept and :meth:`Registry.canonical` maps
either to ``id``, the one every point is tagged with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LOCATION_LEVELS = ("country", "state", "city", "campus", "building", "floor")


# The REST API spells one level in the plural; webhooks and our tags use the singular.
_LEVEL_ALIASES = {"states": "state", "countries": "country", "cities": "city",
                  "campuses": "campus", "buildings": "building", "floors": "floor"}


@dataclass
class Room:
    name: str = ""
    location_id: str = ""
    deleted: bool = False
    updated_ns: int = 0
    zoom_room_id: str = ""      # the REST API's ``room_id`` beside its ``id``
    status: str = ""            # as GET /rooms last reported it
    status_ns: int = 0          # since when (first snapshot that saw it)


@dataclass
class Location:
    name: str = ""
    type: str = ""
    parent_id: str = ""
    deleted: bool = False
    updated_ns: int = 0
    timezone: str = ""          # IANA name; Zoom gives it for cities


class Registry:
    def __init__(self) -> None:
        self.rooms: dict[str, Room] = {}
        self.locations: dict[str, Location] = {}
        self.aliases: dict[str, str] = {}   # zoom_room_id → id

    def canonical(self, room_id: str) -> str:
        """The id a room's points are tagged with, whichever of its two ids we were given."""
        if room_id in self.rooms:
            return room_id
        return self.aliases.get(room_id, room_id)

    def update_room(self, room_id: str, time_ns: int, *, name: str | None = None,
                    location_id: str | None = None, deleted: bool = False,
                    zoom_room_id: str | None = None, status: str | None = None) -> bool:
        """Apply a room event or snapshot entry; False when older than what we know."""
        room = self.rooms.setdefault(self.canonical(room_id), Room())
        if time_ns < room.updated_ns:
            return False
        room.updated_ns = time_ns
        room.deleted = deleted
        if name:
            room.name = name
        if location_id:
            room.location_id = location_id
        if zoom_room_id and zoom_room_id != room_id:
            room.zoom_room_id = zoom_room_id
            self.aliases[zoom_room_id] = self.canonical(room_id)
            self.rooms.pop(zoom_room_id, None)   # known so far only by its other id
        if status and status != room.status:
            room.status, room.status_ns = status, time_ns
        return True

    def update_location(self, location_id: str, time_ns: int, *, name: str | None = None,
                        type_: str | None = None, parent_id: str | None = None,
                        deleted: bool = False, timezone: str | None = None) -> bool:
        location = self.locations.setdefault(location_id, Location())
        if time_ns < location.updated_ns:
            return False
        location.updated_ns = time_ns
        location.deleted = deleted
        if name:
            location.name = name
        if type_:
            kind = type_.strip().lower()
            location.type = _LEVEL_ALIASES.get(kind, kind)
        if parent_id is not None:
            location.parent_id = parent_id
        if timezone:
            location.timezone = timezone
        return True

    def timezone_of(self, location_id: str) -> str:
        """The time zone of the nearest location above (or at) this one that has one.

        A building inherits its city's (Zoom returns ``basic.timezone`` for cities).
        """
        seen: set[str] = set()
        current = location_id
        while current and current not in seen:
            seen.add(current)
            location = self.locations.get(current)
            if location is None:
                break
            if location.timezone:
                return location.timezone
            current = location.parent_id
        return ""

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
        room = self.rooms.get(self.canonical(room_id))
        if room is None or room.deleted or not room.location_id:
            return {}
        return self.location_tags(room.location_id)

    def room_name(self, room_id: str) -> str:
        room = self.rooms.get(self.canonical(room_id))
        return room.name if room is not None else ""

    def to_json(self) -> dict[str, Any]:
        return {
            # Every field is a str, int or bool: a shallow copy of each entry is all
            # ``asdict`` would give, at a fraction of its cost (the writer copies the
            # registry for every batch that may change it).
            "rooms": {key: dict(vars(value)) for key, value in self.rooms.items()},
            "locations": {key: dict(vars(value)) for key, value in self.locations.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Registry:
        registry = cls()
        registry.rooms = {k: Room(**v) for k, v in data.get("rooms", {}).items()}
        registry.locations = {k: Location(**v) for k, v in data.get("locations", {}).items()}
        registry.aliases = {room.zoom_room_id: key for key, room in registry.rooms.items()
                            if room.zoom_room_id}
        return registry
