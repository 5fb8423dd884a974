"""Validation policy: strict about what storage needs, lenient about the rest.

What the schemas generated from the catalog check -- required ids, time
fields, ``payload.account_id`` -- and what they let through.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from support.webhook_bodies import (
    CATALOG,
    JUNE_19,
    S,
    alert_body,
    flat_errors,
)

from monitor.webhooks.validation import validate_event

# ------------------------------------------------------------ known events


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
