"""Air quality: the share of occupied time each room and building spends within guidance.

"Within guidance" is "no level of the sensor's rules breached" — the rules
cite WELL and WHO for each line (rules/air-quality.yaml). "Occupied" is a
reading whose ``people`` field (the people count of its event) is above 0.

Two resolutions, the same numbers asked two ways:

* 5-minute rollups (the default rows): occupied readings in 5-minute buckets
  whose occupied mean is within guidance, over all occupied readings
  (``occupied_count`` weights each bucket). Fast over a year.
* raw readings (a collapsed row): occupied readings within guidance over
  occupied readings, exactly, for ranges inside the raw retention.

InfluxQL cannot divide two filtered counts directly, so each share is one
query over a union of two subqueries: one contributes ``within``, the other
``occupied``; ``sum(within) / sum(occupied)`` then divides them. Both
subqueries select both fields (the other times 0) because InfluxDB 1.6 takes
the fields of a union from its first subquery.
"""

from __future__ import annotations

from collections.abc import Callable

from grafana_foundation_sdk.builders import dashboard as dashboard_builders

from monitor.dashboards import variables
from monitor.dashboards.base import skeleton
from monitor.dashboards.influxql import SENSOR_Q, Target, room_filter, where
from monitor.dashboards.panels import (
    Panel,
    coloured_cells,
    ids,
    join_on,
    override,
    row,
    table_panel,
)
from monitor.dashboards.sensors import sensor
from monitor.dashboards.thresholds import Limits, number
from monitor.datamodel.influxql import influxql_string

UID = "zrmon-air-quality"
SHARE_STEPS = ((None, "red"), (75.0, "orange"), (90.0, "green"))
GUIDANCE_ORDER = ("CO2", "PM25", "PM10", "VOC", "HUMIDITY", "TEMPERATURE")

Share = Callable[[Limits, str], str]   # (limits, group-by tag) → InfluxQL


def _raw_value(operator: str, bound: float) -> str:
    return f'"value" {operator} {number(bound)}'


def _bucket_mean(operator: str, bound: float) -> str:
    """The occupied mean of a bucket against a bound, without dividing by a zero count."""
    return f'"occupied_sum" {operator} {number(bound)} * "occupied_count"'


def _union(label: str, within: str, occupied: str, group_by: str) -> str:
    return (f'SELECT 100 * sum("within") / sum("occupied") AS "{label}" '
            f"FROM ({within}), ({occupied}) GROUP BY \"{group_by}\"")


def rollup_share(limits: Limits, group_by: str) -> str:
    base = (f'"sensor_type" = {influxql_string(limits.sensor)}', *room_filter(), "$timeFilter",
            '"occupied_count" > 0')
    source = 'FROM "rollup"."sensor_5m"'
    within = (f'SELECT "occupied_count" AS "within", 0 * "occupied_count" AS "occupied" '
              f"{source} WHERE {where(*base, limits.within(_bucket_mean))}")
    occupied = (f'SELECT 0 * "occupied_count" AS "within", "occupied_count" AS "occupied" '
                f"{source} WHERE {where(*base)}")
    return _union(sensor(limits.sensor).label, within, occupied, group_by)


def raw_share(limits: Limits, group_by: str) -> str:
    base = (f'"sensor_type" = {influxql_string(limits.sensor)}', *room_filter(), "$timeFilter",
            '"people" > 0')
    within = (f'SELECT 1 + 0 * "value" AS "within", 0 * "value" AS "occupied" FROM {SENSOR_Q} '
              f"WHERE {where(*base, limits.within(_raw_value))}")
    occupied = (f'SELECT 0 * "value" AS "within", 1 + 0 * "value" AS "occupied" FROM {SENSOR_Q} '
                f"WHERE {where(*base)}")
    return _union(sensor(limits.sensor).label, within, occupied, group_by)


def share_table(ident: int, title: str, guided: list[Limits], share: Share, *, group_by: str,
                how: str) -> Panel:
    targets = [Target(chr(ord("A") + i), share(limits, group_by)).table()
               for i, limits in enumerate(guided)]
    guidance = "; ".join(f"{sensor(limits.sensor).label}: {limits.describe()}"
                         for limits in guided)
    return table_panel(
        ident, title, targets, width=24, height=9, transformations=join_on(group_by),
        description=f"Percent of occupied time within guidance, {how}. Guidance: {guidance}.",
        overrides=[override(sensor(limits.sensor).label, unit="percent", decimals=1,
                            **coloured_cells(SHARE_STEPS)) for limits in guided])


def build(limits: dict[str, Limits]) -> dashboard_builders.Dashboard:
    guided = [limits[kind] for kind in GUIDANCE_ORDER if kind in limits]
    guided += [limits[kind] for kind in sorted(limits) if kind not in GUIDANCE_ORDER]
    ident = ids()
    board = skeleton(UID, "Zoom Rooms: air quality",
                     "Share of occupied time within WELL/WHO guidance per room and building.",
                     time_from="now-30d", refresh="15m",
                     variables=[variables.building(), variables.floor(), variables.room()])
    rollup = "from 5-minute rollups (any range)"
    raw = "exact, from raw readings (ranges within the raw retention)"
    shares = row(next(ident), "Share of occupied time within guidance")
    per_room = share_table(next(ident), "Per room", guided, rollup_share, group_by="room_name",
                           how=rollup)
    per_building = share_table(next(ident), "Per building", guided, rollup_share,
                               group_by="building", how=rollup)
    exact = (row(next(ident), "Exact shares from raw readings (ranges within raw retention)",
                 collapsed=True)
             .with_panel(share_table(next(ident), "Per room (raw readings)", guided, raw_share,
                                     group_by="room_name", how=raw))
             .with_panel(share_table(next(ident), "Per building (raw readings)", guided,
                                     raw_share, group_by="building", how=raw)))
    return (board.with_row(shares).with_panel(per_room).with_panel(per_building)
            .with_row(exact))
