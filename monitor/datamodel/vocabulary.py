"""Zoom's numeric codes as words, and its sensor types as names, units and decimals.

From the seed spec's descriptions of ``zoomroom.alert``. Unknown codes are
kept as ``type_<n>`` rather than rejected: Zoom adds values over time.

:data:`SENSORS` is the one table of how a sensor type is called and
measured: notifications, the status page and the dashboards all read it, so
a reading shows the same unit and precision everywhere. Units follow what
the sensors report (docs/data-model.md): CO2 in ppm, particulates and TVOC
in µg/m³, humidity in %RH, temperature in °C, pressure in hPa.
"""

from __future__ import annotations

from dataclasses import dataclass

ALERT_TYPES = {
    0: "other",
    1: "controller_or_display_disconnected",
    2: "audio_video_device_disconnected",
    3: "room_offline",
    4: "high_cpu",
    5: "low_bandwidth",
    6: "low_battery",
    7: "display_disconnected",
    8: "audio_quality",
    9: "sip_registration_failed",
    10: "incorrect_passcode",
}

COMPONENTS = {
    0: "other",
    1: "zoom_rooms_computer",
    2: "controller",
    3: "scheduling_display",
    4: "microphone",
    5: "camera",
    6: "speaker",
}

ALERT_KINDS = {1: "triggered", 2: "cleared", 3: "observed", 4: "other"}

KIND_TRIGGERED = 1
KIND_CLEARED = 2

PEOPLE = "REAL_TIME_PEOPLE_COUNT"


@dataclass(frozen=True)
class SensorKind:
    """One sensor type: its tag value, how it is titled and how its values are written."""

    type: str                # the ``sensor_type`` tag
    label: str               # panel title, report heading
    short: str               # table column header, where space is short
    unit: str = ""           # as printed after a value; "" when the value has none
    decimals: int | None = 0  # None: as many as the value needs
    grafana_unit: str = "none"


SENSORS: dict[str, SensorKind] = {kind.type: kind for kind in (
    SensorKind("CO2", "CO₂", "CO₂", "ppm", 0, "ppm"),
    SensorKind("TEMPERATURE", "Temperature", "Temp.", "°C", 1, "celsius"),
    SensorKind("HUMIDITY", "Humidity", "Humidity", "%", 0, "humidity"),
    SensorKind("VOC", "TVOC", "VOC", "µg/m³", 0, "suffix: µg/m³"),
    SensorKind("AQI", "AQI", "AQI"),
    SensorKind("PM25", "PM2.5", "PM2.5", "µg/m³", 1, "suffix: µg/m³"),
    SensorKind("PM10", "PM10", "PM10", "µg/m³", 1, "suffix: µg/m³"),
    SensorKind("AIR_PRESSURE", "Air pressure", "Pressure", "hPa", 0, "pressurehpa"),
    SensorKind(PEOPLE, "People", "People"),
)}
SENSOR_TYPES = tuple(SENSORS)     # every type Zoom documents, in the data model's order


def sensor_kind(sensor_type: str) -> SensorKind:
    """The table's entry; an undocumented type is shown by its name, its values as they come."""
    known = SENSORS.get(sensor_type)
    if known is not None:
        return known
    return SensorKind(sensor_type, sensor_type, sensor_type.replace("_", " ").title(),
                      decimals=None)


def word(table: dict[int, str], code: int, prefix: str) -> str:
    return table.get(code, f"{prefix}_{code}")
