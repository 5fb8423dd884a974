"""Titles and ids for the events that become Grafana annotations.

Every event that is neither a reading nor an alert lands in ``zoom_event``
with the ids it concerns as tags (so a room's dashboard can select its own
annotations) and a one-line ``title`` a person can read on a graph.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

# Tag name → where to find it in payload.object. Order matters: the first hit wins.
_ID_SOURCES: dict[str, tuple[str, ...]] = {
    "room_id": ("room_id",),
    "workspace_id": ("workspace_id",),
    "location_id": ("location_id", "invite_location_id"),
    "desk_id": ("desk_id",),
}

_OBJECT_ID_MEANS = {
    "zoomroom": "room_id",
    "workspace": "workspace_id",
}

_LOCATION_EVENTS = ("zoomroom.location_created", "zoomroom.location_updated",
                    "zoomroom.location_deleted")
_RESERVATION_EVENTS = ("workspace.reservation_created", "workspace.reservation_update",
                       "workspace.reservation_deleted", "workspace.reservation_checked_in",
                       "workspace.reservation_checked_out")


def event_tags(event: str, obj: Mapping[str, Any]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for tag, keys in _ID_SOURCES.items():
        for key in keys:
            value = obj.get(key)
            if isinstance(value, str | int) and str(value):
                tags[tag] = str(value)
                break
    object_id = obj.get("id")
    if isinstance(object_id, str | int) and str(object_id):
        if event in _LOCATION_EVENTS:
            tags["location_id"] = str(object_id)
        elif event in _RESERVATION_EVENTS:
            tags.setdefault("reservation_id", str(object_id))
        else:
            family = event.split(".", 1)[0]
            tags.setdefault(_OBJECT_ID_MEANS.get(family, "object_id"), str(object_id))
    return tags


def _s(obj: Mapping[str, Any], key: str, default: str = "?") -> str:
    value = obj.get(key)
    return str(value) if value not in (None, "") else default


_TITLES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "zoomroom.checked_in": lambda o: f"Checked in: {_s(o, 'room_name')}",
    "zoomroom.checked_out": lambda o: f"Checked out: {_s(o, 'room_name')}",
    "zoomroom.created": lambda o: f"Room created: {_s(o, 'room_name')}",
    "zoomroom.updated": lambda o: f"Room updated: {_s(o, 'room_name')}",
    "zoomroom.deleted": lambda o: f"Room deleted: {_s(o, 'room_name')}",
    "zoomroom.location_created": lambda o: f"Location created: {_s(o, 'name')} ({_s(o, 'type')})",
    "zoomroom.location_updated": lambda o: f"Location updated: {_s(o, 'name')} ({_s(o, 'type')})",
    "zoomroom.location_deleted": lambda o: f"Location deleted: {_s(o, 'name')} ({_s(o, 'type')})",
    "zoomroom.digital_signage_app_started": lambda o: f"Signage started: {_s(o, 'app_name')}",
    "zoomroom.digital_signage_app_ended": lambda o: f"Signage ended: {_s(o, 'app_name')}",
    "zoomroom.thirdparty_meeting_attempted":
        lambda o: f"Third-party meeting join attempted ({_s(o, 'meeting_source_type')})",
    "workspace.created": lambda o: f"Workspace created: {_s(o, 'workspace_name')}",
    "workspace.updated": lambda o: f"Workspace updated: {_s(o, 'workspace_name')}",
    "workspace.deleted": lambda o: f"Workspace deleted: {_s(o, 'workspace_name')}",
    "workspace.user_assigned": lambda o: f"User assigned to {_s(o, 'workspace_name')}",
    "workspace.user_unassigned": lambda o: f"User unassigned from {_s(o, 'workspace_name')}",
    "workspace.reservation_created": lambda o: f"Reservation created: {_s(o, 'topic', 'untitled')}",
    "workspace.reservation_update": lambda o: f"Reservation updated: {_s(o, 'topic', 'untitled')}",
    "workspace.reservation_deleted": lambda o: f"Reservation deleted: {_s(o, 'topic', 'untitled')}",
    "workspace.reservation_checked_in":
        lambda o: f"Reservation checked in: {_s(o, 'topic', 'untitled')}",
    "workspace.reservation_checked_out":
        lambda o: f"Reservation checked out: {_s(o, 'topic', 'untitled')}",
    "workspace.reservation_questionnaire_response_created":
        lambda o: f"Reservation questionnaire answered: {_s(o, 'workspace_name')}",
    "workspace.reservation_questionnaire_response_updated":
        lambda o: f"Reservation questionnaire updated: {_s(o, 'workspace_name')}",
    "workspace.pre_check_in_questionnaire_response_created":
        lambda o: f"Pre-check-in questionnaire answered: {_s(o, 'workspace_name')}",
    "visitor_management.checked_in": lambda o: f"Visitor checked in (host {_s(o, 'host_name')})",
    "visitor_management.checked_out":
        lambda o: f"Visitor checked out (host {_s(o, 'host_name')})",
    "visitor_management.invitation_created":
        lambda o: f"Visitor invited (host {_s(o, 'host_name')})",
    "visitor_management.invitation_updated":
        lambda o: f"Visitor invitation updated (host {_s(o, 'host_name')})",
    "visitor_management.invitation_deleted":
        lambda o: f"Visitor invitation deleted (host {_s(o, 'host_name')})",
}


def event_title(event: str, obj: Mapping[str, Any]) -> str:
    make = _TITLES.get(event)
    return make(obj) if make is not None else f"Zoom event {event or 'without a name'}"


def known_title_events() -> frozenset[str]:
    return frozenset(_TITLES)
