"""``zrmon zoom rooms``: every room with its place, status and devices, from the API alone.

Zoom's room list names only a room's own location (a floor, usually); the
path above it comes from walking ``parent_location_id`` through the
location list, up to the account.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.zoom.models import Device, Location, Room

if TYPE_CHECKING:
    from monitor.zoom.client import ZoomApi

FORMATS = ("table", "json", "csv")
INVENTORY_FILE = "zoom-inventory.json"     # in the state directory, written by each sync


@dataclass(frozen=True)
class InventoryRoom:
    room: Room
    path: tuple[Location, ...]       # outermost first, the room's own location last
    devices: tuple[Device, ...]

    def level(self, kind: str) -> str:
        """The name of the path's location of type ``kind`` (``building``, ``floor`` …)."""
        for location in self.path:
            if location.type == kind:
                return location.name
        return ""

    @property
    def path_text(self) -> str:
        return " / ".join(location.name for location in self.path)

    @property
    def app_versions(self) -> tuple[str, ...]:
        return tuple(sorted({d.app_version for d in self.devices if d.app_version}))


def location_path(location_id: str, by_id: Mapping[str, Location]) -> tuple[Location, ...]:
    """From the top level down to ``location_id``; stops at an unknown id or a cycle."""
    path: list[Location] = []
    seen: set[str] = set()
    current = by_id.get(location_id)
    while current is not None and current.id not in seen:
        seen.add(current.id)
        path.append(current)
        current = by_id.get(current.parent_location_id)
    return tuple(reversed(path))


def collect(api: ZoomApi) -> list[InventoryRoom]:
    """One listing of rooms and locations, then one devices call per room."""
    rooms = api.rooms()
    by_id = {location.id: location for location in api.locations()}
    found = [InventoryRoom(room, location_path(room.location_id, by_id),
                           tuple(api.devices(room.id))) for room in rooms]
    return sorted(found, key=lambda r: (r.path_text, r.room.name, r.room.id))


def as_dict(row: InventoryRoom) -> dict[str, Any]:
    return {"id": row.room.id, "room_id": row.room.room_id, "name": row.room.name,
            "status": row.room.status, "location_id": row.room.location_id,
            "location_path": [location.name for location in row.path],
            "building": row.level("building"), "floor": row.level("floor"),
            "devices": [{"id": d.id, "type": d.device_type, "status": d.status,
                         "app_version": d.app_version, "system": d.device_system}
                        for d in row.devices]}


def inventory_document(rows: Iterable[InventoryRoom], locations: Iterable[Location],
                       *, synced_ns: int, account_id: str,
                       devices_cursor: int = 0) -> dict[str, Any]:
    """The state file's content: what a sync saw, for the status page and ``--cached``.

    Built only from the frozen models, which never hold ``room_passcode``,
    ``activation_code`` or any other secret Zoom sends.
    """
    return {"synced_ns": synced_ns, "account_id": account_id,
            "devices_cursor": devices_cursor,
            "rooms": [as_dict(row) for row in rows],
            "locations": [{"id": loc.id, "name": loc.name, "type": loc.type,
                           "parent_location_id": loc.parent_location_id}
                          for loc in locations]}


def inventory_path(state_dir: Path) -> Path:
    return state_dir / INVENTORY_FILE


def read_inventory(state_dir: Path) -> tuple[int, list[InventoryRoom]]:
    """The last sync's inventory (its start time in ns, the rooms); ``(0, [])`` before one.

    A damaged file raises :class:`~monitor.core.atomicfile.StateFileError`.
    """
    from monitor.core.jsonutil import read_json_state

    document = read_json_state(inventory_path(state_dir), dict)
    if not isinstance(document, dict) or not document:
        return 0, []
    by_id = {str(item.get("id")): Location.from_api(item)
             for item in document.get("locations") or () if isinstance(item, Mapping)}
    rows = [_row_from(item, by_id) for item in document.get("rooms") or ()
            if isinstance(item, Mapping)]
    return int(document.get("synced_ns") or 0), rows


def _row_from(item: Mapping[str, Any], by_id: Mapping[str, Location]) -> InventoryRoom:
    room = Room.from_api(item)
    devices = tuple(Device.from_api({"id": d.get("id"), "device_type": d.get("type"),
                                     "status": d.get("status"),
                                     "app_version": d.get("app_version"),
                                     "device_system": d.get("system")})
                    for d in item.get("devices") or () if isinstance(d, Mapping))
    return InventoryRoom(room, location_path(room.location_id, by_id), devices)


def _device_text(device: Device) -> str:
    version = f" {device.app_version}" if device.app_version else ""
    return f"{device.device_type} {device.status}{version}"


def render(rows: list[InventoryRoom], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([as_dict(row) for row in rows], indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return _csv(rows)
    return _table(rows)


def _csv(rows: list[InventoryRoom]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "room_id", "name", "status", "location", "building", "floor",
                     "devices", "devices_online", "app_versions", "device_list"])
    for row in rows:
        writer.writerow([row.room.id, row.room.room_id, row.room.name, row.room.status,
                         row.path_text, row.level("building"), row.level("floor"),
                         len(row.devices), sum(d.status == "Online" for d in row.devices),
                         "; ".join(row.app_versions),
                         "; ".join(_device_text(d) for d in row.devices)])
    return out.getvalue()


def _table(rows: list[InventoryRoom]) -> str:
    header = ("ROOM", "STATUS", "LOCATION", "DEVICES")
    lines = [(row.room.name, row.room.status, row.path_text,
              ", ".join(_device_text(d) for d in row.devices) or "-") for row in rows]
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(3)]
    text = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:<{widths[2]}}  {d}".rstrip()
            for a, b, c, d in [header, *lines]]
    text.append(f"{len(rows)} rooms")
    return "\n".join(text) + "\n"
