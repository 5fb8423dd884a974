"""Which rooms a report covers, with their latest name, building and floor.

Names and locations are tags and can change during a month (a room renamed or
moved); a report shows each room once, under the labels of its latest reading.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.reports.timerange import TimeRange
from monitor.store.influx import InfluxClient

ROLLUP = '"rollup"."sensor_1h"'


@dataclass(frozen=True)
class Room:
    room_id: str
    name: str
    building: str = ""
    floor: str = ""


def labels_query(span: TimeRange) -> str:
    return (f'SELECT last("count") AS "count" FROM {ROLLUP} '
            f"WHERE time >= {span.start_ns} AND time < {span.end_ns} "
            'GROUP BY "room_id", "room_name", "building", "floor"')


def room_labels(client: InfluxClient, span: TimeRange) -> dict[str, Room]:
    """Room id → labels of its latest hour in the range (rooms with readings only)."""
    latest: dict[str, tuple[int, Room]] = {}
    for series in client.query(labels_query(span)):
        tags = series.tags
        room_id = tags.get("room_id", "")
        if not room_id or not series.values:
            continue
        at = int(series.values[0][0])
        room = Room(room_id, tags.get("room_name") or room_id, tags.get("building", ""),
                    tags.get("floor", ""))
        if room_id not in latest or at >= latest[room_id][0]:
            latest[room_id] = (at, room)
    return {room_id: room for room_id, (_, room) in latest.items()}
