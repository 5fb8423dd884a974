"""Panel shapes the four dashboards share: time series, tables, stats, rows.

Every panel gets the InfluxDB data source and a stable id (its position),
so regenerating an unchanged dashboard yields byte-identical JSON.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import count
from typing import Any

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import stat, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import common, dashboard

from monitor.dashboards.influxql import Target, datasource
from monitor.dashboards.thresholds import OK_COLOUR, Limits

Json = dict[str, Any]
Panel = cogbuilder.Builder[dashboard.Panel]
Override = cogbuilder.Builder[dashboard.DashboardFieldConfigSourceOverrides]


def ids() -> Iterator[int]:
    return count(1)


Steps = Sequence[tuple[float | None, str]]


def steps_config(steps: Steps) -> dashboard_builders.ThresholdsConfig:
    return (dashboard_builders.ThresholdsConfig()
            .mode(dashboard.ThresholdsMode.ABSOLUTE)
            .steps([dashboard.Threshold(value=value, color=colour) for value, colour in steps]))


def limit_steps(limits: Limits | None) -> Steps:
    return limits.steps() if limits is not None else [(None, OK_COLOUR)]


def steps_json(steps: Steps) -> Json:
    """The same steps for a field override (overrides take plain JSON values)."""
    return {"mode": "absolute",
            "steps": [{"color": colour, "value": value} for value, colour in steps]}


def _override(matcher: str, options: str, properties: dict[str, object]) -> Override:
    """Field overrides; ``custom__lineWidth=1`` is the property ``custom.lineWidth``."""
    return (dashboard_builders.DashboardFieldConfigSourceOverrides()
            .matcher(dashboard.MatcherConfig(id_val=matcher, options=options))
            .properties([dashboard.DynamicConfigValue(id_val=key.replace("__", "."), value=value)
                         for key, value in properties.items()]))


def override(name: str, **properties: object) -> Override:
    return _override("byName", name, properties)


def regexp_override(pattern: str, **properties: object) -> Override:
    return _override("byRegexp", pattern, properties)


def transformation(kind: str, options: Json) -> dashboard.DataTransformerConfig:
    return dashboard.DataTransformerConfig(id_val=kind, options=options)


def join_on(field: str) -> list[dashboard.DataTransformerConfig]:
    """One row per ``field`` from several table targets, without their time columns."""
    return [transformation("joinByField", {"byField": field, "mode": "outer"}),
            transformation("organize", {"excludeByName": {"Time": True}}),
            transformation("filterFieldsByName", {"include": {"pattern": "^(?!Time).*$"}})]


def _legend() -> common_builders.VizLegendOptions:
    return (common_builders.VizLegendOptions().display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM).show_legend(True).calcs([]))


def _tooltip() -> common_builders.VizTooltipOptions:
    return (common_builders.VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI)
            .sort(common.SortOrder.DESCENDING))


def time_series(ident: int, title: str, targets: Sequence[Target], *, unit: str,
                description: str, limits: Limits | None = None,
                width: int = 12, height: int = 8) -> timeseries.Panel:
    """Thresholds, when the rules have some, are drawn as coloured bands behind the lines."""
    panel = (timeseries.Panel().id(ident).title(title).description(description)
             .datasource(datasource()).targets(list(targets)).unit(unit)
             .span(width).height(height).line_width(2).fill_opacity(0).span_nulls(True)
             .legend(_legend()).tooltip(_tooltip())
             .thresholds(steps_config(limit_steps(limits))))
    if limits is not None:
        panel = panel.thresholds_style(common_builders.GraphThresholdsStyleConfig()
                                       .mode(common.GraphTresholdsStyleMode.LINE_AND_AREA))
    return panel


def bars(ident: int, title: str, targets: Sequence[Target], *, description: str,
         width: int = 24, height: int = 8) -> timeseries.Panel:
    """Stacked bars: counts per interval, one colour per series."""
    return (timeseries.Panel().id(ident).title(title).description(description)
            .datasource(datasource()).targets(list(targets)).unit("none")
            .span(width).height(height).draw_style(common.GraphDrawStyle.BARS)
            .fill_opacity(80).line_width(1).legend(_legend()).tooltip(_tooltip())
            .stacking(common_builders.StackingConfig().mode(common.StackingMode.NORMAL)))


def table_panel(ident: int, title: str, targets: Sequence[Target], *, description: str,
                transformations: Sequence[dashboard.DataTransformerConfig] = (),
                overrides: Sequence[Override] = (),
                width: int = 24, height: int = 10) -> table.Panel:
    return (table.Panel().id(ident).title(title).description(description)
            .datasource(datasource()).targets(list(targets)).span(width).height(height)
            .transformations(list(transformations)).overrides(list(overrides))
            .show_header(True).cell_height(common.TableCellHeight.SM))


def stat_panel(ident: int, title: str, target: Target, *, description: str, unit: str = "none",
               steps: Steps = ((None, OK_COLOUR),),
               width: int = 6, height: int = 5) -> stat.Panel:
    return (stat.Panel().id(ident).title(title).description(description)
            .datasource(datasource()).targets([target]).unit(unit).span(width).height(height)
            .thresholds(steps_config(steps)).color_mode(common.BigValueColorMode.BACKGROUND)
            .graph_mode(common.BigValueGraphMode.NONE)
            .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"])
                            .values(False)))


def row(ident: int, title: str, *, collapsed: bool = False) -> dashboard_builders.Row:
    return dashboard_builders.Row(title).id(ident).collapsed(collapsed)


def coloured_cells(steps: Steps) -> dict[str, object]:
    """Override properties that colour a table column's cells by threshold."""
    return {"thresholds": steps_json(steps),
            "custom__cellOptions": {"type": "color-background"}}
