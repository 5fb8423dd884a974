"""The committed catalog: what the seed says, and what the schemas cover."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from marshmallow import Schema
from support.paths import REPO

from monitor.webhooks.catalog import (
    SEED_NAME,
    CatalogError,
    build_catalog,
    dumps,
    load_catalog,
    main,
)
from monitor.webhooks.schemas import EnvelopeSchema, schema_for
from monitor.webhooks.validation import validate_event

SHARED_SEED = REPO.parent / "shared" / "seeds" / SEED_NAME
# A copy kept with the tests, so the check runs in any clone; the next test keeps it
# equal to the team's shared seed wherever that is beside the checkout.
VENDORED_SEED = Path(__file__).parent / "data" / SEED_NAME
SEED = SHARED_SEED if SHARED_SEED.exists() else VENDORED_SEED


def test_the_seed_kept_with_the_tests_is_the_shared_one() -> None:
    if SHARED_SEED.exists():
        assert VENDORED_SEED.read_bytes() == SHARED_SEED.read_bytes()
    assert VENDORED_SEED.stat().st_size > 0
CATALOG = load_catalog()
EVENTS = sorted(CATALOG["events"])

MINI_SEED = """\
Rooms

Operations

POST demo.thing_happened

  • Method:\u00a0POST
  • Path:\u00a0demo.thing_happened
  • Tags:\u00a0demo

Request Body

Content-Type: application/json
  • event (required)

    string — The name of the event.

  • payload (required)

    object

    • object (required)

      object — The thing.

      • kind (required)

        enum, red┃green — The kind — with a dash.

      • readings (required)

        array — Readings.

        Items:

        • level

          integer, possible values: 1, 2, 0 — The level.

        • when (required)

          string, format: date-time — When.

      • mood

        string, possible values: "HAPPY", "SAD"

Example:

{
  "event": "demo.thing_happened",
  "payload": {"object": {"kind": "red", "readings": []}}
}

Responses

Status: 200
Content-Type: application/json
  • ignored (required)

    string — Not part of the request.

POST demo.empty

  • Method:\u00a0POST
  • Tags:\u00a0demo

Request Body

Content-Type: application/json

Example:

