"""A simulator run: set-up events, a backfill as fast as the receiver takes it, then live.

The backfill stamps every event with its simulated time (the past days, as
if Zoom had been posting all along). Live mode then maps the simulation onto
the wall clock: ``speed`` simulated seconds per real second, stamped from
"now" on (see ``model``), so rules and dashboards, which look at the present,
see it. Everything stops at the next step when ``stop`` is set (Ctrl-C).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from tqdm import tqdm

from monitor.simulate.api import SimulatedZoom
from monitor.simulate.events import Event
from monitor.simulate.fleet import make_fleet
from monitor.simulate.model import STEP_S, Simulation, Stamp
from monitor.simulate.poster import Poster, PostStats, wait_ready
from monitor.simulate.schedule import HOUR_S

log = logging.getLogger(__name__)
CHUNK_EVENTS = 256      # events posted concurrently before the progress bar moves


@dataclass(frozen=True)
class RunPlan:
    url: str
    secret: str
    rooms: int = 20
    seed: int = 1
    step_s: int = STEP_S
    backfill_s: float = 0.0
    backfill_only: bool = False
    speed: float = 1.0
    duration_s: float | None = None
    threads: int = 4
    faults: bool = True
    wait_ready_s: float = 0.0
    anchor_s: int | None = None      # the end of the backfill; default now (tests fix it)
    history_s: float = 0.0           # sensor history the Zoom API holds before the anchor
    api_host: str = "127.0.0.1"
    api_port: int | None = None      # serve the rooms as a Zoom API (None: no API)


def build_simulation(plan: RunPlan, anchor_s: int) -> Simulation:
    """The model from the start of the API's history or of the backfill, whichever is first."""
    fleet = make_fleet(plan.rooms, plan.seed, faults=plan.faults)
    start = anchor_s - int(max(plan.backfill_s, plan.history_s if plan.api_port is not None
                               else 0.0))
    return Simulation(fleet, anchor_s=anchor_s, emit_from_s=start, step_s=plan.step_s)


def start_api(plan: RunPlan, anchor_s: int) -> SimulatedZoom:
    """The Zoom API of the plan's rooms, its history (up to the anchor) already recorded.

    A second model of the same plan is stepped to the anchor first: the model is
    deterministic, so its readings are the ones the webhooks will carry, and a
    backfill asked for as soon as the API answers finds the whole history.
    """
    sim = build_simulation(plan, anchor_s)
    api = SimulatedZoom(sim.fleet, host=plan.api_host, port=plan.api_port or 0)
    since = anchor_s - plan.history_s
    api.record(sim.setup())
    while sim.steps_until(anchor_s):
        api.record(sim.step(), since)
    return api.start()


def run(plan: RunPlan, stop: threading.Event,
        on_api: Callable[[SimulatedZoom], None] | None = None) -> PostStats:
    """The whole run; raises ``PostError`` when the receiver cannot take the events.

    With ``plan.api_port`` the rooms are served as a Zoom API (``on_api`` is told once it
    answers) until ``stop`` is set, also after a ``backfill_only`` run has posted.
    """
    anchor = plan.anchor_s if plan.anchor_s is not None else int(time.time())
    api = start_api(plan, anchor) if plan.api_port is not None else None
    if api is not None and on_api is not None:
        on_api(api)
    sim = build_simulation(plan, anchor)
    while sim.steps_until(anchor - plan.backfill_s):   # before the webhooks start: API only
        sim.step()
    poster = Poster(plan.url, plan.secret, threads=plan.threads, stop=stop)
    try:
        if plan.wait_ready_s > 0:
            wait_ready(plan.url, plan.wait_ready_s, stop)
        # One by one on one connection, so one receiver process spools them in this order
        # and the writer knows every room's building before the first reading.
        for event in sim.setup():
            poster.post(event)
        backfill(sim, poster, anchor, stop)
        if not plan.backfill_only and not stop.is_set():
            live(sim, poster, plan.speed, plan.duration_s, stop,
                 record=api.record if api is not None else None)
        if api is not None and plan.backfill_only:
            stop.wait()
    finally:
        poster.close()
        if api is not None:
            api.stop()
    return poster.stats


def backfill(sim: Simulation, poster: Poster, until_s: float, stop: threading.Event) -> None:
    """History up to ``until_s``, posted in concurrent chunks, with a progress bar on a TTY."""
    total = sim.steps_until(until_s)
    if total == 0:
        return
    rooms = len(sim.fleet.rooms)
    with tqdm(total=total, unit="step", desc=f"backfill {rooms} rooms", disable=None,
              smoothing=0.1) as bar:
        pending: list[Event] = []
        steps = 0
        while steps < total and not stop.is_set():
            pending.extend(sim.step())
            steps += 1
            if len(pending) >= CHUNK_EVENTS or steps == total:
                poster.post_many(pending)
                bar.update(steps - bar.n)
                bar.set_postfix(events=poster.stats.posted, refresh=False)
                pending = []


def live_stamp(sim_start_s: float, wall_start_s: float, speed: float) -> Stamp:
    """Simulated time → the wall-clock time an event carries: ``speed`` times compressed."""

    def stamp(at_s: float) -> float:
        return wall_start_s + (at_s - sim_start_s) / speed

    return stamp


def live(sim: Simulation, poster: Poster, speed: float, duration_s: float | None,
         stop: threading.Event, *, clock: Callable[[], float] = time.time,
         monotonic: Callable[[], float] = time.monotonic,
         record: Callable[[list[Event]], None] | None = None) -> None:
    """One step every ``step_s / speed`` real seconds until stopped or ``duration_s`` is up."""
    sim_start, started = sim.now_s, monotonic()
    stamp = live_stamp(sim_start, clock(), speed)
    log.info("live: %d rooms, %g simulated seconds per second; Ctrl-C stops",
             len(sim.fleet.rooms), speed)
    while not stop.is_set():
        due = started + (sim.now_s + sim.step_s - sim_start) / speed
        if duration_s is not None and due - started > duration_s:
            break
        if stop.wait(max(0.0, due - monotonic())):
            break
        events = sim.step(stamp)
        if record is not None:        # the Zoom API has what the webhooks said, as they say it
            record(events)
        poster.post_many(events)
        if sim.now_s % HOUR_S < sim.step_s:
            log.info("%s", status_line(sim, poster.stats))


def status_line(sim: Simulation, stats: PostStats) -> str:
    """Where the simulation stands, once per simulated hour in live mode."""
    at = sim.now_s
    busy = sum(1 for room in sim.fleet.rooms if sim.people(room, at) > 0)
    offline = sum(1 for room in sim.fleet.rooms if sim.offline(room, at))
    clock = time.strftime("%a %H:%M UTC", time.gmtime(at))
    return (f"simulated {clock}: {busy} of {len(sim.fleet.rooms)} rooms in use, "
            f"{offline} offline; {stats.posted} events posted")
