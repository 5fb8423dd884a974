"""Every InfluxDB measurement name and the Zoom event names the code branches on, once.

docs/data-model.md describes each measurement's tags and fields. Code names
them through these constants, including the InfluxQL it builds (quote them
with :func:`monitor.datamodel.points.influxql_ident`), so a rename is one line
and a typo is an import error rather than an empty query. This module imports
nothing, so every layer -- ingest, store, rules, status, reports, dashboards
-- may use it.
"""

from __future__ import annotations

SENSOR = "sensor"                  # one point per reading
ROOM_ALERT = "room_alert"          # every alert Zoom sends
ROOM_INCIDENT = "room_incident"    # a triggered alert paired with its clear
ZOOM_EVENT = "zoom_event"          # every other event (Grafana annotations)
ZOOM_ROOM = "zoom_room"            # a room as the last registry snapshot saw it
RULE_STATE = "rule_state"          # every rule state transition
RECEIVER = "zrmon_receiver"        # the receiver's own counters

SENSOR_EVENT = "zoomroom.sensor_data"
ALERT_EVENT = "zoomroom.alert"
DELAYED_ALERT_EVENT = "zoomroom.delayed_alert"
ALERT_EVENTS = frozenset({ALERT_EVENT, DELAYED_ALERT_EVENT})
CHECKED_IN_EVENT = "zoomroom.checked_in"
CHECKED_OUT_EVENT = "zoomroom.checked_out"