{"event": ""}
"""


def field(event: dict[str, Any], path: str) -> dict[str, Any]:
    return next(f for f in event["fields"] if f["path"] == path)


def test_catalog_has_the_32_documented_events() -> None:
    assert len(CATALOG["events"]) == 32
    assert CATALOG["source"] == SEED_NAME
    assert {e["tag"] for e in CATALOG["events"].values()} == {
        "visitor_management",
        "workspace",
        "zoomroom",
    }


def test_committed_catalog_is_what_the_seed_gives() -> None:
    built = build_catalog(SEED.read_text(encoding="utf-8"))
    assert built == CATALOG
    # Byte for byte too, so regenerating gives an empty diff.
    committed = (REPO / "monitor" / "webhooks" / "catalog.json").read_text(encoding="utf-8")
    assert committed == dumps(built)


def test_catalog_records_types_formats_enums_and_array_paths() -> None:
    sensor = CATALOG["events"]["zoomroom.sensor_data"]
    value = field(sensor, "payload.object.sensor_data[].sensor_value")
    assert value == {
        "path": "payload.object.sensor_data[].sensor_value",
        "type": "string",
        "format": None,
        "enum": None,
        "required": True,
        "description": "The sensor value.",
    }
    assert "CO2" in field(sensor, "payload.object.sensor_data[].sensor_type")["enum"]
    assert field(sensor, "event_ts")["format"] == "int64"
    assert field(sensor, "payload")["description"] is None

    alert = CATALOG["events"]["zoomroom.alert"]
    assert field(alert, "payload.object.alert_type")["enum"] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0]
    # Descriptions keep their own em dashes; only the first one separates.
    assert field(alert, "payload.object.alert_kind")["description"].startswith(
        "The kind of alert: * 1 — Triggered."
    )
    location = CATALOG["events"]["zoomroom.location_created"]
    assert field(location, "payload.object.type")["enum"] == [
        "country",
        "states",
        "city",
        "campus",
        "building",
        "floor",
    ]
    questions = CATALOG["events"]["workspace.reservation_questionnaire_response_created"]
    option = field(questions, "payload.object.questionnaire_response[].list[].options[].option_id")
    assert option["required"] is True
    third_party = CATALOG["events"]["zoomroom.thirdparty_meeting_attempted"]
    assert field(third_party, "payload.object.join_time")["required"] is False
    # Events documented only by an example have no fields but keep the example.
    assert CATALOG["events"]["zoomroom.checked_in"]["fields"] == []
    assert CATALOG["events"]["zoomroom.checked_in"]["example"]["payload"]["object"]["id"] == ""


def test_build_catalog_parses_the_rendering() -> None:
    catalog = build_catalog(MINI_SEED, source="mini.txt")
    assert catalog["source"] == "mini.txt"
    thing = catalog["events"]["demo.thing_happened"]
    assert thing["tag"] == "demo"
    assert thing["example"] == {
        "event": "demo.thing_happened",
        "payload": {"object": {"kind": "red", "readings": []}},
    }
    assert [(f["path"], f["type"], f["required"]) for f in thing["fields"]] == [
        ("event", "string", True),
        ("payload", "object", True),
        ("payload.object", "object", True),
        ("payload.object.kind", "string", True),
        ("payload.object.readings", "array", True),
        ("payload.object.readings[].level", "integer", False),
        ("payload.object.readings[].when", "string", True),
        ("payload.object.mood", "string", False),
    ]
    kind = field(thing, "payload.object.kind")
    assert kind["enum"] == ["red", "green"]
    assert kind["description"] == "The kind — with a dash."
    assert field(thing, "payload.object.readings[].level")["enum"] == [1, 2, 0]
    assert field(thing, "payload.object.readings[].when")["format"] == "date-time"
    mood = field(thing, "payload.object.mood")
    assert mood["enum"] == ["HAPPY", "SAD"]
    assert mood["description"] is None
    assert catalog["events"]["demo.empty"] == {
        "tag": "demo",
        "fields": [],
        "example": {"event": ""},
    }


@pytest.mark.parametrize(
    "text",
    [
        "no events here",
        "POST a.b\nRequest Body\n  • x (required)\n    string, colour: red — x\nExample:\n{}",
        "POST a.b\n\nRequest Body\n\nExample:\n\nnot json\n",
        "POST a.b\n\nExample:\n\n{}\n",
    ],
)
def test_build_catalog_refuses_to_guess(text: str) -> None:
    with pytest.raises(CatalogError):
        build_catalog(text)


def test_cli_prints_sorted_indented_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = tmp_path / "mini.txt"
    seed.write_text(MINI_SEED, encoding="utf-8")
    assert main([str(seed)]) == 0
    out = capsys.readouterr().out
    assert json.loads(out) == build_catalog(MINI_SEED, source="mini.txt")
    assert out == dumps(build_catalog(MINI_SEED, source="mini.txt"))
    assert out.startswith('{\n  "events": {')


def test_cli_usage_and_errors(tmp_path: Path) -> None:
    assert main([]) == 2
    assert main([str(tmp_path / "missing.txt")]) == 1


def test_every_catalog_event_has_a_dedicated_schema() -> None:
    classes = set()
    for name in EVENTS:
        schema = schema_for(name)
        assert isinstance(schema, Schema)
        assert not isinstance(schema, EnvelopeSchema), name
        classes.add(type(schema))
    assert len(classes) == len(EVENTS)
    assert isinstance(schema_for("zoomroom.not_documented_yet"), EnvelopeSchema)


@pytest.mark.parametrize("name", EVENTS)
def test_each_schema_accepts_its_example(name: str) -> None:
    example = CATALOG["events"][name]["example"]
    loaded = validate_event(name, example)
    assert "event_ts_ns" in loaded
    # The marshmallow schema itself too, not just a hot-path twin.
    schema_for(name).load(example)
