"""The careful path: events InfluxDB refuses go to quarantine and leave the state as it was."""

from __future__ import annotations

import json

from support.events import alert_event, sensor_event
from support.store import count, drain

from monitor.store.influx import InfluxClient
from monitor.store.quarantine import Quarantine
from monitor.store.writer import Writer


def test_points_influxdb_refuses_go_to_quarantine(post, writer: Writer,
                                                  influx: InfluxClient) -> None:
    # A field type conflict: someone wrote "value" as a string first.
    influx.write(b'sensor,room_id=room-x value="broken" 1793527100000000000')
    post(sensor_event(room="room-2"))
    post(alert_event(1, 1_793_527_200))
    drain(writer)
    assert count(influx, 'SELECT count("issue") FROM "room_alert"') == 1
    [item] = Quarantine(writer.config.quarantine_dir).items()
    assert item.reason == "influx_rejected"
    assert "field type conflict" in item.errors["_writer"][0]
    assert json.loads(item.body)["payload"]["object"]["id"] == "room-2"


def test_a_refused_event_leaves_the_state_as_it_was(post, writer: Writer,
                                                    influx: InfluxClient) -> None:
    """A 400 for some points: the refused event's registry change is not applied."""
    def located(room: str, location: str, ts: int, name: str = "zoomroom.created") -> dict:
        return {"event": name, "event_ts": ts,
                "payload": {"account_id": "a", "object": {"id": room, "room_name": "Everest",
                                                          "location_id": location}}}

    for ts, (location, name, parent) in enumerate(
            (("b1", "HQ", ""), ("f1", "1st", "b1"), ("f2", "2nd", "b1")), start=1):
        post({"event": "zoomroom.location_created", "event_ts": ts,
              "payload": {"account_id": "a", "operator": "o", "operator_id": "o",
                          "object": {"id": location, "name": name,
                                     "type": "floor" if parent else "building",
                                     "parent_location_id": parent}}})
    post(located("room-1", "f1", 10))
    drain(writer)
    # In one batch: a change that is stored, one InfluxDB refuses (a time past 2262 gets
    # a 400), and a reading after both.
    post(located("room-2", "f2", 20))
    response = post(located("room-1", "f2", 9_300_000_000_000, name="zoomroom.updated"))
    assert response.status_code == 200
    post(sensor_event(when="2026-11-01T10:05:00Z"))
    drain(writer)
    assert writer.ingest.registry.room_tags("room-2")["floor"] == "2nd"   # kept
    [item] = Quarantine(writer.config.quarantine_dir).items()
    assert item.event == "zoomroom.updated" and item.reason == "influx_rejected"
    [series] = influx.query("SELECT \"value\", \"floor\" FROM \"sensor\" "
                            "WHERE sensor_type = 'CO2'")
    assert series.values[0][2] == "1st"
    assert writer.ingest.registry.room_tags("room-1")["floor"] == "1st"
