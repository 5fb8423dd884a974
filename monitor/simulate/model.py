"""The simulation: rooms stepped through time, producing Zoom webhook bodies. Pure.

``Simulation.advance(until)`` moves every room forward in steps of
``step_s`` (5 minutes: how often Zoom reports sensors) and returns the
events of those steps in time order: reservations, offline alerts,
check-ins and check-outs as they happen, and one ``zoomroom.sensor_data``
per online room at the end of each step.

Time is simulated seconds since the epoch. What an event *carries* is
``stamp(simulated time)``: the identity during a backfill, and in live mode
a mapping that compresses ``speed`` simulated seconds into one real second
starting now (``runner.live_stamp``), so live data is always stamped
"now" even though the model runs faster than the clock.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from monitor.simulate import air, events
from monitor.simulate.events import CLEARED, TRIGGERED, Event
from monitor.simulate.fleet import Fleet, Room
from monitor.simulate.schedule import (
    HOUR_S,
    MINUTE_S,
    DayPlan,
    Meeting,
    Spike,
    co2_sensor_works,
    day_of,
    day_plan,
    faulted_plan,
    ventilation_ach,
)
from monitor.zoom.fake_fleet import zoom_id

Stamp = Callable[[float], float]
STEP_S = 300
WARM_UP_S = 6 * HOUR_S
NO_SHOW_RELEASE_S = 10 * MINUTE_S
_SETUP, _ALERT, _BOOKING, _CHECK, _SENSOR = range(5)   # order of events at the same time


def same_time(at_s: float) -> float:
    return at_s


@dataclass(frozen=True)
class _Timed:
    at_s: float
    order: int
    event: Event


class Simulation:
    """All rooms of a fleet, from ``emit_from_s`` on; faults anchored at ``anchor_s``."""

    def __init__(self, fleet: Fleet, *, anchor_s: int, emit_from_s: int,
                 step_s: int = STEP_S) -> None:
        if step_s <= 0:
            raise ValueError("step must be positive")
        self.fleet = fleet
        self.anchor_s = anchor_s
        self.emit_from_s = emit_from_s
        self.step_s = step_s
        self.now_s = emit_from_s
        self._plans: dict[tuple[int, int], DayPlan] = {}
        self.air = [self._warm_up(room) for room in fleet.rooms]

    # ------------------------------------------------------------ the rooms' plans

    def plan(self, room: Room, day: int) -> DayPlan:
        key = (room.index, day)
        found = self._plans.get(key)
        if found is None:
            if len(self._plans) > 16 * max(1, len(self.fleet.rooms)):
                self._plans.clear()
            found = faulted_plan(day_plan(self.fleet.seed, room, day), room, day,
                                 self.anchor_s, self.emit_from_s)
            self._plans[key] = found
        return found

    def meetings(self, room: Room, first_s: float, last_s: float) -> Iterator[Meeting]:
        """Meetings of the days that can touch [first_s, last_s] (some last past midnight)."""
        for day in range(day_of(first_s) - 2, day_of(last_s) + 2):
            yield from self.plan(room, day).meetings

    def people(self, room: Room, at_s: float) -> int:
        return sum(m.people for m in self.meetings(room, at_s, at_s) if m.occupied(at_s))

    def offline(self, room: Room, at_s: float) -> bool:
        return any(o.start_s <= at_s < o.end_s for day in (day_of(at_s) - 1, day_of(at_s))
                   for o in self.plan(room, day).outages)

    # ------------------------------------------------------------ stepping

    def setup(self, stamp: Stamp = same_time) -> list[Event]:
        """Locations and rooms, so every reading gets its building and floor tags."""
        at = stamp(self.now_s)
        return ([events.location_created(self.fleet, loc, at) for loc in self.fleet.locations]
                + [events.room_created(self.fleet, room, at) for room in self.fleet.rooms])

    def steps_until(self, until_s: float) -> int:
        return max(0, math.floor((until_s - self.now_s) / self.step_s))

    def advance(self, until_s: float, stamp: Stamp = same_time) -> list[Event]:
        """Every event of the steps ending at or before ``until_s``, in time order."""
        out: list[Event] = []
        for _ in range(self.steps_until(until_s)):
            out.extend(self.step(stamp))
        return out

    def step(self, stamp: Stamp = same_time) -> list[Event]:
        start, end = self.now_s, self.now_s + self.step_s
        timed: list[_Timed] = []
        for room in self.fleet.rooms:
            timed.extend(self._happenings(room, start, end, stamp))
            self.air[room.index] = self._breathe(room, self.air[room.index], start, end)
            if not self.offline(room, end):
                values = self.readings(room, end)
                timed.append(_Timed(end, _SENSOR,
                                    events.sensor_data(self.fleet, room, stamp(end), values)))
        self.now_s = end
        timed.sort(key=lambda item: (item.at_s, item.order))
        return [item.event for item in timed]

    def _breathe(self, room: Room, state: air.Air, start: float, end: float) -> air.Air:
        middle = (start + end) / 2
        return air.step(state, at_s=middle, dt_s=end - start, people=self.people(room, middle),
                        volume_m3=room.volume_m3, ach=ventilation_ach(room, middle, self.anchor_s),
                        base_temp_c=room.base_temp_c, base_humidity=_base_humidity(room))

    def _warm_up(self, room: Room) -> air.Air:
        """Settle the room's air over the hours before the first event, not from a guess."""
        state = air.Air(co2=air.OUTDOOR_CO2_PPM + 30, temperature=room.base_temp_c,
                        humidity=_base_humidity(room), voc=air.VOC_BACKGROUND)
        at = self.emit_from_s - WARM_UP_S
        while at < self.emit_from_s:
            state = self._breathe(room, state, at, at + self.step_s)
            at += self.step_s
        return state

    # ------------------------------------------------------------ events

    def _happenings(self, room: Room, start: float, end: float,
                    stamp: Stamp) -> Iterator[_Timed]:
        """Alerts, bookings and check-ins/outs of one room in (start, end]."""
        fleet = self.fleet
        for day in (day_of(start) - 1, day_of(end)):
            for outage in self.plan(room, day).outages:
                for at, kind in ((outage.start_s, TRIGGERED), (outage.end_s, CLEARED)):
                    if start < at <= end:
                        yield _Timed(at, _ALERT, events.offline_alert(fleet, room, stamp(at), kind))
        for meeting in self.meetings(room, start, end):
            span = (stamp(meeting.start_s), stamp(meeting.end_s))
            if start < meeting.booked_s <= end:
                yield _Timed(meeting.booked_s, _BOOKING, events.reservation(
                    fleet, room, meeting, stamp(meeting.booked_s),
                    name="workspace.reservation_created", span_s=span))
            if meeting.no_show:
                released = meeting.start_s + NO_SHOW_RELEASE_S
                if start < released <= end:
                    yield _Timed(released, _BOOKING, events.reservation(
                        fleet, room, meeting, stamp(released), name="workspace.reservation_deleted",
                        span_s=span))
                continue
            for at, out in ((meeting.arrive_s, False), (meeting.leave_s, True)):
                if start < at <= end and not self.offline(room, at):
                    yield _Timed(at, _CHECK, events.check(fleet, room, meeting, stamp(at),
                                                          out=out))

    def readings(self, room: Room, at_s: float) -> dict[str, str]:
        """What the room's sensors report at ``at_s``: the model plus sensor noise."""
        rng = random.Random(f"{self.fleet.seed}:noise:{room.index}:{at_s}")
        state = self.air[room.index]
        fine = max(0.5, air.pm25(at_s, self._spikes(room, at_s)) + rng.gauss(0, 0.4))
        values: dict[str, str] = {}
        if co2_sensor_works(room, at_s, self.anchor_s):
            co2 = min(air.CO2_SENSOR_MAX_PPM, state.co2 + rng.gauss(0, 8))
            values["CO2"] = str(round(co2))
        values.update({
            "TEMPERATURE": f"{state.temperature + rng.gauss(0, 0.05):.1f}",
            "HUMIDITY": f"{min(95.0, max(5.0, state.humidity + rng.gauss(0, 0.3))):.1f}",
            "VOC": str(round(max(0.0, state.voc * (1 + rng.gauss(0, 0.04))))),
            "AQI": str(air.aqi_from_pm25(fine)),
            "PM25": f"{fine:.1f}",
            "PM10": f"{air.pm10(fine) + rng.gauss(0, 0.5):.1f}",
            "AIR_PRESSURE": f"{air.air_pressure(at_s, _phase(room)) + rng.gauss(0, 0.05):.1f}",
            "REAL_TIME_PEOPLE_COUNT": str(self.people(room, at_s)),
        })
        return values

    def _spikes(self, room: Room, at_s: float) -> tuple[Spike, ...]:
        day = day_of(at_s)
        return self.plan(room, day - 1).spikes + self.plan(room, day).spikes


def _base_humidity(room: Room) -> float:
    return 38.0 + (room.index * 7) % 9


def _phase(room: Room) -> float:
    """Rooms of one building share the weather: a phase per building."""
    return int(zoom_id(0, room.building).encode().hex()[:6], 16) % 628 / 100
