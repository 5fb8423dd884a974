"""Events mapped to points the way the writer does, at a fixed receive time."""

from __future__ import annotations

from typing import Any

from monitor.datamodel.points import Point
from monitor.ingest.mapping import IngestState, map_event
from monitor.webhooks.validation import validate_event, validate_reading

RECEIVED = 1_800_000_000_000_000_000


def loaded(event: dict[str, Any]) -> dict[str, Any]:
    """What the receiver spools: validated, readings normalised."""
    out = validate_event(event["event"], event)
    if event["event"] == "zoomroom.sensor_data":
        obj = out["payload"]["object"]
        obj["sensor_data"] = [validate_reading(r) for r in obj["sensor_data"]]
    return out


def run(event: dict[str, Any], state: IngestState | None = None, digest: int = 7) -> list[Point]:
    return map_event(loaded(event), RECEIVED, digest, state or IngestState()).points
