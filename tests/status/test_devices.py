"""A room's devices on the status page, from the inventory file of the registry sync."""

from __future__ import annotations

import time

from support.estate import seed_estate
from support.statuspage import Rows, admin

from monitor.core.config import Config
from monitor.core.jsonutil import write_atomic
from monitor.store.influx import InfluxClient
from monitor.zoom.inventory import InventoryRoom, inventory_document, inventory_path
from monitor.zoom.models import Device, Room


def device(kind: str, status: str, version: str) -> Device:
    return Device.from_api({"id": f"{kind}-{status}", "device_type": kind, "status": status,
                            "app_version": version, "device_system": "Win10"})


def write_inventory(config: Config, *rooms: InventoryRoom) -> None:
    write_atomic(inventory_path(config.state_dir),
                 inventory_document(rooms, [], synced_ns=time.time_ns(), account_id="acct"))


def room(room_id: str, zoom_room_id: str, name: str, *devices: Device) -> InventoryRoom:
    return InventoryRoom(Room(room_id, zoom_room_id, name, "", "Available"), (), devices)


DENALI = room("rm-denali", "zr-denali", "Denali",
              device("Zoom Rooms Computer", "Offline", "6.0.0 (5200)"),
              device("Controller", "Online", "6.1.0 (5230)"))
# Readings tagged with the room's other id (from before a sync): the page still finds it.
EVEREST = room("api-everest", "rm-everest", "Everest",
               device("Zoom Rooms Computer", "Online", "6.2.0 (5290)"))


def test_the_page_shows_each_rooms_devices_with_status_and_app_version(
        config: Config, influx: InfluxClient) -> None:
    seed_estate(influx, time.time_ns())
    write_inventory(config, DENALI, EVEREST)
    client = admin(config)
    response = client.get("/")
    assert response.status_code == 200
    page = Rows.of(response.get_data(as_text=True))
    assert "Zoom Rooms Computer · Offline 6.0.0 (5200)" in page.rows["rm-denali"]
    assert "Controller · Online 6.1.0 (5230)" in page.rows["rm-denali"]
    assert "Zoom Rooms Computer · Online 6.2.0 (5290)" in page.rows["rm-everest"]
    assert "Devices" in " ".join(page.text)
    data = client.get("/status.json").get_json()
    rooms = {r["room_id"]: r for b in data["buildings"] for f in b["floors"] for r in f["rooms"]}
    assert rooms["rm-denali"]["devices"] == [
        {"type": "Zoom Rooms Computer", "status": "Offline", "app_version": "6.0.0 (5200)"},
        {"type": "Controller", "status": "Online", "app_version": "6.1.0 (5230)"}]
    assert rooms["rm-kilimanjaro"]["devices"] == []


def test_a_new_inventory_shows_at_the_next_view(config: Config, influx: InfluxClient) -> None:
    seed_estate(influx, time.time_ns())
    client = admin(config)
    html = client.get("/").get_data(as_text=True)
    assert "Devices" not in " ".join(Rows.of(html).text)     # no sync yet: no column
    write_inventory(config, DENALI)
    assert "6.0.0 (5200)" in Rows.of(client.get("/").get_data(as_text=True)).rows["rm-denali"]
    write_inventory(config, room("rm-denali", "zr-denali", "Denali",
                                 device("Zoom Rooms Computer", "Online", "6.3.0 (5300)")))
    row = Rows.of(client.get("/").get_data(as_text=True)).rows["rm-denali"]
    assert "6.3.0 (5300)" in row and "6.0.0" not in row


def test_a_damaged_inventory_costs_the_devices_not_the_page(config: Config,
                                                            influx: InfluxClient) -> None:
    seed_estate(influx, time.time_ns())
    path = inventory_path(config.state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'{"rooms": [')
    response = admin(config).get("/status.json")
    assert response.status_code == 200
    data = response.get_json()
    assert all(not r["devices"] for b in data["buildings"] for f in b["floors"]
               for r in f["rooms"])
