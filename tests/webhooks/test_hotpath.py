"""The hot events and readings: what their checks are, and that the twins match marshmallow."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from support.webhook_bodies import (
    CATALOG,
    DELETE,
    HOT,
    JUNE_19,
    MS,
    S,
    alert_body,
    flat_errors,
    messages,
    outcome,
    reading,
    sensor_body,
    variants,
)

from monitor.datamodel.measurements import ALERT_EVENTS, SENSOR_EVENT
from monitor.webhooks.hotpath import check_reading
from monitor.webhooks.schemas import reading_schema, schema_for
from monitor.webhooks.validation import flatten_errors, validate_event, validate_reading

# ------------------------------------------------------------------ alerts


@pytest.mark.parametrize("event", sorted(ALERT_EVENTS))
@pytest.mark.parametrize(
    ("given", "expected"),
    [(3, 3), ("3", 3), (" 3 ", 3), (3.0, 3), ("3.0", 3), (99, 99), (0, 0), ("-1", -1)],
)
def test_alert_codes_are_integers(event: str, given: object, expected: int) -> None:
    loaded = validate_event(event, alert_body(event, alert_type=given, component=given))
    obj = loaded["payload"]["object"]
    assert obj["alert_type"] == obj["component"] == expected
    assert obj["alert_kind"] == 1


@pytest.mark.parametrize("event", sorted(ALERT_EVENTS))
@pytest.mark.parametrize("code", ["alert_type", "component", "alert_kind"])
@pytest.mark.parametrize("bad", ["x", "", True, 3.5, [], {}, None, DELETE])
def test_alert_codes_reject_non_integers(event: str, code: str, bad: object) -> None:
    errors = flat_errors(event, alert_body(event, **{code: bad}))
    if bad is None:
        expected = "Field may not be null."
    elif bad is DELETE:
        expected = "Missing data for required field."
    else:
        expected = "Not a valid integer."
    assert errors == {f"payload.object.{code}": [expected]}


@pytest.mark.parametrize("event", sorted(ALERT_EVENTS))
@pytest.mark.parametrize(
    ("given", "expected_ns"),
    [
        (JUNE_19, JUNE_19 * S),  # seconds
        (JUNE_19 * 1000 + 5, (JUNE_19 * 1000 + 5) * MS),  # milliseconds
        (JUNE_19 + 0.5, JUNE_19 * S + S // 2),
        (str(JUNE_19), JUNE_19 * S),
        ("2024-06-19T00:00:00Z", JUNE_19 * S),
        (None, None),
        (0, None),
        ("0", None),
        ("", None),
        (DELETE, None),
    ],
)
def test_alert_time(event: str, given: object, expected_ns: int | None) -> None:
    obj = validate_event(event, alert_body(event, alert_time=given))["payload"]["object"]
    assert obj["alert_time_ns"] == expected_ns
    if given is DELETE:
        assert "alert_time" not in obj
    else:
        assert obj["alert_time"] == given


@pytest.mark.parametrize("event", sorted(ALERT_EVENTS))
@pytest.mark.parametrize("bad", ["soon", True, -1, [], {}, 10**400])
def test_alert_time_garbage_is_rejected(event: str, bad: object) -> None:
    assert flat_errors(event, alert_body(event, alert_time=bad)) == {
        "payload.object.alert_time": ["Not a valid timestamp."]
    }


def test_alert_needs_its_object() -> None:
    body = alert_body()
    del body["payload"]["object"]
    assert flat_errors("zoomroom.alert", body) == {
        "payload.object": ["Missing data for required field."]
    }
    body["payload"]["object"] = "offline"
    assert flat_errors("zoomroom.alert", body) == {"payload.object": ["Invalid input type."]}


def test_every_bad_field_is_named_at_once() -> None:
    body = alert_body(id=None, alert_type="x", component=DELETE)
    del body["payload"]["account_id"]
    body["event_ts"] = "yesterday"
    assert messages(lambda: validate_event("zoomroom.alert", body)) == {
        "event_ts": ["Not a valid timestamp."],
        "payload": {
            "account_id": ["Missing data for required field."],
            "object": {
                "id": ["Field may not be null."],
                "alert_type": ["Not a valid integer."],
                "component": ["Missing data for required field."],
            },
        },
    }


# -------------------------------------------------------------- sensor data


def test_sensor_event_is_accepted_and_readings_left_for_later() -> None:
    body = sensor_body()
    body["payload"]["object"]["sensor_data"][3]["sensor_value"] = "not a number"
    body["payload"]["object"]["sensor_data"][4] = {"anything": "goes"}
    loaded = validate_event(SENSOR_EVENT, body)
    assert loaded["event_ts_ns"] == (JUNE_19 * 1000 + 123) * MS
    obj = loaded["payload"]["object"]
    assert obj["sensor_data"] == body["payload"]["object"]["sensor_data"]
    assert obj["sensor_data"][0] is not body["payload"]["object"]["sensor_data"][0]
    assert (obj["id"], obj["room_name"], obj["device_id"]) == ("room-1", "Everest", "dev-1")


def test_sensor_event_room_name_may_be_empty_but_must_be_a_string() -> None:
    assert validate_event(SENSOR_EVENT, sensor_body(room_name=""))
    assert flat_errors(SENSOR_EVENT, sensor_body(room_name=5)) == {
        "payload.object.room_name": ["Not a valid string."]
    }
    assert flat_errors(SENSOR_EVENT, sensor_body(room_name=None)) == {
        "payload.object.room_name": ["Field may not be null."]
    }


@pytest.mark.parametrize("key", ["id", "room_name", "device_id", "sensor_data"])
def test_sensor_event_required_fields(key: str) -> None:
    body = sensor_body()
    del body["payload"]["object"][key]
    assert flat_errors(SENSOR_EVENT, body) == {
        f"payload.object.{key}": ["Missing data for required field."]
    }


def test_sensor_event_device_id_may_be_an_int() -> None:
    loaded = validate_event(SENSOR_EVENT, sensor_body(device_id=42, id=7))
    assert loaded["payload"]["object"]["device_id"] == "42"
    assert loaded["payload"]["object"]["id"] == "7"


def test_sensor_data_must_be_a_list_of_objects() -> None:
    assert flat_errors(SENSOR_EVENT, sensor_body(sensor_data="CO2=400")) == {
        "payload.object.sensor_data": ["Not a valid list."]
    }
    assert flat_errors(SENSOR_EVENT, sensor_body(sensor_data=None)) == {
        "payload.object.sensor_data": ["Field may not be null."]
    }
    assert flat_errors(SENSOR_EVENT, sensor_body(sensor_data=[{}, 5, None, {}])) == {
        "payload.object.sensor_data.1": ["Not a valid mapping type."],
        "payload.object.sensor_data.2": ["Field may not be null."],
    }
    loaded = validate_event(SENSOR_EVENT, sensor_body(sensor_data=[]))
    assert loaded["payload"]["object"]["sensor_data"] == []


# ----------------------------------------------------------------- readings


@pytest.mark.parametrize(
    ("changes", "time_ns", "value"),
    [
        ({}, JUNE_19 * S, 812.0),
        ({"sensor_value": 21.5}, JUNE_19 * S, 21.5),
        ({"sensor_value": 3}, JUNE_19 * S, 3.0),
        ({"sensor_value": " -4.25 "}, JUNE_19 * S, -4.25),
        ({"sensor_value": "1e3"}, JUNE_19 * S, 1000.0),
        ({"date_time": JUNE_19 * 1000}, JUNE_19 * S, 812.0),
        ({"date_time": JUNE_19}, JUNE_19 * S, 812.0),
        ({"date_time": str(JUNE_19 * 1000)}, JUNE_19 * S, 812.0),
        ({"date_time": "2024-06-19T00:00:00.250Z"}, JUNE_19 * S + 250 * MS, 812.0),
    ],
)
def test_good_readings(changes: dict[str, Any], time_ns: int, value: float) -> None:
    given = reading(**changes)
    loaded = validate_reading(given)
    assert loaded["time_ns"] == time_ns
    assert loaded["value"] == value
    assert isinstance(loaded["value"], float)
    assert loaded["date_time"] == given["date_time"]  # kept as given
    assert loaded["sensor_value"] == given["sensor_value"]  # likewise


@pytest.mark.parametrize("kind", ["co2", "NOISE_LEVEL", " illuminance "])
def test_any_sensor_type_is_accepted_upper_cased(kind: str) -> None:
    assert validate_reading(reading(sensor_type=kind))["sensor_type"] == kind.strip().upper()


def test_reading_keeps_unknown_keys_and_does_not_mutate() -> None:
    given = reading(unit="ppm")
    before = dict(given)
    loaded = validate_reading(given)
    assert given == before
    assert loaded["unit"] == "ppm"


@pytest.mark.parametrize(
    ("key", "bad", "message"),
    [
        ("sensor_value", "", "Not a valid number."),
        ("sensor_value", "high", "Not a valid number."),
        ("sensor_value", "nan", "Not a valid number."),
        ("sensor_value", "inf", "Not a valid number."),
        ("sensor_value", float("inf"), "Not a valid number."),
        ("sensor_value", 10**400, "Not a valid number."),
        ("sensor_value", True, "Not a valid number."),
        ("sensor_value", [1], "Not a valid number."),
        ("sensor_value", None, "Field may not be null."),
        ("sensor_value", DELETE, "Missing data for required field."),
        ("date_time", "", "Not a valid timestamp."),
        ("date_time", "yesterday", "Not a valid timestamp."),
        ("date_time", 0, "Not a valid timestamp."),
        ("date_time", False, "Not a valid timestamp."),
        ("date_time", None, "Field may not be null."),
        ("date_time", DELETE, "Missing data for required field."),
        ("sensor_type", "", "Must not be empty."),
        ("sensor_type", "  ", "Must not be empty."),
        ("sensor_type", 5, "Not a valid string."),
        ("sensor_type", None, "Field may not be null."),
        ("sensor_type", DELETE, "Missing data for required field."),
    ],
)
def test_bad_readings_name_the_field(key: str, bad: object, message: str) -> None:
    assert messages(lambda: validate_reading(reading(**{key: bad}))) == {key: [message]}


def test_bad_reading_names_every_field_and_non_objects() -> None:
    assert flatten_errors(messages(lambda: validate_reading({}))) == {
        "date_time": ["Missing data for required field."],
        "sensor_type": ["Missing data for required field."],
        "sensor_value": ["Missing data for required field."],
    }
    assert messages(lambda: validate_reading("CO2=400")) == {"_schema": ["Invalid input type."]}


# ------------------------------------ hot path twins agree with marshmallow


@pytest.mark.parametrize("event", HOT)
def test_hot_path_matches_the_marshmallow_schema(event: str) -> None:
    bodies = [copy.deepcopy(CATALOG["events"][event]["example"])]
    bodies.append(sensor_body() if event == SENSOR_EVENT else alert_body(event))
    bodies.append(sensor_body(sensor_data=[{}, 1, None]))
    bodies.extend([[], "x", None, {}])
    checked = 0
    for base in bodies:
        for body in variants(base) if isinstance(base, dict) else [base]:
            fast = outcome(lambda body=body: validate_event(event, body))  # type: ignore[misc]
            slow = outcome(lambda body=body: schema_for(event).load(body))  # type: ignore[misc]
            assert fast == slow, body
            checked += 1
    assert checked > 200


def test_reading_twin_matches_the_marshmallow_schema() -> None:
    values: list[object] = [DELETE, None, True, "12", 12, 0, "", "  ", [], {}, "nan", "co2"]
    values += ["2024-06-19T00:00:00Z", JUNE_19 * 1000, 10**400, "1e400"]
    bodies: list[object] = [reading(), {}, "x", None, [], reading(extra=1)]
    for key in ("date_time", "sensor_type", "sensor_value"):
        bodies.extend(reading(**{key: value}) for value in values)
    for body in bodies:
        fast = outcome(lambda body=body: validate_reading(body))  # type: ignore[misc]
        slow = outcome(lambda body=body: reading_schema().load(body))  # type: ignore[misc]
        assert fast == slow, body
        loaded, problems = check_reading(body)
        assert (("ok", loaded) if problems is None else ("error", problems)) == slow, body
