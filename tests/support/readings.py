"""Known-by-construction data for the report tests: raw readings, check-ins, incidents."""

from __future__ import annotations

from collections.abc import Iterable

from monitor.core.config import Config
from monitor.core.timeutil import iso_to_ns
from monitor.datamodel.points import encode_lines
from monitor.ingest.mapping import IngestState, map_event
from monitor.ingest.snapshot import SNAPSHOT_EVENT
from monitor.store.influx import InfluxClient
from monitor.store.retention import apply_setup, backfill

MIN_NS = 60 * 1_000_000_000
HOUR_NS = 60 * MIN_NS
T0 = iso_to_ns("2026-10-01T08:00:00Z")          # the air report covers 08:00-20:00


def hourly_readings(room: str, sensor: str, values: Iterable[float | None], *,
                    people: Iterable[float | None] | None = None, name: str = "",
                    building: str = "HQ", floor: str = "F1") -> list[str]:
    """A reading every 5 minutes; one value per hour from T0 (None: no readings that hour)."""
    peoples = list(people) if people is not None else None
    lines = []
    for hour, value in enumerate(values):
        if value is None:
            continue
        fields = f"value={float(value)}"
        if peoples is not None and peoples[hour] is not None:
            fields += f",people={float(peoples[hour])}"  # type: ignore[arg-type]
        for minute in range(0, 60, 5):
            at = T0 + hour * HOUR_NS + minute * MIN_NS
            lines.append(f"sensor,room_id={room},room_name={name or room},sensor_type={sensor},"
                         f"building={building},floor={floor} {fields} {at}")
    return lines


def checkin(room: str, event: str, at: int) -> str:
    return (f"zoom_event,event=zoomroom.{event},room_id={room} "
            f'title="{event}",detail="{{}}" {at}')


def incident(room: str, start: str, end: str | None, *, alert: str = "room_offline",
             component: str = "zoom_rooms_computer", building: str = "HQ") -> str:
    start_ns = iso_to_ns(start)
    tags = (f"room_incident,room_id={room},alert_type=3,alert_name={alert},component=1,"
            f"component_name={component},building={building},floor=F1")
    fields = f'room_name="{room.title()}",start_ms={start_ns // 1_000_000}i'
    if end is None:
        fields += ",open=true"
    else:
        end_ns = iso_to_ns(end)
        fields += (f",open=false,end_ms={end_ns // 1_000_000}i,"
                   f"duration_s={(end_ns - start_ns) / 1e9}")
    return f"{tags} {fields} {start_ns}"


def seed(config: Config, influx: InfluxClient, lines: list[str]) -> None:
    """Write raw points, then build the rollups the way production does (setup + backfill)."""
    apply_setup(influx, config.with_(raw_retention="INF", rollup_retention="INF"))
    influx.write("\n".join(lines).encode())
    backfill(influx, T0 - 24 * HOUR_NS, T0 + 24 * HOUR_NS)


def zoom_room_lines(at_ns: int, *, room: str = "spree-1", building: str = "Spree",
                    city: str = "Berlin", timezone: str = "Europe/Berlin") -> bytes:
    """The ``zoom_room`` points the writer stores for a registry sync placing ``room`` in
    ``building`` of ``city`` (whose zone is ``timezone``): made by the writer's own mapping."""
    locations = [
        {"id": "country", "name": "Country", "type": "country", "parent_location_id": "acct"},
        {"id": "city", "name": city, "type": "city", "parent_location_id": "country",
         "timezone": timezone},
        {"id": "building", "name": building, "type": "building", "parent_location_id": "city"},
        {"id": "f1", "name": "F1", "type": "floor", "parent_location_id": "building"}]
    event = {"event": SNAPSHOT_EVENT, "event_ts": at_ns // 1_000_000, "event_ts_ns": at_ns,
             "payload": {"account_id": "acct", "object": {
                 "rooms": [{"id": room, "room_id": f"zr-{room}", "name": room.title(),
                            "location_id": "f1", "status": "Available"}],
                 "locations": locations, "complete": True, "reconcile_grace_s": 600}}}
    batch = map_event(event, at_ns, 1, IngestState())
    return encode_lines(p for p in batch.points if p.measurement == "zoom_room")
