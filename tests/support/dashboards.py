"""A small, known fleet for the dashboard queries: three rooms, six hours.

Rooms, locations, readings, alerts and Zoom events go through the real
receiver and writer (so tags are exactly what production writes);
rule transitions through the rules engine's own ``transition_point``; the
rollups, which another package's continuous queries produce, are written
directly per the rollup contract, computed from the same readings.

Times hang off ``t0``, the start of the current hour: readings lie in the
hour [t0 - 4h, t0 - 3h) so an hourly rollup holds all of a room's readings.
"""

from __future__ import annotations

import itertools
import json
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from monitor.core.config import Config
from monitor.datamodel.points import Point, encode_lines
from monitor.rules.evaluate import transition_point
from monitor.rules.statemachine import Transition
from monitor.runtime.app import create_app
from monitor.store.influx import InfluxClient
from monitor.store.writer import Writer
from monitor.webhooks.signature import sign

S, MIN, H = 1, 60, 3600
ACCOUNT = "acct-1"
SENSORS = ("CO2", "TEMPERATURE", "HUMIDITY", "VOC", "AQI", "PM25", "PM10", "AIR_PRESSURE")


@dataclass(frozen=True)
class Room:
    id: str
    name: str
    location_id: str            # "" = Zoom never said where it is
    co2: tuple[float, ...]      # one reading every 10 minutes from t0 - 4h
    people: tuple[float, ...]


EVEREST = Room("r-everest", "Everest", "f-1", (600, 700, 900, 1100, 750, 650), (0, 3, 3, 4, 2, 0))
K2 = Room("r-k2", "K2 (North)", "f-2", (500, 520, 540), (2, 2, 2))
LOBBY = Room("r-lobby", "Lobby pod", "", (1200, 1300), (1, 1))
ROOMS = (EVEREST, K2, LOBBY)
LOCATIONS = (("b-hq", "HQ", "building", ""), ("f-1", "Level 1", "floor", "b-hq"),
             ("f-2", "Level 2", "floor", "b-hq"))


def other_value(kind: str, step: int) -> float:
    """Readings of the other sensors: inside every guidance, varying a little."""
    base = {"TEMPERATURE": 21.0, "HUMIDITY": 45.0, "VOC": 100.0, "AQI": 20.0, "PM25": 5.0,
            "PM10": 10.0, "AIR_PRESSURE": 1013.0}[kind]
    return base + step


def reading_times(t0: int, room: Room) -> list[int]:
    return [t0 - 4 * H + 10 * MIN * step for step in range(len(room.co2))]


def iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def readings(t0: int, room: Room) -> list[tuple[int, str, float, float]]:
    """(time s, sensor type, value, people) for every reading of a room."""
    out = []
    for step, at in enumerate(reading_times(t0, room)):
        people = room.people[step]
        out.append((at, "CO2", room.co2[step], people))
        out.append((at, "REAL_TIME_PEOPLE_COUNT", people, people))
        out += [(at, kind, other_value(kind, step), people) for kind in SENSORS[1:]]
    return out


# ---------------------------------------------------------------- events

def _event(name: str, ts: int, obj: dict[str, Any], operator: bool = False) -> dict[str, Any]:
    payload: dict[str, Any] = {"account_id": ACCOUNT, "object": obj}
    if operator:
        payload.update(operator="ops@example.com", operator_id="op-1")
    return {"event": name, "event_ts": ts * 1000, "payload": payload}


def alert(room: Room, at: int, kind: int, alert_type: int, component: int) -> dict[str, Any]:
    return _event("zoomroom.alert", at, {
        "id": room.id, "room_name": room.name, "calendar_name": "cal", "email": "r@example.com",
        "issue": "Zoom room is offline" if alert_type == 3 else "Controller disconnected",
        "alert_type": alert_type, "component": component, "alert_time": at, "alert_kind": kind})


def events(t0: int) -> list[dict[str, Any]]:
    start = t0 - 5 * H
    out = [_event("zoomroom.location_created", start, {"id": lid, "name": name, "type": kind,
                                                       "parent_location_id": parent}, True)
           for lid, name, kind, parent in LOCATIONS]
    for room in ROOMS:
        obj = {"id": room.id, "room_name": room.name}
        if room.location_id:
            obj["location_id"] = room.location_id
        out.append(_event("zoomroom.created", start + 1, obj))
    for room in ROOMS:
        for at in reading_times(t0, room):
            out.append(sensor_event(room, at, [(kind, value) for when, kind, value, _
                                               in readings(t0, room) if when == at]))
    out += [
        _event("zoomroom.checked_in", t0 - 3 * H - 30 * MIN,
               {"id": EVEREST.id, "room_name": EVEREST.name, "calendar_name": "cal",
                "email": "everest@example.com", "event_id": "ev-1"}),
        _event("zoomroom.digital_signage_app_started", t0 - 2 * H - 30 * MIN,
               {"app_id": "app-1", "app_name": "Menu board", "room_id": EVEREST.id,
                "start_time": iso(t0 - 2 * H - 30 * MIN)}),
        _event("workspace.reservation_created", t0 - 90 * MIN,
               {"id": "res-1", "workspace_id": "ws-1", "topic": "Standup",
                "start_time": iso(t0), "end_time": iso(t0 + H)}, True),
        # incidents: Everest offline 1 h and controller 10 min (both cleared), K2 still offline
        alert(EVEREST, t0 - 3 * H, 1, 3, 1), alert(EVEREST, t0 - 2 * H, 2, 3, 1),
        alert(EVEREST, t0 - 90 * MIN, 1, 1, 2), alert(EVEREST, t0 - 80 * MIN, 2, 1, 2),
        alert(K2, t0 - 30 * MIN, 1, 3, 1),
    ]
    return out


