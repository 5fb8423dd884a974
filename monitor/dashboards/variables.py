"""Template variables: building → floor → room, plus the helpers some dashboards need.

Values come from the ``sensor`` measurement's tags, so a room appears as
soon as it reports. "All" is the custom value ``.*`` rather than a list of
every value: it keeps queries short at thousands of rooms and, because
``/^.*$/`` also matches a missing tag, it keeps rooms whose location Zoom has
not told us yet (no ``building``/``floor`` tag) in the fleet views.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.models import dashboard

from monitor.dashboards.influxql import SENSOR_Q, datasource

ALL = "$__all"

SOURCES = (   # (text, value): where the room detail reads its series from
    ("raw readings (within raw retention)", f'"autogen".{SENSOR_Q}'),
    ("5-minute rollups", '"rollup"."sensor_5m"'),
    ("hourly rollups (long ranges)", '"rollup"."sensor_1h"'),
)


def _tag_values(name: str, label: str, query: str, *, include_all: bool = True,
                multi: bool = True) -> dashboard_builders.QueryVariable:
    variable = (dashboard_builders.QueryVariable(name).label(label).datasource(datasource())
                .query(query).refresh(dashboard.VariableRefresh.ON_DASHBOARD_LOAD)
                .sort(dashboard.VariableSort.ALPHABETICAL_CASE_INSENSITIVE_ASC)
                .multi(multi).include_all(include_all))
    if include_all:
        variable = (variable.all_value(".*")
                    .current(dashboard.VariableOption(text="All", value=ALL, selected=True)))
    return variable


def building() -> dashboard_builders.QueryVariable:
    return _tag_values("building", "Building",
                       f'SHOW TAG VALUES FROM {SENSOR_Q} WITH KEY = "building"')


def floor() -> dashboard_builders.QueryVariable:
    return _tag_values("floor", "Floor",
                       f'SHOW TAG VALUES FROM {SENSOR_Q} WITH KEY = "floor" '
                       'WHERE "building" =~ /^$building$/')


_ROOMS = (f'SHOW TAG VALUES FROM {SENSOR_Q} WITH KEY = "room_name" '
          'WHERE "building" =~ /^$building$/ AND "floor" =~ /^$floor$/')


def room() -> dashboard_builders.QueryVariable:
    return _tag_values("room", "Room", _ROOMS)


def one_room() -> dashboard_builders.QueryVariable:
    """The room detail's room: no "All" (it is one room's story), but multi-value so a
    second room can be laid over the first, and so every Grafana version regex-escapes it."""
    return _tag_values("room", "Room", _ROOMS, include_all=False)


def room_id() -> dashboard_builders.QueryVariable:
    """Hidden: the ids of the chosen room(s).

    Zoom events carry the room's id but its name only when a room event
    named it, so annotations select by id. "All" without a custom value
    expands to exactly the ids found, as a regex alternation.
    """
    return (dashboard_builders.QueryVariable("room_id").label("Room id")
            .datasource(datasource())
            .query(f'SHOW TAG VALUES FROM {SENSOR_Q} WITH KEY = "room_id" '
                   'WHERE "room_name" =~ /^$room$/')
            .refresh(dashboard.VariableRefresh.ON_DASHBOARD_LOAD)
            .sort(dashboard.VariableSort.ALPHABETICAL_ASC)
            .multi(True).include_all(True).hide(dashboard.VariableHide.HIDE_VARIABLE)
            .current(dashboard.VariableOption(text="All", value=ALL, selected=True)))


def source() -> dashboard_builders.CustomVariable:
    """Raw readings or a rollup: the choice that keeps a one-year view off raw points."""
    text, value = SOURCES[0]
    return (dashboard_builders.CustomVariable("source").label("Resolution")
            .values(",".join(f"{t} : {v}" for t, v in SOURCES))
            .current(dashboard.VariableOption(text=text, value=value, selected=True))
            .options([dashboard.VariableOption(text=t, value=v, selected=(v == value))
                      for t, v in SOURCES])
            .multi(False).include_all(False))
