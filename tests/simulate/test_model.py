"""The simulation model, without servers: physics, schedule, faults and event shapes."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from support.simulation import WEDNESDAY_NOON, alerts, series, simulate, value_at

from monitor.simulate import air
from monitor.simulate.fleet import make_fleet, make_room
from monitor.simulate.model import Simulation
from monitor.simulate.runner import live_stamp
from monitor.simulate.schedule import (
    OFFLINE_SINCE_S,
    SENSOR_DEAD_SINCE_S,
    Meeting,
    day_of,
    day_plan,
)
from monitor.webhooks.intake import Privacy, prepare
from monitor.webhooks.schemas import reading_schema, schema_for
from monitor.webhooks.validation import validate_event as receiver_validate

HOUR = 3600
ALL_SENSORS = {"CO2", "TEMPERATURE", "HUMIDITY", "VOC", "AQI", "PM25", "PM10", "AIR_PRESSURE",
               "REAL_TIME_PEOPLE_COUNT"}


@pytest.fixture(scope="module")
def week() -> list[dict[str, object]]:
    """A week of 8 rooms without scripted faults: what chance alone produces."""
    return simulate(8, days=7, faults=False)


def test_the_same_seed_gives_the_same_events_and_another_seed_does_not() -> None:
    first, again = simulate(3, days=0.5), simulate(3, days=0.5)
    other = simulate(3, days=0.5, seed=2)
    assert first == again
    assert first != other
    assert len(first) > 100


def test_every_event_passes_the_receivers_validation() -> None:
    events = simulate(6, days=2)
    kinds = Counter(str(event["event"]) for event in events)
    assert set(kinds) >= {"zoomroom.sensor_data", "zoomroom.alert", "zoomroom.checked_in",
                          "zoomroom.checked_out", "workspace.reservation_created",
                          "zoomroom.created", "zoomroom.location_created"}
    privacy = Privacy(b"salt")
    for event in events:
        name = str(event["event"])
        assert schema_for(name).validate(event) == {}, event       # the marshmallow schema
        receiver_validate(name, event)                              # what the route runs
        if name == "zoomroom.sensor_data":
            for reading in event["payload"]["object"]["sensor_data"]:
                assert reading_schema().validate(reading) == {}, reading
        intake = prepare(event, privacy)
        assert (intake.status, intake.outcome, intake.quarantine) == (200, "accepted", []), event


def test_events_have_the_seed_types() -> None:
    events = simulate(2, days=0.2)
    sensor = next(e for e in events if e["event"] == "zoomroom.sensor_data")
    readings = sensor["payload"]["object"]["sensor_data"]
    assert {r["sensor_type"] for r in readings} == ALL_SENSORS
    for reading in readings:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", reading["date_time"])
        assert isinstance(reading["sensor_value"], str)
        float(reading["sensor_value"])
    assert all(isinstance(e["event_ts"], int) and e["event_ts"] > 10**12 for e in events)


def _quiet_meeting(sim: Simulation) -> tuple[int, Meeting]:
    """A meeting of at least 3 people for an hour or more, the room empty for 2 h after."""
    for room in sim.fleet.rooms:
        for day in range(day_of(WEDNESDAY_NOON) - 6, day_of(WEDNESDAY_NOON)):
            meetings = day_plan(sim.fleet.seed, room, day).meetings
            for meeting, following in zip(meetings, (*meetings[1:], None), strict=True):
                if (meeting.people >= 3 and not meeting.no_show
                        and meeting.leave_s - meeting.arrive_s >= HOUR
                        and (following is None or following.start_s > meeting.end_s + 2 * HOUR)
                        and not any(sim.offline(room, t) for t in
                                    range(meeting.start_s - HOUR, meeting.end_s + 2 * HOUR, 300))):
                    return room.index, meeting
    raise AssertionError("no suitable meeting in the week")


def test_co2_rises_with_people_during_a_meeting_and_falls_after(week: list[dict[str, object]]
                                                                ) -> None:
    sim = Simulation(make_fleet(8, 1, faults=False), anchor_s=WEDNESDAY_NOON,
                     emit_from_s=WEDNESDAY_NOON - 7 * 86400)
    index, meeting = _quiet_meeting(sim)
    co2 = series(week)[(sim.fleet.rooms[index].name, "CO2")]
    at_arrival = value_at(co2, meeting.arrive_s)
    at_leaving = value_at(co2, meeting.leave_s)
    hour_later = value_at(co2, meeting.leave_s + HOUR)
    assert at_leaving > at_arrival + 150
    assert hour_later < at_leaving - 150
    assert hour_later > air.OUTDOOR_CO2_PPM - 40           # decays toward outdoor air, not below


def test_co2_steady_state_follows_the_mass_balance() -> None:
    # 6 people, 60 m³, 3 air changes an hour: 6 * 5e-6 m³/s * 1e6 / (60 * 3/3600) = 600 ppm above.
    assert air.co2_steady_state(6, 60.0, 3.0) == pytest.approx(420 + 600)
    state = air.Air(co2=420, temperature=21, humidity=40, voc=120)
    for _ in range(100):
        state = air.step(state, at_s=0, dt_s=300, people=6, volume_m3=60, ach=3,
                         base_temp_c=21, base_humidity=40)
    assert state.co2 == pytest.approx(1020, abs=1)


def test_temperature_follows_a_daily_cycle(week: list[dict[str, object]]) -> None:
    for (room, sensor), points in series(week).items():
        if sensor != "TEMPERATURE":
            continue
        afternoon = [v for t, v in points if 14 <= (t % 86400) / HOUR < 16]
        night = [v for t, v in points if 2 <= (t % 86400) / HOUR < 4]
        assert sum(afternoon) / len(afternoon) > sum(night) / len(night) + 1.0, room


def test_offline_rooms_send_triggered_then_cleared_and_no_readings_between(
        week: list[dict[str, object]]) -> None:
    by_room = alerts(week)
    assert sum(len(pairs) for pairs in by_room.values()) >= 4
    readings = series(week)
    for room, sequence in by_room.items():
        kinds = [kind for kind, _ in sequence]
        assert kinds == [1, 2] * (len(kinds) // 2), room
        for (_, down), (_, up) in zip(sequence[::2], sequence[1::2], strict=True):
            assert up > down
            assert not [t for t, _ in readings[(room, "CO2")] if down < t < up]


def test_pm_spikes_raise_pm_and_aqi(week: list[dict[str, object]]) -> None:
    data = series(week)
    worst = max((value, room) for (room, sensor), points in data.items() if sensor == "PM25"
                for _, value in points)
    assert worst[0] > 20
    assert max(v for _, v in data[(worst[1], "AQI")]) > 60


@pytest.mark.parametrize(("pm25", "aqi"), [(0, 0), (9.0, 50), (9.1, 51), (35.4, 100),
                                           (35.5, 101), (55.4, 150), (400, 500)])
def test_aqi_uses_the_epa_breakpoints(pm25: float, aqi: int) -> None:
    assert air.aqi_from_pm25(pm25) == aqi


def test_demo_faults_are_in_place_at_the_anchor() -> None:
    events = simulate(4, days=1)
    data = series(events)
    names = [make_room(1, i).name for i in range(4)]
    offline, stuffy, dead = names[1], names[2], names[3]
    assert alerts(events)[offline][-1] == (1, WEDNESDAY_NOON - OFFLINE_SINCE_S)
    assert max(t for t, _ in data[(offline, "CO2")]) < WEDNESDAY_NOON - OFFLINE_SINCE_S
    assert data[(stuffy, "CO2")][-1][1] > 1500
    assert max(t for t, _ in data[(dead, "CO2")]) < WEDNESDAY_NOON - SENSOR_DEAD_SINCE_S
    assert data[(dead, "TEMPERATURE")][-1][0] == WEDNESDAY_NOON


def test_without_backfill_the_offline_fault_starts_with_the_first_step() -> None:
    sim = Simulation(make_fleet(2, 1), anchor_s=WEDNESDAY_NOON, emit_from_s=WEDNESDAY_NOON)
    first = sim.step()
    assert [e["event"] for e in first].count("zoomroom.alert") == 1


def test_live_stamps_compress_simulated_time_onto_the_wall_clock() -> None:
    stamp = live_stamp(sim_start_s=1000.0, wall_start_s=5000.0, speed=60)
    assert stamp(1000.0) == 5000.0
    assert stamp(1300.0) == 5005.0                          # a 5-minute step is 5 real seconds
    sim = Simulation(make_fleet(1, 1), anchor_s=WEDNESDAY_NOON, emit_from_s=WEDNESDAY_NOON)
    event = sim.step(live_stamp(WEDNESDAY_NOON, 1_800_000_000.0, 60))[-1]
    assert event["event_ts"] == 1_800_000_005_000
