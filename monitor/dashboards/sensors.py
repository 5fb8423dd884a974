"""How each Zoom sensor type is labelled and measured on the dashboards.

Units follow what the sensors report (docs/data-model.md, rules/air-quality.yaml):
CO2 in ppm, particulates and TVOC in µg/m³, humidity in %RH, temperature in °C.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.ingest.vocabulary import SENSOR_TYPES

PEOPLE = "REAL_TIME_PEOPLE_COUNT"


@dataclass(frozen=True)
class Sensor:
    type: str        # the `sensor_type` tag
    label: str       # column and panel title
    unit: str        # Grafana unit id


_KNOWN = {
    "CO2": Sensor("CO2", "CO₂", "ppm"),
    "TEMPERATURE": Sensor("TEMPERATURE", "Temperature", "celsius"),
    "HUMIDITY": Sensor("HUMIDITY", "Humidity", "humidity"),
    "VOC": Sensor("VOC", "TVOC", "suffix: µg/m³"),
    "AQI": Sensor("AQI", "AQI", "none"),
    "PM25": Sensor("PM25", "PM2.5", "suffix: µg/m³"),
    "PM10": Sensor("PM10", "PM10", "suffix: µg/m³"),
    "AIR_PRESSURE": Sensor("AIR_PRESSURE", "Air pressure", "pressurehpa"),
    PEOPLE: Sensor(PEOPLE, "People", "none"),
}


def sensor(sensor_type: str) -> Sensor:
    return _KNOWN.get(sensor_type, Sensor(sensor_type, sensor_type, "none"))


def all_sensors() -> list[Sensor]:
    """Every sensor type Zoom documents, in the data model's order."""
    return [sensor(kind) for kind in SENSOR_TYPES]
