"""What the rule-evaluation benchmark seeds: rooms, their faults, readings and incidents.

Every database of bench/rules.py gets N rooms x 9 sensors of readings in
``sensor`` and a few ``room_incident`` points (open and closed), as
docs/data-model.md describes them. Values are deterministic for a given
``random.Random``: most rooms are fine, and a few percent breach each rule of
rules/air-quality.yaml (:data:`FAULTS`), so the state machine and the
templates get real work. Series keys and incident points are encoded by
:mod:`monitor.datamodel.points`, as the writer encodes them.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.core.timeutil import NS_PER_MS, NS_PER_S
from monitor.datamodel.measurements import ROOM_INCIDENT, SENSOR
from monitor.datamodel.points import Point, encode_point, series_key
from monitor.datamodel.vocabulary import ALERT_TYPES, COMPONENTS, PEOPLE, SENSOR_TYPES
from monitor.store.influx import InfluxClient

BUILDINGS = 10
FLOORS_PER_BUILDING = 8
# Alert type -> component of the incidents seeded (names from monitor.datamodel.vocabulary).
INCIDENT_COMPONENTS = {1: 2, 3: 1, 4: 1, 6: 2, 7: 1}
NOISE = {"CO2": 25.0, "TEMPERATURE": 0.3, "HUMIDITY": 1.5, "VOC": 20.0, "AQI": 4.0,
         "PM25": 1.0, "PM10": 2.0, "AIR_PRESSURE": 0.5, PEOPLE: 0.0}
CO2_RAMP_S = 30 * 60               # a rising room's CO2 climbs over the last 30 minutes


@dataclass
class Room:
    """One room's series keys and what is wrong with it, if anything."""

    room_id: str
    room_name: str
    building: str
    floor: str
    series: dict[str, str]         # sensor type -> escaped series key with sorted tags
    base: dict[str, float]
    co2_ramp: float = 0.0          # ppm added linearly over the last CO2_RAMP_S
    co2_silent_s: int = 0          # no CO2 reading during the last n seconds
    faults: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Fault:
    """A breach of one rule: with probability ``chance``, the room's values become these."""

    name: str
    chance: float
    base: Mapping[str, tuple[float, float]] = field(default_factory=dict)  # sensor -> range
    co2_ramp: tuple[float, float] | None = None    # range of ppm for Room.co2_ramp
    co2_silent_s: int = 0

    def apply(self, room: Room, rng: random.Random) -> None:
        for sensor, (low, high) in self.base.items():
            room.base[sensor] = rng.uniform(low, high)
        if self.co2_ramp is not None:
            room.co2_ramp = rng.uniform(*self.co2_ramp)
        if self.co2_silent_s:
            room.co2_silent_s = self.co2_silent_s
        room.faults.append(self.name)


# Each row is tried in turn on every room; within a row, the first fault whose roll hits
# applies and the others are not rolled (a room is not both warm and cold).
FAULTS: tuple[tuple[Fault, ...], ...] = (
    (Fault("stuffy", 0.12, {"CO2": (850, 1700)}),),
    (Fault("co2_rising", 0.05, co2_ramp=(350, 800)),),
    (Fault("warm", 0.04, {"TEMPERATURE": (28, 30)}),
     Fault("cold", 0.03, {"TEMPERATURE": (16.5, 19)})),
    (Fault("dry", 0.04, {"HUMIDITY": (20, 28)}),
     Fault("humid", 0.03, {"HUMIDITY": (62, 72)})),
    (Fault("voc", 0.05, {"VOC": (550, 900), "AQI": (80, 150)}),),
    (Fault("pm25", 0.06, {"PM25": (17, 35)}),),
    (Fault("pm10", 0.04, {"PM10": (50, 80)}),),
    (Fault("co2_silent", 0.01, co2_silent_s=40 * 60),),
)


def make_rooms(n: int, rng: random.Random) -> list[Room]:
    rooms = []
    for i in range(n):
        building = f"Building {chr(ord('A') + i % BUILDINGS)}"
        floor = f"Floor {(i // BUILDINGS) % FLOORS_PER_BUILDING + 1}"
        room_id = f"rm{i:06d}"
        room_name = f"Room {i:05d}"
        tags = {"building": building, "floor": floor, "room_id": room_id,
                "room_name": room_name}
        series = {sensor: series_key(SENSOR, {**tags, "sensor_type": sensor})
                  for sensor in SENSOR_TYPES}
        base = {
            "CO2": rng.uniform(450, 750), "TEMPERATURE": rng.uniform(21, 24),
            "HUMIDITY": rng.uniform(36, 54), "VOC": rng.uniform(80, 350),
            "AQI": rng.uniform(10, 50), "PM25": rng.uniform(3, 11),
            "PM10": rng.uniform(8, 30), "AIR_PRESSURE": rng.uniform(1000, 1025),
            PEOPLE: float(rng.randint(0, 8)),
        }
        room = Room(room_id, room_name, building, floor, series, base)
        for alternatives in FAULTS:
            fault = next((fault for fault in alternatives if rng.random() < fault.chance),
                         None)
            if fault is not None:
                fault.apply(room, rng)
        rooms.append(room)
    return rooms


