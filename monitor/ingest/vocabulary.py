"""Zoom's numeric codes as words, so dashboards and messages are readable.

From the seed spec's descriptions of ``zoomroom.alert``. Unknown codes are
kept as ``type_<n>`` rather than rejected: Zoom adds values over time.
"""

from __future__ import annotations

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

SENSOR_TYPES = (
    "CO2", "TEMPERATURE", "HUMIDITY", "VOC", "AQI", "PM25", "PM10", "AIR_PRESSURE",
    "REAL_TIME_PEOPLE_COUNT",
)


def word(table: dict[int, str], code: int, prefix: str) -> str:
    return table.get(code, f"{prefix}_{code}")
