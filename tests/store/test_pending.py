"""Events named by their bytes: a redelivery is skipped, two distinct events both land."""

from __future__ import annotations

from support.events import alert_event, sensor_event
from support.store import count, drain, readings

from monitor.store.influx import InfluxClient
from monitor.store.writer import Writer


def test_duplicate_delivery_changes_nothing(post, writer: Writer, influx: InfluxClient) -> None:
    post(sensor_event())
    post(alert_event(1, 1_793_527_200))
    drain(writer)
    before = (readings(influx), count(influx, 'SELECT count("issue") FROM "room_alert"'),
              count(influx, 'SELECT count("start_ms") FROM "room_incident"'))
    post(sensor_event(), retry=1)
    post(alert_event(1, 1_793_527_200))
    post(alert_event(1, 1_793_527_200, name="zoomroom.delayed_alert"))
    drain(writer)
    after = (readings(influx), count(influx, 'SELECT count("issue") FROM "room_alert"'),
             count(influx, 'SELECT count("start_ms") FROM "room_incident"'))
    assert before == after == (9, 1, 1)


def test_two_distinct_events_in_one_millisecond_both_land(post, writer: Writer,
                                                          influx: InfluxClient) -> None:
    for event_id in ("e1", "e2"):
        post({"event": "zoomroom.checked_in", "event_ts": 1793527200000,
              "payload": {"account_id": "a", "object": {"id": "room-1", "room_name": "Everest",
                                                        "event_id": event_id}}})
    drain(writer)
    assert count(influx, 'SELECT count("title") FROM "zoom_event"') == 2
