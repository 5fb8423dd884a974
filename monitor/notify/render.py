"""How a notification reads on every channel: one title, one line per room, a plain text.

All channels share the same title and lines so an alert reads the same in
Slack, Teams, e-mail and the log; only the envelope differs, and each
channel kind builds its own in ``monitor/notify/channels/``. Long groups
are cut at :data:`MAX_LINES` rooms because Slack and Teams reject (not
truncate) oversized messages, which would turn a big outage into no message.
"""

from __future__ import annotations

import re

from monitor.core.timeutil import NS_PER_S, human_duration
from monitor.datamodel.vocabulary import sensor_kind
from monitor.notify.message import Notification, room_name
from monitor.rules.model import Alert

MAX_LINES = 20

# An alert label naming the value's unit, which wins over the sensor's: the evaluator sets
# "s" for rules whose value is a duration (silent sensors, open incidents), whatever sensor.
SECONDS = "s"
_COMPARISONS = ("above ", "below ", "outside ", "inside ")   # Threshold.describe()
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?")

_STATUS_WORD = {"firing": "FIRING", "resolved": "RESOLVED", "no_data": "NO DATA"}


def title(notification: Notification) -> str:
    """``[FIRING:2] co2-high — HQ`` / ``[RESOLVED] co2-high — Everest``.

    Active states carry a count (how many rooms need attention); a resolve
    does not, as in Alertmanager's default template. One line, always: it
    becomes an e-mail subject.
    """
    alerts = notification.alerts
    word = _STATUS_WORD[notification.kind]
    tag = f"[{word}]" if notification.kind == "resolved" else f"[{word}:{len(alerts)}]"
    return _one_line(f"{tag} {notification.rule_name} — {_subject(notification)}")


def _subject(notification: Notification) -> str:
    if len(notification.alerts) == 1:
        return room_name(notification.alerts[0])
    named = [value for value in notification.group_labels.values() if value]
    return " / ".join(named) if named else f"{len(notification.alerts)} rooms"


def alert_line(alert: Alert, *, with_rule: bool = False) -> str:
    """``Everest — critical: 1250 ppm (threshold above 1000 ppm), for 12 min — CO2 is high``.

    A rule whose value is a duration (label ``unit=s``: silent sensors, open
    incidents) reads ``Fuji — warning: 51 min (threshold above 20 min), for 31 min``.
    ``with_rule`` prefixes the rule name, for messages that mix rules.
    """
    sensor = alert.labels.get("sensor_type", "").upper()
    unit = alert.labels.get("unit") or sensor_kind(sensor).unit
    threshold = threshold_text(alert.threshold, unit)
    limit = f" (threshold {threshold})" if threshold else ""
    duration = human_duration((alert.at_ns - alert.starts_at_ns) / NS_PER_S)
    value = format_value(alert.value, sensor, unit=alert.labels.get("unit"))
    if alert.status == "no_data":
        state = f"no data for {duration}"
    elif alert.status == "resolved":
        state = f"resolved ({alert.level}) at {value}{limit}, lasted {duration}"
    else:
        state = f"{alert.level}: {value}{limit}, for {duration}"
    summary = alert.annotations.get("summary", "")
    prefix = f"[{alert.rule_id.rsplit('/', 1)[-1]}] " if with_rule else ""
    return _one_line(f"{prefix}{room_name(alert)} — {state}"
                     + (f" — {summary}" if summary else ""))


def lines(notification: Notification, limit: int = MAX_LINES) -> list[str]:
    mixed = len(notification.rule_ids) > 1
    shown = [alert_line(alert, with_rule=mixed) for alert in notification.alerts[:limit]]
    hidden = len(notification.alerts) - len(shown)
    if hidden > 0:
        shown.append(f"… and {hidden} more")
    return shown


def text(notification: Notification) -> str:
    """Plain text for e-mail bodies and the log."""
    body = "\n".join(lines(notification))
    return f"{title(notification)}\n\n{body}\n\nRule: {notification.rule_id}\n"


def format_value(value: float | None, sensor_type: str = "", *, unit: str | None = None) -> str:
    """With the sensor's unit; ``unit`` (an alert's ``unit`` label) wins: ``s`` is a duration."""
    if value is None:
        return "no value"
    if unit == SECONDS:
        return human_duration(value)
    if unit:
        return f"{value:g} {unit}"
    kind = sensor_kind(sensor_type.upper())
    sensor_unit, decimals = kind.unit, kind.decimals
    if not sensor_unit or decimals is None:     # a count or index: as it came
        return f"{value:g}"
    return f"{value:.{decimals}f} {sensor_unit}"


def threshold_text(threshold: str, unit: str) -> str:
    """``above 1000 ppm``; for durations ``above 20 min``; other texts (``no data for 1200s``)
    already say what they mean and get no unit."""
    if not threshold.startswith(_COMPARISONS) or not unit:
        return threshold
    if unit == SECONDS:
        return _NUMBER.sub(lambda match: human_duration(float(match.group())), threshold)
    return f"{threshold} {unit}"


def _one_line(value: str) -> str:
    return " ".join(value.split())
