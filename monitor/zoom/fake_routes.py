"""The fake Zoom API's ``/v2/rooms…`` endpoints: the fleet's data, a page at a time.

Rooms, a room's profile, devices and ``sensor_data``, locations, a location's profile
and the location structure, with the filters Zoom takes, answered from a
:class:`~monitor.zoom.fake_fleet.FakeFleet`. Listings are paged by ``page_size`` (at
most 300) and ``next_page_token``; a page token lives ``page_token_ttl_s`` and is
bound to its listing, and a stale or foreign one gets 400 code 300 "The next page token
is invalid or expired.", as from Zoom. Kept apart from the server
(:mod:`monitor.zoom.fake`), which checks the token and the limits before it asks here.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from monitor.zoom.fake_faults import Answer, FakeOptions
from monitor.zoom.fake_fleet import FakeFleet, FakeRoom

PAGE_TOKEN_EXPIRED = {"code": 300, "message": "The next page token is invalid or expired."}


class FakeRoutes:
    """Answers ``GET /v2/<path>``; keeps the page tokens handed out (listing, offset, when),
    on the fake's clock ``now``; used under the server's lock."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._pages: dict[str, tuple[tuple[Any, ...], int, float]] = {}

    def clear_pages(self) -> None:
        self._pages.clear()

    def answer(self, fleet: FakeFleet, options: FakeOptions, path: str,
               query: dict[str, str]) -> Answer:
        """The answer for ``path`` (without ``/v2``)."""
        segments = [s for s in path.split("/") if s]
        if segments[:2] == ["rooms", "locations"]:
            return self._locations(fleet, options, segments[2:], query)
        if segments == ["rooms"]:
            items = [r.list_item() for r in fleet.rooms
                     if query.get("status") in (None, "", r.status)
                     and query.get("location_id") in (None, "", r.location_id)]
            return self._page(options, ("rooms", query.get("status"), query.get("location_id")),
                              "rooms", items, query)
        room = fleet.room(segments[1]) if len(segments) in (2, 3) else None
        if room is None:
            return 404, {}, {"code": 1012, "message": f"Room not found: {'/'.join(segments)}."}
        return self._room(fleet, options, room, segments[2] if len(segments) == 3 else "",
                          query)

    def _room(self, fleet: FakeFleet, options: FakeOptions, room: FakeRoom, what: str,
              query: dict[str, str]) -> Answer:
        if not what:
            return 200, {}, room.profile()
        if what == "devices":
            return 200, {}, {"devices": [d.item(room.name) for d in room.devices]}
        if what == "sensor_data":
            return self._sensor_data(fleet, options, room, query)
        return 404, {}, {"code": 404, "message": "Not found"}

    def _locations(self, fleet: FakeFleet, options: FakeOptions, rest: list[str],
                   query: dict[str, str]) -> Answer:
        if not rest:
            items = [loc.list_item() for loc in fleet.locations
                     if query.get("type") in (None, "", loc.type)
                     and query.get("parent_location_id") in (None, "", loc.parent_location_id)]
            return self._page(options,
                              ("locations", query.get("type"), query.get("parent_location_id")),
                              "locations", items, query)
        if rest == ["structure"]:
            return 200, {}, {"structures": ["country", "states", "city", "campus", "building",
                                            "floor"]}
        location = fleet.location(rest[0]) if len(rest) == 1 else None
        if location is None:
            return 404, {}, {"code": 4801, "message": f"Location not found: {'/'.join(rest)}."}
        return 200, {}, location.profile()

    def _sensor_data(self, fleet: FakeFleet, options: FakeOptions, room: FakeRoom,
                     query: dict[str, str]) -> Answer:
        try:
            from_s = _parse_time(query["from"])
            to_s = _parse_time(query["to"])
        except (KeyError, ValueError):
            return 400, {}, {"code": 300, "message": "Invalid field: from and to are required "
                                                     "as yyyy-MM-ddTHH:mm:ssZ."}
        items = fleet.sensor_data(room, from_s, to_s)
        items = [i for i in items if query.get("sensor_type") in (None, "", i["sensor_type"])
                 and query.get("device_id") in (None, "", i["device_id"])]
        status, headers, page = self._page(
            options, ("sensor_data", room.id, from_s, to_s, query.get("sensor_type"),
                      query.get("device_id")), "sensor_data", items, query)
        if status == 200:
            page.update({"from": query["from"], "to": query["to"], "total_records": len(items)})
        return status, headers, page

    def _page(self, options: FakeOptions, key: tuple[Any, ...], items_key: str,
              items: list[dict[str, Any]], query: dict[str, str]) -> Answer:
        try:
            size = max(1, min(300, int(query.get("page_size") or 30)))
        except ValueError:
            return 400, {}, {"code": 300, "message": "Invalid field: page_size."}
        offset = 0
        token = query.get("next_page_token") or ""
        if token:
            stored = self._pages.get(token)
            if (stored is None or stored[0] != key
                    or self._now() - stored[2] > options.page_token_ttl_s):
                return 400, {}, dict(PAGE_TOKEN_EXPIRED)
            offset = stored[1]
        chunk = items[offset:offset + size]
        next_token = ""
        if offset + size < len(items):
            next_token = secrets.token_urlsafe(26)
            self._pages[next_token] = (key, offset + size, self._now())
        return 200, {}, {"page_size": size, "next_page_token": next_token, items_key: chunk}


def _parse_time(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())
