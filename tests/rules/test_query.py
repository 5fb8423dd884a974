"""Rule queries against a real influxd: one query per rule, a value per room."""

from __future__ import annotations

from monitor.datamodel.points import Point, encode_lines
from monitor.rules.model import IncidentMatch, Rule, Threshold
from monitor.rules.query import build_query, samples
from monitor.store.influx import InfluxClient

T0 = 1_793_527_200 * 10**9          # 2026-11-01T10:00:00Z
MIN = 60 * 10**9
ABOVE_1000 = {"warning": Threshold("above", 1000.0)}


def rule(**kwargs: object) -> Rule:
    defaults: dict[str, object] = {"group": "g", "name": "r", "kind": "threshold",
                                   "levels": ABOVE_1000, "sensor": "CO2", "window_s": 600.0}
    return Rule(**{**defaults, **kwargs})  # type: ignore[arg-type]


def seed(influx: InfluxClient, rooms: dict[str, list[float]], *, sensor: str = "CO2",
         building: str = "HQ") -> None:
    points = [Point("sensor", {"room_id": room, "room_name": room.title(), "building": building,
                               "sensor_type": sensor}, {"value": value}, T0 + i * 5 * MIN)
              for room, values in rooms.items() for i, value in enumerate(values)]
    influx.write(encode_lines(points))


def run(influx: InfluxClient, r: Rule, at_ns: int) -> dict[str, float]:
    return {room: s.value for room, s in samples(r, influx.query(build_query(r, at_ns)),
                                                  at_ns).items()}


def test_mean_over_the_window_per_room(influx: InfluxClient) -> None:
    seed(influx, {"a": [800, 1000, 1200], "b": [400, 400, 400]})
    at = T0 + 10 * MIN
    assert run(influx, rule(), at) == {"a": 1100.0, "b": 400.0}  # window is (at-10m, at]
    assert run(influx, rule(window_s=300.0), at) == {"a": 1200.0, "b": 400.0}


def test_each_aggregate(influx: InfluxClient) -> None:
    seed(influx, {"a": [100, 300, 200]})
    at = T0 + 10 * MIN
    expected = {"max": 300.0, "min": 100.0, "last": 200.0, "count": 3.0, "p95": 300.0}
    for aggregate, value in expected.items():
        assert run(influx, rule(aggregate=aggregate, window_s=3600.0), at) == {"a": value}


def test_where_filters_by_tag(influx: InfluxClient) -> None:
    seed(influx, {"a": [900]}, building="HQ")
    seed(influx, {"b": [900]}, building="Annex")
    assert run(influx, rule(where={"building": "Annex"}), T0 + MIN) == {"b": 900.0}


def test_rate_is_the_change_within_the_window(influx: InfluxClient) -> None:
    seed(influx, {"a": [500, 650, 900], "b": [900, 800, 700]})
    r = rule(kind="rate", window_s=15 * 60.0)
    assert run(influx, r, T0 + 10 * MIN) == {"a": 400.0, "b": -200.0}


def test_a_rate_needs_two_readings_in_the_window(influx: InfluxClient) -> None:
    seed(influx, {"a": [500, 650, 900, 1300], "b": [900]})
    r = rule(kind="rate", window_s=4 * 60.0)          # (at-4m, at]: one reading each
    assert run(influx, r, T0 + 15 * MIN) == {}
    assert run(influx, rule(kind="rate", window_s=11 * 60.0), T0 + 15 * MIN) == {"a": 650.0}
    assert _filtered(influx, rule(kind="rate", window_s=20 * 60.0, levels={
        "info": Threshold("above", 500.0)}), T0 + 15 * MIN, breaching_only=True) == {"a": 800.0}


def test_silent_is_seconds_since_the_last_reading(influx: InfluxClient) -> None:
    seed(influx, {"a": [500, 500], "b": [500]})
    r = rule(kind="no_data", levels={"warning": Threshold("above", 1200.0)})
    assert run(influx, r, T0 + 30 * MIN) == {"a": 25 * 60.0, "b": 30 * 60.0}


