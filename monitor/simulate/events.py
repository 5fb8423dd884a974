"""Zoom webhook bodies, in the shapes of the seed spec (``monitor/webhooks/catalog.json``).

Every required field of each event is filled, with the types the seed
declares: ``event_ts`` and ``alert_time`` as int64 milliseconds, sensor
values as strings, reading times as ``YYYY-MM-DDTHH:MM:SSZ``, reservation
times as ISO date-times. ``tests/simulate`` proves each body validates
against the receiver's marshmallow schemas.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from monitor.datamodel.measurements import ALERT_EVENT, SENSOR_EVENT
from monitor.simulate.fleet import Fleet, Location, Room
from monitor.simulate.schedule import Meeting

ROOM_OFFLINE = 3                 # alert_type: the Zoom Room is offline
ZOOM_ROOMS_COMPUTER = 1          # component
TRIGGERED, CLEARED = 1, 2        # alert_kind
OPERATOR = "facilities@example.com"
OPERATOR_ID = "sim-operator"

Event = dict[str, Any]


def ms(at_s: float) -> int:
    return round(at_s * 1000)


def iso(at_s: float) -> str:
    """Zoom's reading and reservation times: whole seconds, UTC, with a ``Z``."""
    return datetime.fromtimestamp(int(at_s), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(name: str, at_s: float, account_id: str, obj: dict[str, Any],
             **payload: Any) -> Event:
    return {"event": name, "event_ts": ms(at_s),
            "payload": {"account_id": account_id, "object": obj, **payload}}


def sensor_data(fleet: Fleet, room: Room, at_s: float, values: dict[str, str]) -> Event:
    """One delivery of every sensor of the room, all read at ``at_s``."""
    when = iso(at_s)
    readings = [{"date_time": when, "sensor_type": kind, "sensor_value": value}
                for kind, value in values.items()]
    return envelope(SENSOR_EVENT, at_s, fleet.account_id,
                    {"id": room.room_id, "room_name": room.name, "device_id": room.device_id,
                     "sensor_data": readings})


def offline_alert(fleet: Fleet, room: Room, at_s: float, kind: int) -> Event:
    issue = "Zoom room is offline" if kind == TRIGGERED else "Zoom room is online"
    return envelope(ALERT_EVENT, at_s, fleet.account_id, {
        "id": room.room_id, "room_name": room.name, "calendar_name": room.email,
        "email": room.email, "issue": issue, "alert_type": ROOM_OFFLINE,
        "component": ZOOM_ROOMS_COMPUTER, "alert_kind": kind, "alert_time": ms(at_s)})


def check(fleet: Fleet, room: Room, meeting: Meeting, at_s: float, *, out: bool) -> Event:
    """``zoomroom.checked_in`` / ``checked_out`` for the meeting's calendar event."""
    name = "zoomroom.checked_out" if out else "zoomroom.checked_in"
    return envelope(name, at_s, fleet.account_id, {
        "id": room.room_id, "room_name": room.name, "calendar_name": room.email,
        "email": room.email, "event_id": meeting.reservation_id, "change_key": "",
        "resource_email": room.email, "calendar_id": room.email, "calendar_type": "0",
        "api_type": "0"})


def reservation(fleet: Fleet, room: Room, meeting: Meeting, at_s: float, *, name: str,
                span_s: tuple[float, float]) -> Event:
    """``workspace.reservation_created`` / ``_deleted``: the room booked as a workspace.

    ``span_s`` is the meeting's start and end as stamped (see ``model.Stamp``).
    """
    return envelope(name, at_s, fleet.account_id, {
        "id": meeting.reservation_id, "workspace_id": room.workspace_id,
        "start_time": iso(span_s[0]), "end_time": iso(span_s[1]),
        "topic": meeting.topic, "reserve_for": meeting.organizer,
        "assignment_checkin": False}, operator=meeting.organizer, operator_id=OPERATOR_ID)


def location_created(fleet: Fleet, location: Location, at_s: float) -> Event:
    return envelope("zoomroom.location_created", at_s, fleet.account_id, {
        "id": location.location_id, "name": location.name,
        "parent_location_id": location.parent_id, "type": location.type},
        operator=OPERATOR, operator_id=OPERATOR_ID)


def room_created(fleet: Fleet, room: Room, at_s: float) -> Event:
    """With ``location_id`` (optional in the seed) so readings get building and floor tags."""
    return envelope("zoomroom.created", at_s, fleet.account_id, {
        "id": room.room_id, "room_name": room.name, "location_id": room.location_id})
