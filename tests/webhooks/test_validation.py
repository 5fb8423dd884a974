"""The one entry point: every path answers alike, and errors read as flat paths."""

from __future__ import annotations

import copy

import pytest
from support.webhook_bodies import (
    JUNE_19,
    MS,
    S,
    alert_body,
    flat_errors,
    messages,
    sensor_body,
)

from monitor.datamodel.measurements import SENSOR_EVENT
from monitor.webhooks.validation import flatten_errors, validate_event

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
    assert validate_event(SENSOR_EVENT, body)["event"] == ""


@pytest.mark.parametrize("event", ["zoomroom.updated", SENSOR_EVENT, "zoomroom.alert", "x.y"])
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
    assert flat_errors(SENSOR_EVENT, body) == {
        "payload.object.device_id": ["Field may not be null."],
        "payload.object.sensor_data.1": ["Not a valid mapping type."],
    }