def test_incident_is_seconds_open_for_matching_alerts(influx: InfluxClient) -> None:
    def incident(room: str, alert_type: int, start_min: int, is_open: bool) -> Point:
        return Point("room_incident", {"room_id": room, "alert_type": str(alert_type),
                                       "component": "1"},
                     {"open": is_open, "start_ms": (T0 + start_min * MIN) // 10**6,
                      "room_name": room.title()}, T0 + start_min * MIN)

    influx.write(encode_lines([incident("a", 3, 0, True), incident("b", 3, 5, False),
                               incident("c", 1, 0, True), incident("d", 3, 20, True)]))
    r = rule(kind="incident", incident=IncidentMatch(alert_type=3), sensor=None)
    found = samples(r, influx.query(build_query(r, T0 + 15 * MIN)), T0 + 15 * MIN)
    assert {room: s.value for room, s in found.items()} == {"a": 15 * 60.0}
    assert found["a"].tags["room_name"] == "A"


def test_query_count_does_not_grow_with_rooms(influx: InfluxClient) -> None:
    seed(influx, {f"room-{i}": [500 + i] for i in range(200)})
    assert len(run(influx, rule(), T0 + MIN)) == 200  # one query, 200 rooms


def _filtered(influx: InfluxClient, r: Rule, at_ns: int, **kwargs: object) -> dict[str, float]:
    query = build_query(r, at_ns, **kwargs)  # type: ignore[arg-type]
    return {room: s.value for room, s in samples(r, influx.query(query), at_ns).items()}


def test_breach_filter_returns_only_rooms_that_start_a_level(influx: InfluxClient) -> None:
    seed(influx, {"hot": [30.0], "cold": [15.0], "fine": [22.0], "edge": [27.5]},
         sensor="TEMPERATURE")
    band = rule(sensor="TEMPERATURE", levels={
        "warning": Threshold("outside", low=19.5, high=27.5, resolve_low=20, resolve_high=27)})
    assert _filtered(influx, band, T0, breaching_only=True) == {"hot": 30.0, "cold": 15.0}
    inside = rule(sensor="TEMPERATURE", levels={"info": Threshold("inside", low=20, high=28)})
    assert _filtered(influx, inside, T0, breaching_only=True) == {"fine": 22.0, "edge": 27.5}
    two = rule(sensor="TEMPERATURE", levels={"info": Threshold("below", 16.0),
                                             "critical": Threshold("above", 29.0)})
    assert _filtered(influx, two, T0, breaching_only=True) == {"hot": 30.0, "cold": 15.0}


def test_room_filter_takes_ids_with_regex_characters(influx: InfluxClient) -> None:
    odd = {"a.b/c(1)": [900.0], "a-b+c": [800.0], "axb/c(1)": [700.0]}
    seed(influx, odd)
    assert _filtered(influx, rule(), T0, rooms={"a.b/c(1)", "a-b+c"}) == {
        "a.b/c(1)": 900.0, "a-b+c": 800.0}


def seed_receiver(influx: InfluxClient, field: str, values: list[int]) -> None:
    influx.write(encode_lines([Point("zrmon_receiver", {}, {field: value}, T0 + i * MIN)
                               for i, value in enumerate(values)]))


def test_a_receiver_rate_is_one_fleet_wide_sum(influx: InfluxClient) -> None:
    seed_receiver(influx, "signature_failures", [0, 3, 4, 0, 5])
    refused = rule(kind="rate", sensor=None, receiver="signature_failures", window_s=180.0,
                   levels={"warning": Threshold("above", 6.0)})
    at = T0 + 4 * MIN                         # (1m, 4m]: 4 + 0 + 5
    found = samples(refused, influx.query(build_query(refused, at)), at)
    assert {room: (s.value, s.tags) for room, s in found.items()} == {
        "fleet": (9.0, {"room_name": "all rooms"})}
    breaching = build_query(refused, at, breaching_only=True)
    assert "> 6.0" in breaching
    assert run(influx, refused, at) == {"fleet": 9.0}
    assert samples(refused, influx.query(breaching), at)["fleet"].value == 9.0
    early = T0 + MIN                          # (-2m, 1m]: 0 + 3, not above 6
    assert samples(refused, influx.query(build_query(refused, early, breaching_only=True)),
                   early) == {}
    # a tracked "room" is asked for as the fleet, whatever the room filter says
    assert build_query(refused, at, rooms={"fleet"}) == build_query(refused, at)


def test_a_receiver_silence_counts_from_the_last_interval_that_counted(
        influx: InfluxClient) -> None:
    seed_receiver(influx, "deliveries", [5, 2, 0, 0, 0])     # written every minute
    quiet = rule(kind="no_data", sensor=None, receiver="deliveries",
                 levels={"critical": Threshold("above", 1800.0)})
    assert run(influx, quiet, T0 + 10 * MIN) == {"fleet": 9 * 60.0}
    assert run(influx, quiet, T0) == {"fleet": 0.0}
