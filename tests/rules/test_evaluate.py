"""A rule group evaluated against a real influxd: alerts out, transitions recorded."""

from __future__ import annotations

from pathlib import Path

from support.paths import RULES

from monitor.datamodel.points import Point, encode_lines
from monitor.rules.evaluate import Evaluator, StateFile
from monitor.rules.load import load_file
from monitor.rules.model import Group, NoData, Rule, Threshold
from monitor.store.influx import InfluxClient

T0 = 1_793_527_200 * 10**9
MIN = 60 * 10**9

CO2 = Rule(group="air", name="co2-high", kind="threshold", sensor="CO2", window_s=300.0,
           levels={"warning": Threshold("above", 1000.0, resolve=900.0)},
           no_data=NoData(after_s=1200.0),
           labels={"team": "facilities"}, notify=("log",),
           annotations={"summary": "CO2 {{ value | round | int }} ppm in {{ room_name }} "
                                   "({{ level }}, {{ threshold }}, since {{ since }})"})
GROUP = Group("air", 60.0, (CO2,))


def reading(room: str, minute: int, value: float) -> Point:
    return Point("sensor", {"room_id": room, "room_name": room.title(), "building": "HQ",
                            "sensor_type": "CO2"}, {"value": value}, T0 + minute * MIN)


def test_fires_resolves_and_records_transitions(tmp_path: Path, influx: InfluxClient) -> None:
    influx.write(encode_lines([reading("a", m, 1200) for m in range(0, 10)] +
                              [reading("a", m, 850) for m in range(10, 20)] +
                              [reading("b", m, 500) for m in range(0, 20)]))
    evaluator = Evaluator(influx, StateFile(tmp_path / "rules.json"))
    first = evaluator.evaluate(GROUP, T0 + 5 * MIN)
    assert first.queries == 1
    [alert] = first.alerts
    assert (alert.room_id, alert.status, alert.level) == ("a", "firing", "warning")
    assert alert.annotations["summary"] == "CO2 1200 ppm in A (warning, above 1000, since 0 s)"
    assert alert.labels["team"] == "facilities"
    assert alert.labels["building"] == "HQ"

    # A restart keeps the state: no second "firing" transition.
    again = Evaluator(influx, StateFile(tmp_path / "rules.json"))
    assert again.evaluate(GROUP, T0 + 8 * MIN).transitions == []
    resolved = again.evaluate(GROUP, T0 + 16 * MIN)
    [alert] = resolved.alerts
    assert (alert.status, alert.value) == ("resolved", 850.0)

    series = influx.query('SELECT "previous", "value", "title" FROM "rule_state" '
                          'GROUP BY "status", "room_id"')
    rows = {(s.tags["room_id"], s.tags["status"]): s.values[0] for s in series}
    assert set(rows) == {("a", "firing"), ("a", "inactive")}
    assert rows[("a", "inactive")][2] == 850.0
    assert "co2-high: firing → inactive (warning) in A" in rows[("a", "inactive")][3]


def test_a_failing_rule_does_not_stop_the_others(tmp_path: Path, influx: InfluxClient) -> None:
    broken = Rule(group="air", name="broken", kind="threshold", sensor="CO2",
                  levels={"warning": Threshold("above", None)})  # a bound the loader would refuse
    influx.write(encode_lines([reading("a", 0, 1200)]))
    result = Evaluator(influx, StateFile(tmp_path / "r.json")).evaluate(
        Group("air", 60.0, (broken, CO2)), T0 + MIN)
    assert "air/broken" in result.errors
    assert [a.rule_id for a in result.alerts] == ["air/co2-high"]


def test_a_template_bug_still_sends_the_alert(tmp_path: Path, influx: InfluxClient) -> None:
    odd = Rule(group="air", name="odd", kind="threshold", sensor="CO2",
               levels={"warning": Threshold("above", 1.0)},
               annotations={"summary": "{{ value | no_such_filter }}"})
    influx.write(encode_lines([reading("a", 0, 1200)]))
    [alert] = Evaluator(influx, StateFile(tmp_path / "r.json")).evaluate(
        Group("air", 60.0, (odd,)), T0 + MIN).alerts
    assert "template error" in alert.annotations["summary"]


QUIET = Rule(group="air", name="co2-quiet", kind="threshold", sensor="CO2", window_s=300.0,
             levels={"warning": Threshold("above", 1000.0, resolve=900.0)}, notify=("log",))


