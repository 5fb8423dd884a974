"""Event → points, pure: the points are the assertion."""

from __future__ import annotations

from support.events import alert_event, sensor_event
from support.mapping import run

from monitor.ingest.mapping import IngestState


def test_sensor_event_gives_one_point_per_reading() -> None:
    points = run(sensor_event())
    assert len(points) == 9
    co2 = next(p for p in points if p.tags["sensor_type"] == "CO2")
    assert co2.measurement == "sensor"
    people = next(p for p in points if p.tags["sensor_type"] == "REAL_TIME_PEOPLE_COUNT")
    assert co2.fields == {"value": 812.0, "people": people.fields["value"]}
    assert co2.time_ns == 1_793_527_200_000_000_000  # 2026-11-01T10:00:00Z
    assert co2.tags == {"account_id": "acct-1", "room_id": "room-1", "room_name": "Everest",
                        "device_id": "dev-1", "sensor_type": "CO2"}


def test_readings_carry_the_people_count_reported_nearest_in_time() -> None:
    event = sensor_event(readings=[
        {"date_time": "2026-11-01T10:00:00Z", "sensor_type": "REAL_TIME_PEOPLE_COUNT",
         "sensor_value": "0"},
        {"date_time": "2026-11-01T10:04:00Z", "sensor_type": "REAL_TIME_PEOPLE_COUNT",
         "sensor_value": "4"},
        {"date_time": "2026-11-01T10:03:00Z", "sensor_type": "CO2", "sensor_value": "900"},
        {"date_time": "2026-11-01T10:20:00Z", "sensor_type": "CO2", "sensor_value": "700"},
    ])
    co2 = [p.fields for p in run(event) if p.tags["sensor_type"] == "CO2"]
    assert co2 == [{"value": 900.0, "people": 4.0}, {"value": 700.0}]


def test_unknown_sensor_type_is_kept() -> None:
    event = sensor_event(readings=[{"date_time": "2026-11-01T10:00:00Z",
                                    "sensor_type": "NOISE", "sensor_value": "41"}])
    [point] = run(event)
    assert point.tags["sensor_type"] == "NOISE"


def test_sensor_points_carry_building_and_floor_once_known() -> None:
    state = IngestState()
    for event in (
        {"event": "zoomroom.location_created", "event_ts": 1, "payload": {
            "account_id": "a", "operator": "o", "operator_id": "o",
            "object": {"id": "b1", "name": "HQ", "type": "building", "parent_location_id": ""}}},
        {"event": "zoomroom.location_created", "event_ts": 2, "payload": {
            "account_id": "a", "operator": "o", "operator_id": "o",
            "object": {"id": "f3", "name": "3rd floor", "type": "floor",
                       "parent_location_id": "b1"}}},
        {"event": "zoomroom.created", "event_ts": 3, "payload": {
            "account_id": "a", "object": {"id": "room-1", "room_name": "Everest",
                                          "location_id": "f3"}}},
    ):
        annotation = run(event, state)
        assert annotation[0].measurement == "zoom_event"
    co2 = run(sensor_event(), state)[0]
    assert co2.tags["building"] == "HQ"
    assert co2.tags["floor"] == "3rd floor"


def test_alert_gives_room_alert_and_opens_then_closes_an_incident() -> None:
    state = IngestState()
    opened = run(alert_event(1, 1_793_527_200), state)
    assert [p.measurement for p in opened] == ["room_alert", "room_incident"]
    alert, incident = opened
    assert alert.tags["alert_kind"] == "triggered"
    assert alert.tags["alert_name"] == "room_offline"
    assert alert.time_ns == 1_793_527_200 * 10**9
    assert incident.fields["open"] is True
    closed = run(alert_event(2, 1_793_527_200_000 + 47 * 60_000), state)  # milliseconds
    incident = closed[1]
    assert incident.time_ns == 1_793_527_200 * 10**9
    assert incident.fields["open"] is False
    assert incident.fields["duration_s"] == 47 * 60.0
    assert state.incidents.open_incidents() == []


def test_same_alert_via_alert_and_delayed_alert_is_one_incident() -> None:
    state = IngestState()
    first = run(alert_event(1, 1_793_527_200), state)
    again = run(alert_event(1, 1_793_527_200, name="zoomroom.delayed_alert"), state)
    assert first[0] == again[0]  # same room_alert point: overwrites, adds nothing
    assert [p.measurement for p in again] == ["room_alert"]
    assert len(state.incidents.open_incidents()) == 1


def test_observed_alert_never_opens_an_incident() -> None:
    state = IngestState()
    points = run(alert_event(3, 1_793_527_200, alert_type=8, component=4), state)
    assert [p.measurement for p in points] == ["room_alert"]
    assert points[0].tags["alert_kind"] == "observed"
    assert state.incidents.open_incidents() == []


def test_missing_alert_time_falls_back_to_event_ts() -> None:
    event = alert_event(1, None, event_ts="2026-11-01T10:00:00Z")
    assert run(event)[0].time_ns == 1_793_527_200 * 10**9


def test_annotation_has_title_ids_and_a_content_spread_timestamp() -> None:
    event = {"event": "zoomroom.checked_in", "event_ts": "1793527200123",
             "payload": {"account_id": "a", "object": {"id": "room-1", "room_name": "Everest",
                                                       "event_id": "ev1"}}}
    [point] = run(event, digest=123_456_789)
    assert point.measurement == "zoom_event"
    assert point.fields["title"] == "Checked in: Everest"
    assert point.tags["event"] == "zoomroom.checked_in"
    assert point.tags["room_id"] == "room-1"
    assert point.time_ns == 1_793_527_200_123_000_000 + 123_456_789 % 1_000_000
    [other] = run(event, digest=987_654_321)
    assert other.time_ns != point.time_ns


def test_every_catalog_event_maps_to_points() -> None:
    from monitor.webhooks.catalog import load_catalog

    for name, spec in load_catalog()["events"].items():
        example = dict(spec["example"], event=name)
        if name == "zoomroom.sensor_data":
            example["payload"]["object"]["sensor_data"][0]["sensor_value"] = "400"
        points = run(example)
        assert points, name
