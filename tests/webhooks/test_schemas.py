"""Validation policy: strict about what storage needs, lenient about the rest."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from marshmallow import ValidationError

from monitor.webhooks.catalog import load_catalog
from monitor.webhooks.schemas import (
    ALERT_EVENTS,
    SENSOR_DATA_EVENT,
    check_reading,
    flatten_errors,
    reading_schema,
    schema_for,
    validate_event,
    validate_reading,
)

CATALOG = load_catalog()
S = 1_000_000_000  # ns per second
MS = 1_000_000  # ns per millisecond
JUNE_19 = 1_718_755_200  # 2024-06-19T00:00:00Z in seconds
SENSOR_TYPES = [
    "CO2",
    "TEMPERATURE",
    "REAL_TIME_PEOPLE_COUNT",
    "HUMIDITY",
    "VOC",
    "AQI",
    "PM25",
    "PM10",
    "AIR_PRESSURE",
]
HOT = sorted({SENSOR_DATA_EVENT, *ALERT_EVENTS})


def sensor_body(**object_changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": "room-1",
        "room_name": "Everest",
        "device_id": "dev-1",
        "sensor_data": [
            {
                "date_time": "2024-06-19T00:00:00Z",
                "sensor_type": kind,
                "sensor_value": str(400 + i),
            }
            for i, kind in enumerate(SENSOR_TYPES)
        ],
    }
    obj.update(object_changes)
    return {
        "event": SENSOR_DATA_EVENT,
        "event_ts": JUNE_19 * 1000 + 123,
        "payload": {"account_id": "acct-1", "object": obj},
    }


def alert_body(event: str = "zoomroom.alert", **object_changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": "room-1",
        "room_name": "Everest",
        "calendar_name": "",
        "email": "everest@example.com",
        "issue": "Zoom room is offline",
        "alert_type": 3,
        "component": 1,
        "alert_time": JUNE_19,
        "alert_kind": 1,
    }
    obj.update(object_changes)
    for key in [k for k, v in obj.items() if v is DELETE]:
        del obj[key]
    return {
        "event": event,
        "event_ts": JUNE_19 * 1000,
        "payload": {"account_id": "a", "object": obj},
    }


def reading(**changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "date_time": "2024-06-19T00:00:00Z",
        "sensor_type": "CO2",
        "sensor_value": "812",
    }
    out.update(changes)
    for key in [k for k, v in out.items() if v is DELETE]:
        del out[key]
    return out


DELETE: Any = object()


def messages(call: Callable[[], object]) -> dict[str, Any]:
    with pytest.raises(ValidationError) as info:
        call()
    assert isinstance(info.value.messages, dict)
    return info.value.messages


def flat_errors(event: str, data: object) -> dict[str, list[str]]:
    return flatten_errors(messages(lambda: validate_event(event, data)))


# ---------------------------------------------------------------- envelope


@pytest.mark.parametrize(
    ("event_ts", "expected_ns"),
    [
        (JUNE_19 * 1000 + 123, (JUNE_19 * 1000 + 123) * MS),  # int64 ms, as most events declare
        (str(JUNE_19 * 1000 + 123), (JUNE_19 * 1000 + 123) * MS),  # quoted number
        ("2024-06-19T00:00:00Z", JUNE_19 * S),  # date-time, as workspace events declare
        ("2024-06-19T02:00:00+02:00", JUNE_19 * S),
        (JUNE_19, JUNE_19 * S),  # seconds are told apart by magnitude
        ("", None),  # the seed's placeholder
        (None, None),
    ],
)
@pytest.mark.parametrize(
    "event", ["zoomroom.sensor_data", "zoomroom.updated", "zoomroom.new_thing"]
)
def test_event_ts_shapes(event: str, event_ts: object, expected_ns: int | None) -> None:
    body = sensor_body()
    body["event"] = event
    body["event_ts"] = event_ts
    loaded = validate_event(event, body)
    assert loaded["event_ts_ns"] == expected_ns
    assert loaded["event_ts"] == event_ts  # kept as given


@pytest.mark.parametrize("bad", ["yesterday", True, {}, [], -5, "2024-13-45T00:00:00Z", 10**400])
@pytest.mark.parametrize(
    "event", ["zoomroom.sensor_data", "zoomroom.updated", "zoomroom.new_thing"]
)
def test_event_ts_garbage_is_rejected(event: str, bad: object) -> None:
    body = sensor_body()
    body["event_ts"] = bad
    assert flat_errors(event, body) == {"event_ts": ["Not a valid timestamp."]}


@pytest.mark.parametrize(
    "event", ["zoomroom.sensor_data", "zoomroom.updated", "zoomroom.new_thing"]
)
def test_envelope_requires_event_event_ts_and_payload(event: str) -> None:
    assert flat_errors(event, {}) == {
        "event": ["Missing data for required field."],
        "event_ts": ["Missing data for required field."],
        "payload": ["Missing data for required field."],
    }
    body = sensor_body()
    body["event"] = 7
    body["payload"] = ["not", "an", "object"]
    errors = flat_errors(event, body)
    assert errors["event"] == ["Not a valid string."]
    assert "payload" in errors


@pytest.mark.parametrize("event", ["zoomroom.sensor_data", "zoomroom.alert", "zoomroom.new_thing"])
def test_non_object_body_is_rejected(event: str) -> None:
    assert messages(lambda: validate_event(event, ["x"])) == {"_schema": ["Invalid input type."]}
    assert flatten_errors({"_schema": ["Invalid input type."]}) == {
        "_schema": ["Invalid input type."]
    }


def test_empty_event_name_is_fine() -> None:
    body = sensor_body()
    body["event"] = ""
    assert validate_event(SENSOR_DATA_EVENT, body)["event"] == ""


@pytest.mark.parametrize("event", sorted(CATALOG["events"]))
def test_account_id_is_required_for_known_events(event: str) -> None:
    body = copy.deepcopy(CATALOG["events"][event]["example"])
    del body["payload"]["account_id"]
    assert flat_errors(event, body) == {"payload.account_id": ["Missing data for required field."]}


def test_unknown_event_gets_the_envelope_only() -> None:
    body = {
        "event": "zoomroom.brand_new",
        "event_ts": "1718755200000",
        "payload": {"whatever": [1, 2], "object": "not even an object"},
        "extra": True,
    }
    loaded = validate_event("zoomroom.brand_new", body)
    assert loaded == {**body, "event_ts_ns": JUNE_19 * S}
    assert flat_errors("zoomroom.brand_new", {**body, "payload": "x"}) == {
        "payload": ["Not a valid mapping type."]
    }


@pytest.mark.parametrize("event", ["zoomroom.updated", SENSOR_DATA_EVENT, "zoomroom.alert", "x.y"])
def test_unknown_keys_are_kept_and_input_is_not_mutated(event: str) -> None:
    body = alert_body() if event == "zoomroom.alert" else sensor_body()
    body["event"] = event
    body["top_extra"] = {"nested": [1]}
    body["payload"]["payload_extra"] = "p"
    body["payload"]["object"]["object_extra"] = None
    body["payload"]["object"]["room_name"] = "Everest"
    before = copy.deepcopy(body)
    loaded = validate_event(event, body)
    assert body == before
    assert loaded["top_extra"] == {"nested": [1]}
    assert loaded["payload"]["payload_extra"] == "p"
    assert loaded["payload"]["object"]["object_extra"] is None
    assert loaded is not body
    assert loaded["payload"] is not body["payload"]


def test_lenient_fields_may_have_any_type() -> None:
    body = alert_body(email=42, issue={"text": "offline"}, calendar_name=None, room_name=[1])
    loaded = validate_event("zoomroom.alert", body)
    assert loaded["payload"]["object"]["issue"] == {"text": "offline"}
    location = copy.deepcopy(CATALOG["events"]["zoomroom.location_created"]["example"])
    location["payload"]["object"]["type"] = "planet"  # outside the documented enum
    location["payload"]["operator"] = 12
    assert validate_event("zoomroom.location_created", location)["payload"]["object"]["type"] == (
        "planet"
    )


# --------------------------------------------------------------------- ids


def required_id_paths() -> list[tuple[str, str]]:
    """Every (event, path) of an id the seed marks required, outside arrays."""
    out = []
    for name, spec in CATALOG["events"].items():
        for field in spec["fields"]:
            leaf = field["path"].rsplit(".", 1)[-1]
            if (
                field["required"]
                and "[]" not in field["path"]
                and (leaf == "id" or leaf.endswith("_id"))
            ):
                out.append((name, field["path"]))
    return out


def test_there_are_ids_to_check() -> None:
    paths = required_id_paths()
    assert ("zoomroom.sensor_data", "payload.object.device_id") in paths
    assert ("workspace.reservation_created", "payload.operator_id") in paths
    assert len(paths) > 60


def _drop(body: dict[str, Any], path: str) -> None:
    *parents, leaf = path.split(".")
    node = body
    for part in parents:
        node = node[part]
    del node[leaf]


def _put(body: dict[str, Any], path: str, value: object) -> None:
    *parents, leaf = path.split(".")
    node = body
    for part in parents:
        node = node[part]
    node[leaf] = value


@pytest.mark.parametrize(("event", "path"), required_id_paths())
def test_missing_required_id_is_named(event: str, path: str) -> None:
    body = copy.deepcopy(CATALOG["events"][event]["example"])
    _drop(body, path)
    assert flat_errors(event, body) == {path: ["Missing data for required field."]}


@pytest.mark.parametrize(("event", "path"), required_id_paths())
def test_required_id_types(event: str, path: str) -> None:
    body = copy.deepcopy(CATALOG["events"][event]["example"])
    _put(body, path, 12345)
    loaded = validate_event(event, body)
    _put(body, path, "12345")
    assert loaded == validate_event(event, body)  # ints become strings
    for bad in (True, {"id": 1}, ["x"], 1.5):
        _put(body, path, bad)
        assert flat_errors(event, body) == {path: ["Not a valid string."]}, bad
    _put(body, path, None)
    assert flat_errors(event, body) == {path: ["Field may not be null."]}
    _put(body, path, "")
    validate_event(event, body)  # the seed's placeholder


def test_ids_inside_arrays_are_checked_per_item() -> None:
    event = "workspace.reservation_questionnaire_response_created"
    body = copy.deepcopy(CATALOG["events"][event]["example"])
    questionnaire = body["payload"]["object"]["questionnaire_response"]
    questionnaire.append(copy.deepcopy(questionnaire[0]))
    del questionnaire[1]["list"][0]["options"][0]["option_id"]
    questionnaire[0]["id"] = 7
    assert flat_errors(event, body) == {
        "payload.object.questionnaire_response.1.list.0.options.0.option_id": [
            "Missing data for required field."
        ]
    }
    del questionnaire[1]
    loaded = validate_event(event, body)
    assert loaded["payload"]["object"]["questionnaire_response"][0]["id"] == "7"
    # The array itself may be absent or null: there is nothing to store then.
    body["payload"]["object"]["questionnaire_response"] = None
    validate_event(event, body)
    del body["payload"]["object"]["questionnaire_response"]
    validate_event(event, body)


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


# -------------------------------------------------------------- other times


@pytest.mark.parametrize(
    ("event", "path", "given", "expected_ns"),
    [
        ("workspace.reservation_created", "start_time", "2024-06-19T00:00:00Z", JUNE_19 * S),
        ("workspace.reservation_created", "end_time", "2024-06-19T00:00:00", JUNE_19 * S),
        ("workspace.reservation_created", "start_time", "", None),
        ("workspace.reservation_created", "start_time", None, None),
        ("visitor_management.checked_in", "start_time", JUNE_19 * 1000, JUNE_19 * S),
        ("visitor_management.checked_in", "end_time", str(JUNE_19), JUNE_19 * S),
        ("visitor_management.checked_in", "end_time", 0, None),
        ("zoomroom.thirdparty_meeting_attempted", "join_time", "2024-06-19T00:00:00Z", JUNE_19 * S),
    ],
)
def test_time_fields_get_ns_beside_them(
    event: str, path: str, given: object, expected_ns: int | None
) -> None:
    body = copy.deepcopy(CATALOG["events"][event]["example"])
    body["payload"]["object"][path] = given
    obj = validate_event(event, body)["payload"]["object"]
    assert obj[path] == given
    assert obj[f"{path}_ns"] == expected_ns


@pytest.mark.parametrize(
    ("event", "path"),
    [
        ("workspace.reservation_created", "start_time"),
        ("visitor_management.checked_in", "end_time"),
        ("zoomroom.thirdparty_meeting_attempted", "join_time"),
    ],
)
def test_time_fields_are_optional_but_must_parse(event: str, path: str) -> None:
    body = copy.deepcopy(CATALOG["events"][event]["example"])
    body["payload"]["object"].pop(path, None)
    obj = validate_event(event, body)["payload"]["object"]
    assert path not in obj
    assert f"{path}_ns" not in obj
    for bad in ("next tuesday", True, {"t": 1}):
        body["payload"]["object"][path] = bad
        assert flat_errors(event, body) == {f"payload.object.{path}": ["Not a valid timestamp."]}


# -------------------------------------------------------------- sensor data


def test_sensor_event_is_accepted_and_readings_left_for_later() -> None:
    body = sensor_body()
    body["payload"]["object"]["sensor_data"][3]["sensor_value"] = "not a number"
    body["payload"]["object"]["sensor_data"][4] = {"anything": "goes"}
    loaded = validate_event(SENSOR_DATA_EVENT, body)
    assert loaded["event_ts_ns"] == (JUNE_19 * 1000 + 123) * MS
    obj = loaded["payload"]["object"]
    assert obj["sensor_data"] == body["payload"]["object"]["sensor_data"]
    assert obj["sensor_data"][0] is not body["payload"]["object"]["sensor_data"][0]
    assert (obj["id"], obj["room_name"], obj["device_id"]) == ("room-1", "Everest", "dev-1")


def test_sensor_event_room_name_may_be_empty_but_must_be_a_string() -> None:
    assert validate_event(SENSOR_DATA_EVENT, sensor_body(room_name=""))
    assert flat_errors(SENSOR_DATA_EVENT, sensor_body(room_name=5)) == {
        "payload.object.room_name": ["Not a valid string."]
    }
    assert flat_errors(SENSOR_DATA_EVENT, sensor_body(room_name=None)) == {
        "payload.object.room_name": ["Field may not be null."]
    }


@pytest.mark.parametrize("key", ["id", "room_name", "device_id", "sensor_data"])
def test_sensor_event_required_fields(key: str) -> None:
    body = sensor_body()
    del body["payload"]["object"][key]
    assert flat_errors(SENSOR_DATA_EVENT, body) == {
        f"payload.object.{key}": ["Missing data for required field."]
    }


def test_sensor_event_device_id_may_be_an_int() -> None:
    loaded = validate_event(SENSOR_DATA_EVENT, sensor_body(device_id=42, id=7))
    assert loaded["payload"]["object"]["device_id"] == "42"
    assert loaded["payload"]["object"]["id"] == "7"


def test_sensor_data_must_be_a_list_of_objects() -> None:
    assert flat_errors(SENSOR_DATA_EVENT, sensor_body(sensor_data="CO2=400")) == {
        "payload.object.sensor_data": ["Not a valid list."]
    }
    assert flat_errors(SENSOR_DATA_EVENT, sensor_body(sensor_data=None)) == {
        "payload.object.sensor_data": ["Field may not be null."]
    }
    assert flat_errors(SENSOR_DATA_EVENT, sensor_body(sensor_data=[{}, 5, None, {}])) == {
        "payload.object.sensor_data.1": ["Not a valid mapping type."],
        "payload.object.sensor_data.2": ["Field may not be null."],
    }
    loaded = validate_event(SENSOR_DATA_EVENT, sensor_body(sensor_data=[]))
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


# ---------------------------------------------------------- flatten_errors


def test_flatten_errors_paths() -> None:
    nested = {
        "event_ts": ["Not a valid timestamp."],
        "payload": {
            "_schema": ["Invalid input type."],
            "object": {
                "sensor_data": {3: {"sensor_value": ["Not a valid number.", "Second."]}},
                "id": ["Missing data for required field."],
            },
        },
    }
    assert flatten_errors(nested) == {
        "event_ts": ["Not a valid timestamp."],
        "payload": ["Invalid input type."],
        "payload.object.sensor_data.3.sensor_value": ["Not a valid number.", "Second."],
        "payload.object.id": ["Missing data for required field."],
    }
    assert flatten_errors({}) == {}
    assert flatten_errors(["Top-level problem."]) == {"_schema": ["Top-level problem."]}
    assert flatten_errors("Just a string.") == {"_schema": ["Just a string."]}


def test_flatten_errors_of_a_real_error() -> None:
    body = sensor_body(sensor_data=[{}, "x"], device_id=None)
    assert flat_errors(SENSOR_DATA_EVENT, body) == {
        "payload.object.device_id": ["Field may not be null."],
        "payload.object.sensor_data.1": ["Not a valid mapping type."],
    }


# ------------------------------------ hot path twins agree with marshmallow


def _outcome(call: Callable[[], dict[str, Any]]) -> tuple[str, Any]:
    try:
        return "ok", call()
    except ValidationError as exc:
        return "error", exc.messages


def _variants(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The body with each documented path deleted, nulled and made a wrong type."""
    out = [body]
    paths: list[list[str]] = []

    def walk(node: Any, path: list[str]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                paths.append([*path, key])
                walk(value, [*path, key])

    walk(body, [])
    for path in paths:
        replacements: list[object] = [
            DELETE,
            None,
            True,
            "12",
            12,
            "",
            [],
            {},
            "2024-06-19T00:00:00Z",
        ]
        for replacement in replacements:
            variant = copy.deepcopy(body)
            node = variant
            for part in path[:-1]:
                node = node[part]
            if replacement is DELETE:
                del node[path[-1]]
            else:
                node[path[-1]] = replacement
            out.append(variant)
    return out


@pytest.mark.parametrize("event", HOT)
def test_hot_path_matches_the_marshmallow_schema(event: str) -> None:
    bodies = [copy.deepcopy(CATALOG["events"][event]["example"])]
    bodies.append(sensor_body() if event == SENSOR_DATA_EVENT else alert_body(event))
    bodies.append(sensor_body(sensor_data=[{}, 1, None]))
    bodies.extend([[], "x", None, {}])
    checked = 0
    for base in bodies:
        for body in _variants(base) if isinstance(base, dict) else [base]:
            fast = _outcome(lambda body=body: validate_event(event, body))  # type: ignore[misc]
            slow = _outcome(lambda body=body: schema_for(event).load(body))  # type: ignore[misc]
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
        fast = _outcome(lambda body=body: validate_reading(body))  # type: ignore[misc]
        slow = _outcome(lambda body=body: reading_schema().load(body))  # type: ignore[misc]
        assert fast == slow, body
        loaded, problems = check_reading(body)
        assert (("ok", loaded) if problems is None else ("error", problems)) == slow, body


# ------------------------- compiled twins of every other event agree too


def _deep_variants(body: dict[str, Any]) -> list[Any]:
    """Like ``_variants``, but also inside array items, and whole arrays replaced."""
    out: list[Any] = list(_variants(body))
    paths: list[list[str | int]] = []

    def walk(node: Any, path: list[str | int]) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            if isinstance(value, dict | list):
                paths.append([*path, key])
                walk(value, [*path, key])

    walk(body, [])
    for path in paths:
        for replacement in (DELETE, None, [], [None], [{}], [1, "x"], {}, "x", 0):
            variant = copy.deepcopy(body)
            node = variant
            for part in path[:-1]:
                node = node[part]
            if replacement is DELETE:
                del node[path[-1]]
            else:
                node[path[-1]] = copy.deepcopy(replacement)
            out.append(variant)
    return out


def _filled(value: Any) -> Any:
    """The seed example with its placeholders replaced by plausible values."""
    if isinstance(value, dict):
        placeholder = ("", None)
        return {key: ("2024-06-19T00:00:00Z" if key.endswith(("_time", "_ts"))
                      and item in placeholder
                      else "x" if item in placeholder else _filled(item))
                for key, item in value.items()}
    if isinstance(value, list):
        return [_filled(item) for item in value] * 2
    return value


@pytest.mark.parametrize("event", sorted(set(CATALOG["events"]) - set(HOT)))
def test_compiled_twin_matches_the_marshmallow_schema(event: str) -> None:
    example = CATALOG["events"][event]["example"]
    filled = _filled(example)
    filled["event"] = event
    bodies: list[Any] = [[], "x", None, {}, 5]
    for base in (copy.deepcopy(example), filled):
        bodies.extend(_deep_variants(base))
    for body in bodies:
        fast = _outcome(lambda body=body: validate_event(event, body))  # type: ignore[misc]
        slow = _outcome(lambda body=body: schema_for(event).load(body))  # type: ignore[misc]
        assert fast == slow, body
    assert len(bodies) > 100


def test_every_catalog_event_but_the_hot_ones_is_compiled() -> None:
    from monitor.webhooks.schemas import _compiled_for

    assert all(_compiled_for(event) is not None for event in CATALOG["events"]
               if event not in HOT)


def test_a_capped_walk_finds_the_first_errors_of_the_full_one() -> None:
    event = "workspace.reservation_questionnaire_response_created"
    body = _filled(CATALOG["events"][event]["example"])
    body["payload"]["object"]["questionnaire_response"] = [
        {"id": None, "list": [{} for _ in range(50)]} for _ in range(50)]
    full = flatten_errors(messages(lambda: validate_event(event, body)))
    capped = flatten_errors(messages(lambda: validate_event(event, body, max_errors=11)),
                            limit=10)
    assert len(full) == 50 * 101
    assert list(capped) == [*list(full)[:10], "_truncated"]
    assert capped["_truncated"] == ["more problems not shown; the first 10 are listed"]
