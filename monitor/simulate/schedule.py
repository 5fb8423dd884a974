"""What happens in a room on a given day: meetings, outages and PM spikes.

A day's plan is a pure function of (seed, room, day), never of when the
simulation started or how it steps, so a backfill and the live run that
follows it agree on every meeting, and a test can ask for "the meetings of
room 4 on Tuesday" without simulating the week before. Office hours are
08:00-18:00 UTC on weekdays.

The scripted demo faults (``fleet.FAULTS``) are layered on top by
:func:`faulted_plan`, anchored at the end of the backfill.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from monitor.simulate.fleet import CO2_SENSOR_DEAD, OFFLINE, STUFFY, Room
from monitor.zoom.fake_fleet import zoom_id

DAY_S = 86_400
HOUR_S = 3_600
MINUTE_S = 60
OFFICE_OPENS_S = 8 * HOUR_S
OFFICE_CLOSES_S = 18 * HOUR_S
SLOT_S = 30 * MINUTE_S

_TOPICS = ("Weekly sync", "Design review", "1:1", "Sprint planning", "Customer call",
           "Interview", "All hands prep", "Budget review", "Retro", "Standup",
           "Vendor demo", "Hiring panel", "Roadmap", "Incident review", "Training")

# Demo faults, relative to the anchor (end of the backfill).
OFFLINE_SINCE_S = 25 * MINUTE_S
OFFLINE_FOR_S = 4 * HOUR_S
STUFFY_SINCE_S = 3 * HOUR_S
STUFFY_FOR_S = 24 * HOUR_S
STUFFY_PEOPLE = 10
STUFFY_ACH = 0.8
SENSOR_DEAD_SINCE_S = 45 * MINUTE_S


@dataclass(frozen=True)
class Meeting:
    start_s: int
    end_s: int
    people: int
    topic: str
    reservation_id: str
    organizer: str
    booked_s: int          # when the reservation was made
    no_show: bool          # booked, nobody came: released 10 minutes after the start
    arrive_s: int          # people are in the room from here ...
    leave_s: int           # ... until here

    def occupied(self, at_s: float) -> bool:
        return not self.no_show and self.arrive_s <= at_s < self.leave_s


@dataclass(frozen=True)
class Outage:
    start_s: int
    end_s: int


@dataclass(frozen=True)
class Spike:
    """A burst of particles (toaster, cleaning, a door to the street): decays exponentially."""

    at_s: int
    peak: float            # µg/m³ of PM2.5 added at ``at_s``
    tau_s: float


@dataclass(frozen=True)
class DayPlan:
    meetings: tuple[Meeting, ...]
    outages: tuple[Outage, ...]
    spikes: tuple[Spike, ...]


def day_of(at_s: float) -> int:
    return math.floor(at_s / DAY_S)


def is_weekday(day: int) -> bool:
    """Day 0 (1970-01-01) was a Thursday."""
    return (day + 3) % 7 < 5


def day_plan(seed: int, room: Room, day: int) -> DayPlan:
    rng = random.Random(f"{seed}:plan:{room.index}:{day}")
    return DayPlan(_meetings(rng, seed, room, day), _outages(rng, day), _spikes(rng, day))


def _meetings(rng: random.Random, seed: int, room: Room, day: int) -> tuple[Meeting, ...]:
    """Back-to-back-ish bookings in 30-minute slots, busier on weekdays."""
    chance = 0.45 if is_weekday(day) else 0.03
    midnight = day * DAY_S
    at = midnight + OFFICE_OPENS_S
    meetings: list[Meeting] = []
    while at < midnight + OFFICE_CLOSES_S:
        if rng.random() >= chance:
            at += SLOT_S
            continue
        length = rng.choice((1, 1, 2, 2, 2, 3, 4)) * SLOT_S
        people = max(1, min(room.capacity, round(rng.triangular(1, room.capacity,
                                                                room.capacity * 0.5))))
        number = len(meetings)
        meetings.append(Meeting(
            start_s=at, end_s=at + length, people=people, topic=rng.choice(_TOPICS),
            reservation_id=zoom_id(seed, "reservation", room.index, day, number),
            organizer=f"user{rng.randrange(1, 400)}@example.com",
            booked_s=at - rng.randrange(15 * MINUTE_S, 20 * HOUR_S, MINUTE_S),
            no_show=rng.random() < 0.08,
            arrive_s=at + rng.randrange(0, 5 * MINUTE_S),
            leave_s=at + length - rng.randrange(0, 5 * MINUTE_S)))
        at += length + rng.choice((0, 0, 1, 2)) * SLOT_S
    return tuple(meetings)


def _outages(rng: random.Random, day: int) -> tuple[Outage, ...]:
    """About one outage per room a week: a reboot, an update, a pulled cable.

    Confined to its day so that outages of consecutive days never overlap and
    every trigger has exactly one clear.
    """
    if rng.random() >= 0.15:
        return ()
    length = int(min(3 * HOUR_S, max(3 * MINUTE_S, rng.lognormvariate(math.log(1200), 0.9))))
    start = day * DAY_S + rng.randrange(0, DAY_S - length)
    return (Outage(start, start + length),)


def _spikes(rng: random.Random, day: int) -> tuple[Spike, ...]:
    """A third of the days have a particle spike during the day."""
    if rng.random() >= 0.33:
        return ()
    at = day * DAY_S + rng.randrange(6 * HOUR_S, 20 * HOUR_S)
    return (Spike(at, rng.uniform(20.0, 70.0), rng.uniform(10, 30) * MINUTE_S),)


def faulted_plan(plan: DayPlan, room: Room, day: int, anchor_s: int, emit_from_s: int) -> DayPlan:
    """The day's plan with the room's scripted demo fault, if any.

    A fault that would start before the first emitted event starts in the
    first step instead, so that without a backfill the trigger is still posted.
    """
    if room.fault == OFFLINE:
        start = max(anchor_s - OFFLINE_SINCE_S, emit_from_s + 1)
        outage = Outage(start, anchor_s + OFFLINE_FOR_S)
        return DayPlan(plan.meetings, (outage,) if day == day_of(start) else (), plan.spikes)
    if room.fault == STUFFY:
        start, end = anchor_s - STUFFY_SINCE_S, anchor_s + STUFFY_FOR_S
        meetings = tuple(m for m in plan.meetings if m.end_s <= start or m.start_s >= end)
        if day == day_of(start):
            meetings = (*meetings, _hackathon(room, start, end))
        return DayPlan(meetings, plan.outages, plan.spikes)
    return plan


def _hackathon(room: Room, start: int, end: int) -> Meeting:
    return Meeting(start_s=start, end_s=end, people=STUFFY_PEOPLE, topic="Hackathon",
                   reservation_id=f"{room.room_id}-hackathon", organizer="hack@example.com",
                   booked_s=start - 2 * HOUR_S, no_show=False, arrive_s=start, leave_s=end)


def ventilation_ach(room: Room, at_s: float, anchor_s: int) -> float:
    """Air changes per hour: the stuffy demo room's ventilation broke before its hackathon."""
    if room.fault == STUFFY and at_s >= anchor_s - STUFFY_SINCE_S - HOUR_S:
        return STUFFY_ACH
    return room.ach


def co2_sensor_works(room: Room, at_s: float, anchor_s: int) -> bool:
    return not (room.fault == CO2_SENSOR_DEAD and at_s >= anchor_s - SENSOR_DEAD_SINCE_S)
