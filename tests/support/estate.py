"""A realistic small estate for the status page: 8 rooms in two buildings, written to a real
influxd the way the monitor writes them (sensor points, incident fields from the ingest
mapping, rule transitions from the evaluator).

Everything is relative to ``now_ns`` so the page, which reads "now", shows it as current:
Denali is offline (open room_offline incident, readings stopped 47 min ago), Kilimanjaro has
a CO2 warning firing, Mont Blanc a CO2 info, Matterhorn a humidity rule pending, Eiger a low
battery incident; Everest had an incident and a CO2 alert that are both over.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.datamodel.measurements import ROOM_INCIDENT
from monitor.datamodel.points import Point, encode_lines
from monitor.datamodel.vocabulary import ALERT_TYPES, COMPONENTS
from monitor.ingest.incidents import Incident
from monitor.ingest.mapping import incident_fields
from monitor.rules.evaluate import transition_point
from monitor.rules.statemachine import Transition
from monitor.store.influx import InfluxClient

MIN_NS = 60 * 10**9


@dataclass(frozen=True)
class Room:
    room_id: str
    name: str
    building: str
    floor: str
    readings: dict[str, float]
    last_seen_min: int = 1        # minutes before now of the latest reading
    people: float = 0.0

    @property
    def tags(self) -> dict[str, str]:
        return {"room_id": self.room_id, "room_name": self.name, "building": self.building,
                "floor": self.floor}


AIR = ("CO2", "TEMPERATURE", "HUMIDITY", "VOC", "PM25", "PM10", "AQI")


def _air(*values: float) -> dict[str, float]:
    """CO2, temperature, humidity, VOC, PM2.5, PM10, AQI, in that order; pressure is 1013."""
    return {**dict(zip(AIR, values, strict=True)), "AIR_PRESSURE": 1013.0}


ROOMS: tuple[Room, ...] = (
    Room("rm-everest", "Everest", "Headquarters", "Floor 2", _air(640, 21.8, 44, 120, 4.2, 8.1, 22),
         people=5),
    Room("rm-kilimanjaro", "Kilimanjaro", "Headquarters", "Floor 2",
         _air(1150, 23.4, 48, 310, 6.0, 11.0, 38), people=9),
    Room("rm-denali", "Denali", "Headquarters", "Floor 1", _air(580, 21.1, 41, 90, 3.5, 6.2, 18),
         last_seen_min=47),
    Room("rm-aconcagua", "Aconcagua", "Headquarters", "Floor 1",
         _air(470, 20.6, 39, 60, 2.9, 5.0, 15)),
    Room("rm-matterhorn", "Matterhorn", "Annex", "Ground floor",
         _air(720, 22.9, 28, 150, 5.1, 9.4, 27), people=3),
    Room("rm-mont-blanc", "Mont Blanc", "Annex", "Ground floor",
         _air(890, 24.0, 51, 220, 7.4, 13.0, 33), people=6),
    Room("rm-fuji", "Fuji", "Annex", "Floor 1", _air(520, 22.1, 46, 80, 3.1, 5.5, 16),
         people=1),
    Room("rm-eiger", "Eiger", "Annex", "Floor 1", _air(610, 21.5, 43, 110, 4.0, 7.7, 20),
         people=2),
)
BY_ID = {room.room_id: room for room in ROOMS}


@dataclass(frozen=True)
class Seeded:
    now_ns: int
    rooms: tuple[Room, ...] = ROOMS
    firing: dict[str, tuple[str, str]] = field(default_factory=dict)   # room → (rule, level)


def seed_estate(influx: InfluxClient, now_ns: int) -> Seeded:
    points = [*_readings(now_ns), *_incidents(now_ns), *_transitions(now_ns)]
    influx.write(encode_lines(points))
    return Seeded(now_ns, firing={
        "rm-kilimanjaro": ("air-quality/co2-high", "warning"),
        "rm-mont-blanc": ("air-quality/co2-high", "info"),
        "rm-denali": ("room-health/room-offline", "critical"),
    })


def _readings(now_ns: int) -> list[Point]:
    """Six readings 5 min apart per sensor, drifting to the room's value at its last one."""
    points = []
    for room in ROOMS:
        last = now_ns - room.last_seen_min * MIN_NS
        for step in range(6):
            at = last - (5 - step) * 5 * MIN_NS
            drift = 0.97 + 0.006 * step              # the last one (step 5) is exactly the value
            for sensor, value in {**room.readings,
                                  "REAL_TIME_PEOPLE_COUNT": room.people}.items():
                v = value if step == 5 or sensor == "REAL_TIME_PEOPLE_COUNT" else value * drift
                points.append(Point("sensor", {**room.tags, "sensor_type": sensor,
                                               "device_id": f"{room.room_id}-sensor",
                                               "account_id": "acct-demo"},
                                    {"value": round(float(v), 2), "people": float(room.people)},
                                    at))
    return points


def incident_point(room: Room, alert_type: int, component: int, start_ns: int,
                   end_ns: int | None = None) -> Point:
    tags = {**{k: v for k, v in room.tags.items() if k != "room_name"},
            "account_id": "acct-demo", "alert_type": str(alert_type),
            "alert_name": ALERT_TYPES[alert_type], "component": str(component),
            "component_name": COMPONENTS[component]}
    incident = Incident((room.room_id, alert_type, component), start_ns, end_ns)
    return Point(ROOM_INCIDENT, tags, incident_fields(incident, room.name), start_ns)


def _incidents(now_ns: int) -> list[Point]:
    return [
        incident_point(BY_ID["rm-denali"], 3, 1, now_ns - 38 * MIN_NS),        # offline, open
        incident_point(BY_ID["rm-eiger"], 6, 3, now_ns - 95 * MIN_NS),         # low battery
        incident_point(BY_ID["rm-everest"], 3, 1, now_ns - 26 * 60 * MIN_NS,   # over
                       now_ns - 25 * 60 * MIN_NS),
    ]


_CO2, _OFFLINE = "air-quality/co2-high", "room-health/room-offline"
# rule, room, previous → current status, level, value, minutes ago
TRANSITIONS: tuple[tuple[str, str, str, str, str, float, int], ...] = (
    (_CO2, "rm-kilimanjaro", "inactive", "pending", "warning", 1040, 22),
    (_CO2, "rm-kilimanjaro", "pending", "firing", "warning", 1142, 12),
    (_CO2, "rm-mont-blanc", "inactive", "pending", "info", 845, 25),
    (_CO2, "rm-mont-blanc", "pending", "firing", "info", 868, 15),
    (_OFFLINE, "rm-denali", "inactive", "pending", "critical", 60, 37),
    (_OFFLINE, "rm-denali", "pending", "firing", "critical", 660, 27),
    ("air-quality/co2-sensor-silent", "rm-denali", "inactive", "firing", "warning", 1260, 25),
    ("air-quality/humidity-out-of-range", "rm-matterhorn", "inactive", "pending", "warning",
     28.6, 6),
    (_CO2, "rm-everest", "inactive", "firing", "warning", 1080, 300),
    (_CO2, "rm-everest", "firing", "inactive", "warning", 820, 240),
)


def _transitions(now_ns: int) -> list[Point]:
    points = []
    for rule, room_id, previous, current, level, value, ago_min in TRANSITIONS:
        change = Transition(rule, room_id, previous, current, level, value,
                            now_ns - ago_min * MIN_NS)
        points.append(transition_point(change, rule.split("/", 1)[0], BY_ID[room_id].tags))
    return points