def sensor_event(room: Room, at: int, values: list[tuple[str, float]]) -> dict[str, Any]:
    return _event("zoomroom.sensor_data", at, {
        "id": room.id, "room_name": room.name, "device_id": f"dev-{room.id}",
        "sensor_data": [{"date_time": iso(at), "sensor_type": kind, "sensor_value": f"{value:g}"}
                        for kind, value in values]})


# ---------------------------------------------------------------- rules and rollups

def room_tags(room: Room) -> dict[str, str]:
    tags = {"room_name": room.name}
    if room.location_id:
        tags.update(building="HQ", floor="Level 1" if room.location_id == "f-1" else "Level 2")
    return tags


def rule_state_lines(t0: int) -> bytes:
    ns = 1_000_000_000
    steps = [  # (rule, room, previous, current, level, value, at)
        ("air-quality/co2-high", EVEREST, "inactive", "pending", "warning", 1100.0, t0 - 230 * MIN),
        ("air-quality/co2-high", EVEREST, "pending", "firing", "warning", 1100.0, t0 - 220 * MIN),
        ("air-quality/humidity-out-of-range", EVEREST, "firing", "inactive", "warning", 45.0,
         t0 - 2 * H),
        ("room-health/room-offline", K2, "pending", "firing", "critical", 900.0, t0 - 20 * MIN),
    ]
    points = [transition_point(Transition(rule, room.id, previous, current, level, value,
                                          at * ns), rule.split("/")[0], room_tags(room))
              for rule, room, previous, current, level, value, at in steps]
    return encode_lines(points)


def rollup_lines(t0: int, bucket_s: int, measurement: str) -> bytes:
    """What the continuous queries would write: per bucket, room and sensor type."""
    groups: dict[tuple[int, Room, str], list[tuple[float, float]]] = defaultdict(list)
    for room in ROOMS:
        for at, kind, value, people in readings(t0, room):
            groups[(at - at % bucket_s, room, kind)].append((value, people))
    points = []
    for (bucket, room, kind), values in groups.items():
        plain = [value for value, _ in values]
        occupied = [value for value, people in values if people > 0]
        tags = {"account_id": ACCOUNT, "room_id": room.id, "device_id": f"dev-{room.id}",
                "sensor_type": kind, **room_tags(room)}
        fields: dict[str, float | int | bool | str] = {
            "mean": statistics.fmean(plain), "min": float(min(plain)), "max": float(max(plain)),
            "sum": float(sum(plain)), "count": len(plain),
            "occupied_count": len(occupied), "occupied_sum": float(sum(occupied))}
        points.append(Point(measurement, tags, fields, bucket * 1_000_000_000))
    return encode_lines(points)


# ---------------------------------------------------------------- expectations

def share_within(room_filter: Callable[[Room], bool], bound: float) -> float:
    """Percent of occupied CO2 readings at or below ``bound`` over the matching rooms."""
    pairs = [(value, people) for room in ROOMS if room_filter(room)
             for value, people in zip(room.co2, room.people, strict=True) if people > 0]
    return 100 * sum(1 for value, _ in pairs if value <= bound) / len(pairs)


# ---------------------------------------------------------------- loading it

SECRET = "dash-secret"
_names = itertools.count()


@dataclass(frozen=True)
class Seeded:
    influx: InfluxClient
    t0: int              # the hour the seed hangs off, epoch seconds
    now_ms: int


def _write(config: Config, lines: bytes, rp: str | None = None) -> None:
    params = {"db": config.influx_db, "precision": "ns", **({"rp": rp} if rp else {})}
    response = requests.post(f"{config.influx_url}/write", params=params, data=lines,
                             timeout=10)
    assert response.status_code == 204, response.text


def _post_all(config: Config, t0: int) -> None:
    client = create_app(config).test_client()
    for event in events(t0):
        body = json.dumps(event).encode()
        ts = str(int(time.time()))
        headers = {"x-zm-request-timestamp": ts, "Content-Type": "application/json",
                   "x-zm-signature": sign(SECRET.encode(), ts, body)}
        response = client.post("/webhooks/zoom", data=body, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)


def load(influx_url: str, data_dir: Path) -> Seeded:
    """A fresh database with the fleet above, its rule transitions and its rollups."""
    config = Config(secret_token=SECRET, influx_url=influx_url, hash_salt="salt",
                    influx_db=f"dash_{next(_names)}_{int(time.time())}", data_dir=data_dir)
    influx = InfluxClient(config)
    influx.create_database()
    influx.query(f'CREATE RETENTION POLICY "rollup" ON "{config.influx_db}" '
                 "DURATION 400d REPLICATION 1", write=True, epoch=None)
    now = int(time.time())
    t0 = now - now % H
    _post_all(config, t0)
    writer = Writer(config, influx)
    try:
        while writer.drain_once():
            pass
    finally:
        writer.state.close()
    _write(config, rule_state_lines(t0))
    _write(config, rollup_lines(t0, 300, "sensor_5m"), "rollup")
    _write(config, rollup_lines(t0, 3600, "sensor_1h"), "rollup")
    return Seeded(influx, t0, now * 1000)
