"""The simulated rooms: names, ids, where they are, their size and ventilation.

Everything is derived from the seed and the room's index, so the same
``--seed`` gives the same room ids on every run: a second run of the demo
writes to the same InfluxDB series instead of adding 20 new rooms.

Three rooms have a scripted fault (``FAULTS``) so the demo shows firing rules
within a minute instead of waiting for chance: see ``docs/simulator.md``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from monitor.zoom.fake_fleet import zoom_id

_NAMES = (
    "Everest", "Matterhorn", "Kilimanjaro", "Fuji", "Denali", "Aconcagua", "Elbrus",
    "Mont Blanc", "Olympus", "Rainier", "Eiger", "Etna", "Vesuvius", "Teide", "Zugspitze",
    "Triglav", "Ararat", "Logan", "Whitney", "Cook", "Kosciuszko", "Vinson", "Annapurna",
    "Lhotse", "Makalu", "Cho Oyu", "Nanga Parbat", "Shasta", "Hood", "Robson",
)

# Where the rooms are: (building, number of floors). Rooms are spread over them in turn.
BUILDINGS = (("HQ", 3), ("Annex", 2))

# index -> scripted fault, anchored at the end of the backfill (the start of live mode).
OFFLINE = "offline"          # offline since 25 min before, back 4 simulated hours after
STUFFY = "stuffy"            # broken ventilation and a 10-person hackathon
CO2_SENSOR_DEAD = "co2-sensor-dead"   # no CO2 readings since 45 min before
FAULTS = {1: OFFLINE, 2: STUFFY, 3: CO2_SENSOR_DEAD}


@dataclass(frozen=True)
class Location:
    location_id: str
    name: str
    type: str              # "building" or "floor"
    parent_id: str


@dataclass(frozen=True)
class Room:
    index: int
    room_id: str
    name: str
    device_id: str
    workspace_id: str
    email: str
    building: str
    floor: str
    location_id: str       # the floor's location id
    volume_m3: float
    capacity: int
    ach: float             # air changes per hour with outdoor air (ventilation rate)
    base_temp_c: float
    fault: str | None = None


@dataclass(frozen=True)
class Fleet:
    seed: int
    account_id: str
    rooms: tuple[Room, ...]
    locations: tuple[Location, ...]


def room_name(index: int) -> str:
    if index < len(_NAMES):
        return _NAMES[index]
    return f"Room {index + 1}"


def _locations(seed: int) -> tuple[Location, ...]:
    found: list[Location] = []
    for building, floors in BUILDINGS:
        building_id = zoom_id(seed, "building", building)
        found.append(Location(building_id, building, "building", ""))
        found.extend(Location(zoom_id(seed, "floor", building, floor), f"Floor {floor}",
                              "floor", building_id) for floor in range(1, floors + 1))
    return tuple(found)


def _place(index: int) -> tuple[str, int]:
    building, floors = BUILDINGS[index % len(BUILDINGS)]
    return building, (index // len(BUILDINGS)) % floors + 1


def make_room(seed: int, index: int, *, faults: bool = True) -> Room:
    """One room; sizes from huddle rooms (4 people) to boardrooms (16)."""
    rng = random.Random(f"{seed}:room:{index}")
    capacity = rng.choice((4, 4, 6, 6, 8, 10, 12, 16))
    fault = FAULTS.get(index) if faults else None
    if fault == STUFFY:
        capacity = 14
    building, floor = _place(index)
    name = room_name(index)
    slug = name.lower().replace(" ", "-")
    return Room(
        index=index,
        room_id=zoom_id(seed, "room", index),
        name=name,
        device_id=zoom_id(seed, "device", index),
        workspace_id=zoom_id(seed, "workspace", index),
        email=f"{slug}@rooms.example.com",
        building=building,
        floor=f"Floor {floor}",
        location_id=zoom_id(seed, "floor", building, floor),
        volume_m3=round(capacity * rng.uniform(7.0, 10.0), 1),
        capacity=capacity,
        ach=round(rng.uniform(2.5, 6.0), 2),
        base_temp_c=round(rng.uniform(21.0, 23.0), 2),
        fault=fault,
    )


def make_fleet(rooms: int, seed: int = 1, *, faults: bool = True) -> Fleet:
    return Fleet(seed=seed, account_id=zoom_id(seed, "account"),
                 rooms=tuple(make_room(seed, i, faults=faults) for i in range(rooms)),
                 locations=_locations(seed))
