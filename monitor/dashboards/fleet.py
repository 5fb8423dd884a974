"""Fleet overview: every room's latest readings, what is down, what is firing."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builders

from monitor.dashboards import variables
from monitor.dashboards.base import skeleton
from monitor.dashboards.influxql import (
    INCIDENT_Q,
    RULE_STATE_Q,
    SENSOR_Q,
    Target,
    room_filter,
    where,
)
from monitor.dashboards.panels import (
    Panel,
    coloured_cells,
    ids,
    join_on,
    limit_steps,
    override,
    stat_panel,
    table_panel,
)
from monitor.dashboards.sensors import PEOPLE, sensor
from monitor.dashboards.thresholds import LEVEL_COLOURS, OK_COLOUR, Limits
from monitor.datamodel.influxql import influxql_string

UID = "zrmon-fleet"
ROOM_COLUMNS = ("CO2", "TEMPERATURE", "HUMIDITY", "PM25", PEOPLE)
STATUS_COLOURS = {"firing": "red", "pending": "orange", "no_data": "purple",
                  "inactive": OK_COLOUR}
ALERT_STEPS = ((None, OK_COLOUR), (1.0, "red"))
ROOM_OFFLINE = "\"alert_name\" = 'room_offline'"
OPEN = '"open" = true'

# The last transition of every (rule, room), whenever it happened: a rule firing
# for a week wrote nothing since. rule_state holds transitions only, so reading
# all of it is cheap. Selecting the tags beside last() keeps the transition's own.
LAST_TRANSITIONS = (f'SELECT last("title") AS "title", "status", "level" FROM {RULE_STATE_Q} '
                    'WHERE {where} GROUP BY "rule", "room_id", "room_name"')


def is_sensor(sensor_type: str) -> str:
    return f'"sensor_type" = {influxql_string(sensor_type)}'


def latest(sensor_type: str, ref_id: str) -> Target:
    label = sensor(sensor_type).label
    conditions = where(is_sensor(sensor_type), *room_filter(), "$timeFilter")
    return Target(ref_id, f'SELECT last("value") AS "{label}" FROM {SENSOR_Q} '
                          f'WHERE {conditions} GROUP BY "room_name"').table()


def firing_per_room(ref_id: str) -> Target:
    inner = LAST_TRANSITIONS.format(where=where(*room_filter()))
    return Target(ref_id, f'SELECT count("title") AS "rules firing" FROM ({inner}) '
                          "WHERE \"status\" = 'firing' GROUP BY \"room_name\"").table()


def rooms_table(ident: int, limits: dict[str, Limits]) -> Panel:
    targets = [latest(kind, chr(ord("A") + i)) for i, kind in enumerate(ROOM_COLUMNS)]
    targets.append(firing_per_room(chr(ord("A") + len(ROOM_COLUMNS))))
    overrides = [override(sensor(kind).label, **coloured_cells(limit_steps(limits[kind])),
                          unit=sensor(kind).grafana_unit)
                 for kind in ROOM_COLUMNS if kind in limits]
    overrides.append(override("rules firing", **coloured_cells(ALERT_STEPS)))
    return table_panel(
        ident, "Rooms: latest readings and firing rules", targets, height=12,
        description="Last reading of each sensor in the time range, coloured by the levels "
                    "of the rule files; rules firing now (from rule_state).",
        transformations=join_on("room_name"), overrides=overrides)


def open_incidents(ident: int) -> Panel:
    query = ('SELECT "room_name", "alert_name", "component_name", "building", "floor" '
             f'FROM {INCIDENT_Q} WHERE {where(OPEN, *room_filter())}')
    return table_panel(ident, "Incidents open now", [Target("A", query).table()], width=12,
                       description="Zoom incidents (a triggered alert not cleared yet), "
                                   "whenever they started; Time is the start.")


def rule_states(ident: int) -> Panel:
    mapping = {"type": "value", "options": {status: {"color": colour, "index": i}
                                            for i, (status, colour)
                                            in enumerate(STATUS_COLOURS.items())}}
    query = LAST_TRANSITIONS.format(where=where(*room_filter()))
    return table_panel(ident, "Rule state per room", [Target("A", query).table()], width=12,
                       description="Each rule's last transition per room (rule_state).",
                       overrides=[override("status", mappings=[mapping],
                                           custom__cellOptions={"type": "color-background"})])


def firing_by_level(ident: int) -> Panel:
    inner = LAST_TRANSITIONS.format(where=where(*room_filter()))
    target = Target("A", f'SELECT count("title") AS "firing" FROM ({inner}) '
                         "WHERE \"status\" = 'firing' GROUP BY \"level\"").alias("$tag_level")
    panel = stat_panel(ident, "Rules firing, by severity", target, width=12,
                       description="(rule, room) pairs whose last transition is to firing.")
    return panel.overrides([override(level, color={"mode": "fixed", "fixedColor": colour})
                            for level, colour in LEVEL_COLOURS.items()])


def build(limits: dict[str, Limits]) -> dashboard_builders.Dashboard:
    ident = ids()
    board = skeleton(UID, "Zoom Rooms: fleet overview",
                     "Every room's latest air quality and occupancy, rooms offline, open "
                     "incidents and firing rules.", time_from="now-1h",
                     variables=[variables.building(), variables.floor(), variables.room()])
    offline = Target("A", 'SELECT count(distinct("room_name")) AS "rooms offline" '
                          f'FROM {INCIDENT_Q} WHERE {where(OPEN, ROOM_OFFLINE, *room_filter())}')
    incidents = Target("A", f'SELECT count("start_ms") AS "open incidents" FROM {INCIDENT_Q} '
                            f"WHERE {where(OPEN, *room_filter())}")
    return (board
            .with_panel(stat_panel(next(ident), "Rooms offline now", offline, steps=ALERT_STEPS,
                                   description="Rooms with an open Zoom room_offline incident."))
            .with_panel(stat_panel(next(ident), "Open incidents", incidents, steps=ALERT_STEPS,
                                   description="Zoom incidents not cleared yet."))
            .with_panel(firing_by_level(next(ident)))
            .with_panel(rooms_table(next(ident), limits))
            .with_panel(open_incidents(next(ident)))
            .with_panel(rule_states(next(ident))))
