"""Inhibition: while one alert fires, the alerts it explains are muted.

A critical alert explains its room's lesser ones, an offline room its silent
sensors, no webhook from Zoom at all every room's. The rules come from
``inhibit`` in ``rules/notify.yaml`` (default :data:`DEFAULT_INHIBIT`); the
dispatcher (:mod:`monitor.notify.dispatch`) asks :func:`inhibited` each cycle,
over all active alerts, silenced ones included.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from monitor.notify.matchers import alert_labels, labels_match
from monitor.rules.model import Alert


@dataclass(frozen=True)
class InhibitRule:
    """While a ``source`` alert fires, ``target`` alerts with the same ``equal`` labels are muted.

    An alert never inhibits itself, even when it matches both sides.
    """

    source: dict[str, str]
    target: dict[str, str]
    equal: tuple[str, ...] = ()

    def inhibits(self, source: Mapping[str, str], target: Mapping[str, str]) -> bool:
        return (labels_match(self.source, source) and labels_match(self.target, target)
                and all(source.get(name, "") == target.get(name, "") for name in self.equal))


# A critical alert explains a room's lesser ones (an offline room's flaky display, a
# stuffy room's rising CO2): same room, any rule. An escalation of one rule is a level
# change of one alert, so "same rule" would never mute anything. An offline room
# also explains its silent sensors, and no webhook from Zoom at all explains every
# room's (the fleet-wide rule of rules/webhooks.yaml).
DEFAULT_INHIBIT: tuple[InhibitRule, ...] = (
    InhibitRule({"level": "critical"}, {"level": "warning"}, ("room_id",)),
    InhibitRule({"level": "critical"}, {"level": "info"}, ("room_id",)),
    InhibitRule({"rule": "room-health/room-offline"}, {"status": "no_data"}, ("room_id",)),
    InhibitRule({"rule": "room-health/room-offline"}, {"rule": "~.*-sensor-silent"},
                ("room_id",)),
    InhibitRule({"rule": "webhooks/zoom-silent"}, {"rule": "~.*-sensor-silent"}),
    InhibitRule({"rule": "webhooks/zoom-silent"}, {"status": "no_data"}),
)



def inhibited(alerts: Sequence[Alert], rules: Sequence[InhibitRule]) -> set[int]:
    """Indexes of active alerts muted by another active alert (linear per rule)."""
    labels = [alert_labels(alert) for alert in alerts]
    active = [i for i, alert in enumerate(alerts) if alert.status != "resolved"]
    out: set[int] = set()
    for rule in rules:
        sources: dict[tuple[str, ...], list[int]] = {}
        for i in active:
            if labels_match(rule.source, labels[i]):
                sources.setdefault(_equal_values(rule, labels[i]), []).append(i)
        for i in active:
            if i not in out and labels_match(rule.target, labels[i]) and any(
                    j != i and _can_inhibit(rule, labels[j], labels[i])
                    for j in sources.get(_equal_values(rule, labels[i]), ())):
                out.add(i)
    return out


def _equal_values(rule: InhibitRule, labels: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(labels.get(name, "") for name in rule.equal)


def _can_inhibit(rule: InhibitRule, source: Mapping[str, str], target: Mapping[str, str]) -> bool:
    """Two alerts that both match both sides would mute each other: neither does."""
    return not (labels_match(rule.source, target) and labels_match(rule.target, source))

