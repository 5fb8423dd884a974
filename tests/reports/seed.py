"""Known-by-construction data for the report tests: raw readings, check-ins, incidents."""

from __future__ import annotations

from collections.abc import Iterable

from monitor.config import Config
from monitor.store.influx import InfluxClient
from monitor.store.retention import apply_setup, backfill
from monitor.timeutil import iso_to_ns

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
