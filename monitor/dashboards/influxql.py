"""Raw InfluxQL targets and annotations for Grafana's InfluxDB data source.

The foundation SDK has builders for Prometheus, Loki and friends but none for
InfluxDB, so these two small builders fill the gap: a panel target (the
``InfluxQuery`` model with ``rawQuery: true``) and an annotation query. Both
point at one data source uid, the one the provisioning files create, so a
dashboard imported anywhere finds its data without editing.
"""

from __future__ import annotations

from typing import Literal, Self

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import dashboard

from monitor.datamodel.influxql import influxql_ident
from monitor.datamodel.measurements import ROOM_INCIDENT, RULE_STATE, SENSOR

DATASOURCE_UID = "zrmon-influxdb"
DATASOURCE_TYPE = "influxdb"
ResultFormat = Literal["time_series", "table"]

# The measurements the panels read most, quoted once for the queries' FROM.
SENSOR_Q = influxql_ident(SENSOR)
INCIDENT_Q = influxql_ident(ROOM_INCIDENT)
RULE_STATE_Q = influxql_ident(RULE_STATE)

# The location tags every measurement but `zoom_event` reliably carries.
BUILDING_FLOOR = ('"building" =~ /^$building$/', '"floor" =~ /^$floor$/')


def datasource() -> dashboard.DataSourceRef:
    return dashboard.DataSourceRef(type_val=DATASOURCE_TYPE, uid=DATASOURCE_UID)


def where(*conditions: str) -> str:
    """Conditions joined with AND, each parenthesised when it contains an OR."""
    return " AND ".join(f"({c})" if " OR " in c else c for c in conditions if c)


def room_filter() -> tuple[str, ...]:
    """building, floor and room; ``room_name`` is a tag in `sensor` and `rule_state` and a
    field in `room_alert`/`room_incident`, and InfluxQL filters both the same way."""
    return (*BUILDING_FLOOR, '"room_name" =~ /^$room$/')


class InfluxQuery(cogvariants.Dataquery):
    """One raw InfluxQL target, serialised the way Grafana's query editor saves it."""

    def __init__(self, ref_id: str, query: str, result_format: ResultFormat,
                 alias: str | None) -> None:
        self.ref_id = ref_id
        self.query = query
        self.result_format = result_format
        self.alias = alias

    def to_json(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "datasource": datasource(),
            "query": self.query,
            "rawQuery": True,
            "refId": self.ref_id,
            "resultFormat": self.result_format,
        }
        if self.alias:
            payload["alias"] = self.alias
        return payload


class Target(cogbuilder.Builder[cogvariants.Dataquery]):
    """Builder for :class:`InfluxQuery`, so panels take it like any SDK target."""

    def __init__(self, ref_id: str, query: str) -> None:
        self._query = InfluxQuery(ref_id, query, "time_series", None)

    def table(self) -> Self:
        self._query.result_format = "table"
        return self

    def alias(self, alias: str) -> Self:
        self._query.alias = alias
        return self

    def build(self) -> InfluxQuery:
        return self._query


class InfluxAnnotation(dashboard.AnnotationQuery):
    """An annotation whose events come from an InfluxQL query.

    Grafana 10+ reads ``target`` (its migrated form); older versions read the
    same query and column names at the top level. Both are written, equal,
    so the dashboards work on either.
    """

    def __init__(self, name: str, query: str, *, text_column: str, tags_column: str,
                 icon_color: str, enable: bool) -> None:
        super().__init__(name=name, datasource=datasource(), enable=enable, hide=False,
                         icon_color=icon_color)
        self.query = query
        self.text_column = text_column
        self.tags_column = tags_column

    def to_json(self) -> dict[str, object]:
        columns = {"tagsColumn": self.tags_column, "textColumn": self.text_column,
                   "timeEndColumn": "", "titleColumn": ""}
        return {
            **super().to_json(),
            **columns,
            "query": self.query,
            "target": {**columns, "fromAnnotations": True, "name": self.name,
                       "query": self.query, "queryType": "tags", "rawQuery": True,
                       "refId": "Anno"},
        }


class Annotation(cogbuilder.Builder[dashboard.AnnotationQuery]):
    def __init__(self, name: str, query: str, *, text: str, tags: str, color: str,
                 enable: bool = True) -> None:
        self._annotation = InfluxAnnotation(name, query, text_column=text, tags_column=tags,
                                            icon_color=color, enable=enable)

    def build(self) -> InfluxAnnotation:
        return self._annotation
