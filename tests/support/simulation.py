"""Reading simulated events back: per-room series and alerts, for assertions."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from monitor.core.timeutil import NS_PER_S, to_ns
from monitor.simulate.model import Simulation

Event = dict[str, Any]
# A Wednesday noon (UTC), in the past: office hours, so meetings and check-ins happen.
WEDNESDAY_NOON = int(datetime(2026, 11, 25, 12, tzinfo=UTC).timestamp())


def simulate(rooms: int = 6, *, seed: int = 1, days: float = 2.0, anchor: int = WEDNESDAY_NOON,
             faults: bool = True, step_s: int = 300) -> list[Event]:
    from monitor.simulate.fleet import make_fleet

    sim = Simulation(make_fleet(rooms, seed, faults=faults), anchor_s=anchor,
                     emit_from_s=anchor - int(days * 86400), step_s=step_s)
    return sim.setup() + sim.advance(anchor)


def series(events: list[Event]) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """(room name, sensor type) → [(time s, value)], in time order."""
    out: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for event in events:
        if event["event"] != "zoomroom.sensor_data":
            continue
        obj = event["payload"]["object"]
        for reading in obj["sensor_data"]:
            at = to_ns(reading["date_time"]) / NS_PER_S
            out[(obj["room_name"], reading["sensor_type"])].append(
                (at, float(reading["sensor_value"])))
    return out


def value_at(points: list[tuple[float, float]], at_s: float) -> float:
    """The reading at or just before ``at_s``."""
    before = [value for when, value in points if when <= at_s]
    assert before, f"no reading at or before {at_s}"
    return before[-1]


def alerts(events: list[Event]) -> dict[str, list[tuple[int, float]]]:
    """room name → [(alert_kind, alert_time s)] in posting order."""
    out: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for event in events:
        if event["event"] == "zoomroom.alert":
            obj = event["payload"]["object"]
            out[obj["room_name"]].append((obj["alert_kind"], obj["alert_time"] / 1000))
    return out