def sensor_lines(rooms: list[Room], end_ns: int, hours: float, step_s: int,
                 rng: random.Random) -> Iterator[str]:
    """Readings in time order (as the fleet sends them), every room at every step."""
    steps = int(hours * 3600 // step_s)
    for k in range(steps - 1, -1, -1):
        age_s = k * step_s
        t = end_ns - age_s * NS_PER_S
        for room in rooms:
            for sensor in SENSOR_TYPES:
                if sensor == "CO2" and age_s < room.co2_silent_s:
                    continue
                value = room.base[sensor] + rng.gauss(0.0, NOISE[sensor])
                if sensor == "CO2" and room.co2_ramp and age_s < CO2_RAMP_S:
                    value += room.co2_ramp * (CO2_RAMP_S - age_s) / CO2_RAMP_S
                if sensor == PEOPLE:
                    text = f"{max(0, int(value) + rng.randint(-2, 2))}"
                else:
                    text = f"{max(0.0, value):.2f}"
                yield f"{room.series[sensor]} value={text} {t}"


def open_incidents(n: int) -> int:
    """About 1 % of ``n`` rooms have an open incident (and as many a closed one), at least 5."""
    return max(5, n // 100)


def incident_lines(rooms: list[Room], end_ns: int, rng: random.Random) -> list[str]:
    count = open_incidents(len(rooms))
    picked = rng.sample(rooms, min(len(rooms), 2 * count))
    lines = []
    types = sorted(INCIDENT_COMPONENTS)
    for j, room in enumerate(picked):
        alert_type = types[j % len(types)]
        component = INCIDENT_COMPONENTS[alert_type]
        start_ns = end_ns - rng.randint(2 * 60, 3 * 3600) * NS_PER_S
        start_ms = start_ns // NS_PER_MS
        tags = {"alert_name": ALERT_TYPES[alert_type], "alert_type": str(alert_type),
                "building": room.building, "component": str(component),
                "component_name": COMPONENTS[component], "floor": room.floor,
                "room_id": room.room_id}
        fields: dict[str, bool | int | float | str]
        if j < count:
            fields = {"open": True, "room_name": room.room_name, "start_ms": start_ms}
        else:
            end_ms = min(end_ns // NS_PER_MS, start_ms + rng.randint(60, 3600) * 1000)
            fields = {"duration_s": (end_ms - start_ms) / 1000, "end_ms": end_ms,
                      "open": False, "room_name": room.room_name, "start_ms": start_ms}
        lines.append(encode_point(Point(ROOM_INCIDENT, tags, fields, start_ns)))
    return lines


def write_batches(influx: InfluxClient, lines: Iterator[str], batch: int) -> tuple[int, float]:
    """Write in batches of ``batch`` lines; returns (lines, seconds spent in /write)."""
    total = 0
    write_s = 0.0
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= batch:
            write_s += _post(influx, chunk)
            total += len(chunk)
            chunk = []
    if chunk:
        write_s += _post(influx, chunk)
        total += len(chunk)
    return total, write_s


def _post(influx: InfluxClient, chunk: list[str]) -> float:
    body = "\n".join(chunk).encode()
    started = time.perf_counter()
    influx.write(body)
    return time.perf_counter() - started


def seed(influx: InfluxClient, n: int, end_ns: int, args: argparse.Namespace) -> dict[str, Any]:
    """Create the database and seed ``n`` rooms; returns the ``seeding`` entry of the JSON."""
    rng = random.Random(args.seed * 1_000_003 + n)
    influx.create_database()
    started = time.perf_counter()
    rooms = make_rooms(n, rng)
    points, write_s = write_batches(
        influx, sensor_lines(rooms, end_ns, args.hours, args.step, rng), args.batch)
    incidents = incident_lines(rooms, end_ns, rng)
    influx.write("\n".join(incidents).encode())
    elapsed = time.perf_counter() - started
    faults = Counter(fault for room in rooms for fault in room.faults)
    return {
        "rooms": n, "sensor_points": points, "series": n * len(SENSOR_TYPES),
        "incident_points": len(incidents), "open_incidents": open_incidents(n),
        "batch_lines": args.batch,
        "seconds": round(elapsed, 2), "write_seconds": round(write_s, 2),
        "points_per_s": round(points / elapsed) if elapsed else None,
        "faulty_rooms": dict(sorted(faults.items())),
    }