def test_only_rooms_with_something_to_say_are_stored(tmp_path: Path,
                                                     influx: InfluxClient) -> None:
    """Without a no_data policy, quiet rooms cost nothing: not stepped, not stored."""
    influx.write(encode_lines([reading("a", m, 1200) for m in range(0, 10)] +
                              [reading("a", m, 850) for m in range(10, 20)] +
                              [reading(f"q{i}", m, 500) for i in range(5) for m in range(20)]))
    state_file = StateFile(tmp_path / "rules.json")
    evaluator = Evaluator(influx, state_file)
    group = Group("air", 60.0, (QUIET,))
    assert [a.status for a in evaluator.evaluate(group, T0 + 5 * MIN).alerts] == ["firing"]
    assert state_file.load().rooms("air/co2-quiet") == ["a"]

    [resolved] = evaluator.evaluate(group, T0 + 16 * MIN).alerts
    assert (resolved.status, resolved.value, resolved.labels["room_name"]) == ("resolved", 850.0,
                                                                               "A")
    assert state_file.load().rooms("air/co2-quiet") == []
    series = influx.query('SELECT "value" FROM "rule_state" WHERE "status" = \'inactive\' '
                          'GROUP BY "room_name", "building"')
    assert [(s.tags["room_name"], s.tags["building"]) for s in series] == [("A", "HQ")]


def test_a_firing_room_that_goes_silent_keeps_firing(tmp_path: Path,
                                                     influx: InfluxClient) -> None:
    influx.write(encode_lines([reading("a", m, 1200) for m in range(0, 5)]))
    evaluator = Evaluator(influx, StateFile(tmp_path / "rules.json"))
    group = Group("air", 60.0, (QUIET,))
    evaluator.evaluate(group, T0 + 4 * MIN)
    silent = evaluator.evaluate(group, T0 + 30 * MIN)
    assert [(a.status, a.labels["room_name"]) for a in silent.alerts] == [("firing", "A")]
    assert silent.transitions == []


ROOM_HEALTH = RULES / "room-health.yaml"


def offline(minute_closed: int | None = None) -> Point:
    """Matterhorn offline since T0; cleared ``minute_closed`` later (the same point, closed)."""
    fields: dict[str, float | int | bool | str] = {
        "open": minute_closed is None, "start_ms": T0 // 10**6, "room_name": "Matterhorn"}
    if minute_closed is not None:
        fields.update(end_ms=(T0 + minute_closed * MIN) // 10**6,
                      duration_s=minute_closed * 60.0)
    return Point("room_incident", {"room_id": "m", "building": "HQ", "alert_type": "3",
                                   "component": "1"}, fields, T0)


def test_a_closed_incident_resolves_with_how_long_it_was_open(tmp_path: Path,
                                                               influx: InfluxClient) -> None:
    """Zoom's clear makes the room's value 0 s; the message still says how long it was out."""
    group = load_file(ROOM_HEALTH)
    evaluator = Evaluator(influx, StateFile(tmp_path / "rules.json"))
    influx.write(encode_lines([offline()]))
    firing = evaluator.evaluate(group, T0 + 47 * MIN).alerts
    assert [(a.rule_id, a.status, a.value) for a in firing] == [
        ("room-health/room-offline", "firing", 47 * 60.0)]
    assert firing[0].labels["unit"] == "s"

    influx.write(encode_lines([offline(minute_closed=48)]))
    resolved = evaluator.evaluate(group, T0 + 48 * MIN)
    [alert] = resolved.alerts
    assert (alert.status, alert.value) == ("resolved", 47 * 60.0)
    assert alert.annotations["summary"] == (
        "Matterhorn has been offline for 47 min (critical: open above 10 min)")
    # The state machine's own record is unchanged: it resolved on the 0 s stand-in.
    [transition] = resolved.transitions
    assert (transition.current, transition.value) == ("inactive", 0.0)


def test_hysteresis_holds_a_room_the_breach_filter_leaves_out(tmp_path: Path,
                                                              influx: InfluxClient) -> None:
    """950 ppm is below the 1,000 start line (filtered out) but above the 900 resolve line."""
    influx.write(encode_lines([reading("a", m, 1200) for m in range(0, 5)] +
                              [reading("a", m, 950) for m in range(5, 15)]))
    evaluator = Evaluator(influx, StateFile(tmp_path / "rules.json"))
    group = Group("air", 60.0, (QUIET,))
    evaluator.evaluate(group, T0 + 4 * MIN)
    held = evaluator.evaluate(group, T0 + 14 * MIN)
    assert [(a.status, a.value) for a in held.alerts] == [("firing", 950.0)]
    assert held.queries == 2        # the filtered query, then the tracked room alone


def test_many_tracked_rooms_fall_back_to_one_unfiltered_query(tmp_path: Path,
                                                              influx: InfluxClient) -> None:
    rooms = [f"r{i}" for i in range(250)]
    influx.write(encode_lines([reading(r, 0, 1200) for r in rooms] +
                              [reading(r, 6, 850) for r in rooms]))
    evaluator = Evaluator(influx, StateFile(tmp_path / "rules.json"))
    group = Group("air", 60.0, (QUIET,))
    assert len(evaluator.evaluate(group, T0 + 1 * MIN).alerts) == 250
    resolved = evaluator.evaluate(group, T0 + 7 * MIN)
    assert {(a.status, a.value) for a in resolved.alerts} == {("resolved", 850.0)}
    assert len(resolved.alerts) == 250 and resolved.queries == 2
