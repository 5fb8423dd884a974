"""Titles, alert lines, units and the plain text every channel shares."""

from __future__ import annotations

from dataclasses import replace

import pytest
from support.alerts import T0, make_alert, note

from monitor.notify import render
from monitor.rules.model import Alert


def test_titles() -> None:
    two = (make_alert("r1"), make_alert("r2", room="K2"))
    assert render.title(note(*two)) == "[FIRING:2] co2-high — HQ"
    assert render.title(note(*two, labels={})) == "[FIRING:2] co2-high — 2 rooms"
    resolved = make_alert(status="resolved", value=850.0)
    assert render.title(note(resolved, kind="resolved")) == "[RESOLVED] co2-high — Everest"
    silent = make_alert(status="no_data", value=None)
    assert render.title(note(silent, kind="no_data")) == "[NO DATA:1] co2-high — Everest"


def test_title_is_one_line_even_with_hostile_labels() -> None:
    alert = make_alert(room="Everest\r\nBcc: evil@example.com")
    assert "\n" not in render.title(note(alert))


def test_alert_lines_carry_room_level_value_unit_threshold_duration_summary() -> None:
    assert render.alert_line(make_alert()) == (
        "Everest — critical: 1250 ppm (threshold above 1000 ppm), for 12 min — CO2 is high")
    resolved = make_alert(status="resolved", level="warning", value=830.4, started_s=T0 - 3900)
    assert render.alert_line(resolved) == (
        "Everest — resolved (warning) at 830 ppm (threshold above 1000 ppm), lasted 1 h 5 min"
        " — CO2 is high")
    silent = make_alert(status="no_data", value=None, threshold="", summary="",
                        started_s=T0 - 45)
    assert render.alert_line(silent) == "Everest — no data for 45 s"


@pytest.mark.parametrize(("value", "sensor", "text"), [
    (1250.4, "CO2", "1250 ppm"),
    (23.456, "TEMPERATURE", "23.5 °C"),
    (41.6, "HUMIDITY", "42 %"),
    (12.34, "PM25", "12.3 µg/m³"),
    (40.0, "pm10", "40.0 µg/m³"),
    (250.0, "VOC", "250 µg/m³"),
    (1013.25, "AIR_PRESSURE", "1013 hPa"),
    (3.0, "", "3"),
    (None, "CO2", "no value"),
])
def test_format_value(value: float | None, sensor: str, text: str) -> None:
    assert render.format_value(value, sensor) == text


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0 s"), (59.9, "59 s"), (60, "1 min"), (3599, "59 min"), (3600, "1 h"),
    (3660, "1 h 1 min"), (86_400, "1 d"), (90_000, "1 d 1 h"), (-5, "0 s"),
])
def test_human_duration(seconds: float, text: str) -> None:
    assert render.human_duration(seconds) == text


def test_long_groups_are_cut() -> None:
    alerts = tuple(make_alert(f"r{i:02}", room=f"Room {i:02}") for i in range(25))
    lines = render.lines(note(*alerts))
    assert len(lines) == render.MAX_LINES + 1
    assert lines[-1] == "… and 5 more"


def test_text_for_email_and_log() -> None:
    text = render.text(note())
    assert text.splitlines()[0] == "[FIRING:1] co2-high — Everest"
    assert "Everest — critical: 1250 ppm" in text
    assert "Rule: air/co2-high" in text


def test_a_message_mixing_rules_names_them() -> None:
    co2 = make_alert("r1")
    temp = make_alert("r2", room="K2", rule_id="air/temp-high", value=27.0,
                      sensor="TEMPERATURE", threshold="above 26", summary="")
    notification = note(co2, temp)
    assert render.title(notification) == "[FIRING:2] co2-high, temp-high — HQ"
    assert render.lines(notification) == [
        "[co2-high] Everest — critical: 1250 ppm (threshold above 1000 ppm), for 12 min"
        " — CO2 is high",
        "[temp-high] K2 — critical: 27.0 °C (threshold above 26 °C), for 12 min",
    ]
    third = make_alert("r3", rule_id="air/voc-high")
    assert render.title(note(co2, temp, third)).startswith("[FIRING:3] 3 rules — HQ")


def in_seconds(alert: Alert) -> Alert:
    """A rule whose value is a duration: the evaluator labels its alerts unit=s."""
    return replace(alert, labels={**alert.labels, "unit": "s"})


def test_silent_and_incident_rules_read_as_durations_not_sensor_units() -> None:
    silent = in_seconds(make_alert(rule_id="air-quality/co2-sensor-silent", room="Fuji",
                                   level="warning", value=3062.0, threshold="above 1200",
                                   started_s=T0 - 1860, summary=""))
    assert render.alert_line(silent) == (
        "Fuji — warning: 51 min (threshold above 20 min), for 31 min")
    offline = in_seconds(make_alert(rule_id="room-health/room-offline", room="Matterhorn",
                                    status="resolved", value=2820.0, threshold="above 600",
                                    sensor="", started_s=T0 - 2220, summary=""))
    assert render.alert_line(offline) == (
        "Matterhorn — resolved (critical) at 47 min (threshold above 10 min), lasted 37 min")
    assert render.format_value(3062.0, "CO2", unit="s") == "51 min"
    assert render.format_value(12.5, "VOC", unit="ppb") == "12.5 ppb"   # a rule's own unit label


@pytest.mark.parametrize(("threshold", "unit", "text"), [
    ("above 1000", "ppm", "above 1000 ppm"),
    ("above 1200", "s", "above 20 min"),
    ("outside [1800, 5400]", "s", "outside [30 min, 1 h 30 min]"),
    ("no data for 1200s", "ppm", "no data for 1200s"),
    ("above 3", "", "above 3"),
])
def test_threshold_text(threshold: str, unit: str, text: str) -> None:
    assert render.threshold_text(threshold, unit) == text
