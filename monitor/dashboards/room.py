"""Room detail: every sensor over time with the rule levels as bands, and what happened.

Long ranges: the ``source`` variable (shown as "Resolution") picks raw
readings or the 5-minute/hourly rollups. The queries are the same for all
three because they select fields by regex: ``mean(/^(value|mean)$/)`` is
``mean("value")`` on raw readings and ``mean("mean")`` on a rollup (likewise
min and max), so a one-year view on hourly rollups never touches a raw point.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builders

from monitor.dashboards import variables
from monitor.dashboards.base import skeleton
from monitor.dashboards.influxql import Annotation, Target, room_filter, where
from monitor.dashboards.panels import Override, Panel, ids, regexp_override, time_series
from monitor.dashboards.sensors import PEOPLE, all_sensors, sensor
from monitor.dashboards.thresholds import Limits
from monitor.datamodel.influxql import influxql_ident, influxql_string
from monitor.datamodel.measurements import ROOM_ALERT, RULE_STATE, ZOOM_EVENT

UID = "zrmon-room"
# Field by regex: raw `value`, or the rollup field of the same name as the function.
FIELD = {"mean": "/^(value|mean)$/", "min": "/^(value|min)$/", "max": "/^(value|max)$/"}
BY_ROOM = "$tag_room_name"
THIS_ROOM = '"room_id" =~ /^$room_id$/'


def series(ref_id: str, function: str, sensor_type: str, alias: str) -> Target:
    conditions = where(f'"sensor_type" = {influxql_string(sensor_type)}', *room_filter(),
                       "$timeFilter")
    return Target(ref_id, f"SELECT {function}({FIELD[function]}) FROM ${{source:raw}} "
                          f"WHERE {conditions} "
                          'GROUP BY time($__interval), "room_name" fill(none)').alias(alias)


def sensor_panel(ident: int, sensor_type: str, limits: Limits | None) -> Panel:
    info = sensor(sensor_type)
    targets = [series("A", "mean", sensor_type, BY_ROOM),
               series("B", "min", sensor_type, f"{BY_ROOM} min"),
               series("C", "max", sensor_type, f"{BY_ROOM} max")]
    levels = f" Bands: {limits.describe()}." if limits is not None else ""
    description = f"Mean, min and max of {info.label} per interval.{levels}"
    if sensor_type == "CO2":
        targets.append(series("D", "max", PEOPLE, f"{BY_ROOM} people"))
        description += " People count (max per interval) on the right axis."
    panel = time_series(ident, info.label, targets, unit=info.grafana_unit, description=description,
                        limits=limits)
    overrides: list[Override] = [regexp_override(".* (min|max)$", custom__lineWidth=1,
                                 custom__lineStyle={"dash": [4, 4], "fill": "dash"})]
    if sensor_type == "CO2":
        overrides.append(regexp_override(
            ".* people$", unit="none", min=0, decimals=0, custom__axisPlacement="right",
            custom__drawStyle="bars", custom__fillOpacity=25,
            custom__thresholdsStyle={"mode": "off"}, custom__axisLabel="people"))
    return panel.overrides(overrides)


def room_annotations() -> list[Annotation]:
    def recent(measurement: str, columns: str, *conditions: str) -> str:
        return (f'SELECT {columns} FROM {influxql_ident(measurement)} '
                f"WHERE {where(*conditions, '$timeFilter')}")

    return [
        Annotation("Zoom events", recent(ZOOM_EVENT, '"title", "event"', THIS_ROOM),
                   text="title", tags="event", color="blue"),
        Annotation("Zoom alerts",
                   recent(ROOM_ALERT, '"issue", "alert_name", "component_name", "alert_kind"',
                          THIS_ROOM),
                   text="issue", tags="alert_name,component_name,alert_kind", color="red"),
        Annotation("Rule transitions",
                   recent(RULE_STATE, '"title", "rule", "status", "level"', THIS_ROOM),
                   text="title", tags="rule,status,level", color="orange"),
        # Zoom's reservation events name a workspace, never a room: account-wide, so off.
        Annotation("Workspace reservations (all rooms)",
                   recent(ZOOM_EVENT, '"title", "event", "workspace_id"',
                          '"event" =~ /^workspace\\.reservation_/'),
                   text="title", tags="event,workspace_id", color="purple", enable=False),
    ]


def build(limits: dict[str, Limits]) -> dashboard_builders.Dashboard:
    ident = ids()
    board = (skeleton(UID, "Zoom Rooms: room detail",
                      "One room's sensors with the rule levels as bands, people beside CO2, "
                      "and Zoom events, alerts and rule transitions as annotations.",
                      time_from="now-24h",
                      variables=[variables.building(), variables.floor(), variables.one_room(),
                                 variables.room_id(), variables.source()])
             .annotations(list(room_annotations())))
    for info in all_sensors():
        if info.type != PEOPLE:   # drawn beside CO2
            board = board.with_panel(sensor_panel(next(ident), info.type, limits.get(info.type)))
    return board
