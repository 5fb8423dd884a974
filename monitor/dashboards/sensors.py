"""The sensor vocabulary as the dashboards use it: titles and Grafana unit ids.

The table itself is :data:`monitor.datamodel.vocabulary.SENSORS`, shared with
notifications and the status page.
"""

from __future__ import annotations

from monitor.datamodel.vocabulary import PEOPLE, SENSOR_TYPES, SensorKind, sensor_kind

__all__ = ["PEOPLE", "all_sensors", "sensor"]


def sensor(sensor_type: str) -> SensorKind:
    return sensor_kind(sensor_type)


def all_sensors() -> list[SensorKind]:
    """Every sensor type Zoom documents, in the data model's order."""
    return [sensor(kind) for kind in SENSOR_TYPES]
