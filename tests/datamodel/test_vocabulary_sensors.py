"""One sensor vocabulary: notifications, the status page and the dashboards agree on it."""

from __future__ import annotations

from monitor.dashboards.sensors import sensor
from monitor.datamodel.vocabulary import SENSOR_TYPES, SENSORS, sensor_kind
from monitor.notify.render import format_value
from monitor.status.model import KNOWN_SENSORS


def test_every_documented_type_has_one_entry() -> None:
    assert set(SENSOR_TYPES) == set(SENSORS)
    assert {column.sensor_type for column in KNOWN_SENSORS} == set(SENSORS)


def test_units_and_decimals_are_the_same_everywhere() -> None:
    for column in KNOWN_SENSORS:
        kind = SENSORS[column.sensor_type]
        assert (column.unit, column.decimals) == (kind.unit, kind.decimals)
        assert sensor(kind.type) is kind
    assert format_value(1150.4, "CO2") == "1150 ppm"
    assert format_value(21.46, "temperature") == "21.5 °C"


def test_unknown_types_are_shown_by_name_as_they_come() -> None:
    kind = sensor_kind("NEW_SENSOR")
    assert (kind.label, kind.short, kind.unit, kind.decimals) == (
        "NEW_SENSOR", "New Sensor", "", None)
    assert format_value(2.5, "NEW_SENSOR") == "2.5"
