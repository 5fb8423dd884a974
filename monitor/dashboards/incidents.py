"""Incidents and uptime: how often rooms break, how fast they recover, how available they are."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builders

from monitor.dashboards import variables
from monitor.dashboards.base import skeleton
from monitor.dashboards.influxql import INCIDENT_Q, Target, room_filter, where
from monitor.dashboards.panels import (
    Panel,
    bars,
    coloured_cells,
    ids,
    override,
    stat_panel,
    table_panel,
)

UID = "zrmon-incidents"
CLOSED = '"open" = false'
OFFLINE = "\"alert_name\" = 'room_offline'"
AVAILABILITY_STEPS = ((None, "red"), (95.0, "orange"), (99.0, "green"))
FROM, TO = "${__from}", "${__to}"


def _clip_start() -> str:
    """max(start_ms, range start) — InfluxQL has no two-argument max, but has abs().

    1.0 * makes it float arithmetic: InfluxDB 1.6's abs() of an integer
    returns it unchanged, sign and all.
    """
    return f'0.5 * ("start_ms" + {FROM} + abs(1.0 * ("start_ms" - {FROM})))'


def _clip_end() -> str:
    """min(end_ms, range end)."""
    return f'0.5 * ("end_ms" + {TO} - abs(1.0 * ("end_ms" - {TO})))'


def availability_query() -> str:
    """Per room: 100 % minus the share of the range with a room_offline incident open.

    Incidents are clipped to the range, so one that began before it or is
    still open counts only its part inside. Both subqueries select the same
    fields because InfluxDB 1.6 takes the fields of a union of subqueries
    from the first one. Rooms never offline in the range have no row.
    """
    filters = where(OFFLINE, *room_filter(), f"time <= {TO}ms")
    closed = (f'SELECT {_clip_end()} - {_clip_start()} AS "down_ms", "room_name" '
              f'FROM {INCIDENT_Q} WHERE {where(CLOSED, f""""end_ms" >= {FROM}""", filters)}')
    still_open = (f'SELECT {TO} - {_clip_start()} AS "down_ms", "room_name" '
                  f'FROM {INCIDENT_Q} WHERE {where(""""open" = true""", filters)}')
    return (f'SELECT 100 * (1 - sum("down_ms") / ({TO} - {FROM})) AS "availability", '
            f'sum("down_ms") / 1000 AS "offline", last("room_name") AS "room" '
            f'FROM ({closed}), ({still_open}) GROUP BY "room_id"')


def over_time(ident: int) -> Panel:
    query = (f'SELECT count("start_ms") FROM {INCIDENT_Q} '
             f"WHERE {where(*room_filter(), '$timeFilter')} "
             'GROUP BY time($__interval), "alert_name", "component_name" fill(none)')
    return bars(ident, "Incidents started, by alert type and component",
                [Target("A", query).alias("$tag_alert_name · $tag_component_name")],
                description="Zoom incidents (triggered alerts paired with their clear) by "
                            "start time.")


def recovery_table(ident: int) -> Panel:
    query = ('SELECT count("duration_s") AS "incidents", mean("duration_s") AS "mean time to '
             f'recover", max("duration_s") AS "longest" FROM {INCIDENT_Q} '
             f"WHERE {where(CLOSED, *room_filter(), '$timeFilter')} "
             'GROUP BY "alert_name", "component_name"')
    return table_panel(ident, "Time to recover, by alert type and component",
                       [Target("A", query).table()], width=12,
                       description="Incidents that started in the range and are cleared.",
                       overrides=[override("mean time to recover", unit="s"),
                                  override("longest", unit="s")])


def availability_table(ident: int) -> Panel:
    return table_panel(ident, "Availability per room", [Target("A", availability_query()).table()],
                       width=12,
                       description="Share of the range without an open room_offline incident, "
                                   "for rooms that had one; every other room was 100 % "
                                   "available.",
                       overrides=[override("availability", unit="percent", decimals=2,
                                           **coloured_cells(AVAILABILITY_STEPS)),
                                  override("offline", unit="s")])


def build() -> dashboard_builders.Dashboard:
    ident = ids()
    board = skeleton(UID, "Zoom Rooms: incidents and uptime",
                     "Incidents over time, mean time to recover and room availability.",
                     time_from="now-7d",
                     variables=[variables.building(), variables.floor(), variables.room()])
    started = Target("A", f'SELECT count("start_ms") AS "incidents" FROM {INCIDENT_Q} '
                          f"WHERE {where(*room_filter(), '$timeFilter')}")
    mttr = Target("A", f'SELECT mean("duration_s") AS "mean time to recover" FROM {INCIDENT_Q} '
                       f"WHERE {where(CLOSED, *room_filter(), '$timeFilter')}")
    still_open = Target("A", f'SELECT count("start_ms") AS "open" FROM {INCIDENT_Q} '
                             f'WHERE {where(""""open" = true""", *room_filter())}')
    return (board
            .with_panel(stat_panel(next(ident), "Incidents started", started, width=8,
                                   description="Incidents that started in the range."))
            .with_panel(stat_panel(next(ident), "Mean time to recover", mttr, unit="s", width=8,
                                   description="Mean duration of the incidents that started "
                                               "in the range and are cleared."))
            .with_panel(stat_panel(next(ident), "Open now", still_open, width=8,
                                   steps=((None, "green"), (1.0, "red")),
                                   description="Incidents not cleared yet, whenever they "
                                               "started."))
            .with_panel(over_time(next(ident)))
            .with_panel(recovery_table(next(ident)))
            .with_panel(availability_table(next(ident))))
