"""What gets delivered: a group of alerts for one channel, with an id that survives restarts.

The evaluator emits an :class:`~monitor.rules.model.Alert` for every firing
room on *every* evaluation. Turning that stream into messages needs one
property: the same transition must always produce the same
:attr:`Notification.id`. The outbox inserts by id and ignores duplicates,
so re-emitting an unchanged alert — every minute, or after a restart that
restored rule state — sends nothing, while a new room, a new episode
(``starts_at``) or an escalation (``level``) yields a new id and a new message.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, cast

from monitor.rules.model import Alert

NotificationKind = Literal["firing", "resolved", "no_data"]
KINDS: tuple[NotificationKind, ...] = ("firing", "resolved", "no_data")


@dataclass(frozen=True)
class Notification:
    """Alerts of one rule and group, in one state, for one channel.

    ``group_labels`` are the labels the alerts were grouped by (e.g.
    ``{"building": "HQ"}``); titles use them to name the group. ``repeat``
    counts reminders of an unchanged group (0: the first message): it is part
    of the id, so a deliberate reminder is not dropped as a duplicate.
    """

    channel: str
    group_key: str
    alerts: tuple[Alert, ...]
    kind: NotificationKind
    group_labels: dict[str, str] = field(default_factory=dict)
    repeat: int = 0
    id: str = field(init=False)

    def __post_init__(self) -> None:
        if not self.alerts:
            raise ValueError("a notification needs at least one alert")
        if self.kind not in KINDS:
            raise ValueError(f"unknown notification kind {self.kind!r}")
        object.__setattr__(self, "id", notification_id(self.channel, self.group_key,
                                                        self.kind, self.alerts, self.repeat))

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """Usually one; several when the dispatcher groups without the rule."""
        return tuple(dict.fromkeys(alert.rule_id for alert in self.alerts))

    @property
    def rule_id(self) -> str:
        return ", ".join(self.rule_ids)

    @property
    def rule_name(self) -> str:
        """``co2-high``; ``co2-high, temp-high``; ``3 rules``."""
        names = list(dict.fromkeys(rule.rsplit("/", 1)[-1] for rule in self.rule_ids))
        return ", ".join(names) if len(names) <= 2 else f"{len(names)} rules"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form, for the outbox to store (``from_dict`` restores it)."""
        return {"channel": self.channel, "group_key": self.group_key, "kind": self.kind,
                "group_labels": dict(self.group_labels), "repeat": self.repeat,
                "alerts": [_alert_to_dict(alert) for alert in self.alerts]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Notification:
        return cls(channel=str(data["channel"]), group_key=str(data["group_key"]),
                   alerts=tuple(_alert_from_dict(item) for item in data["alerts"]),
                   kind=cast(NotificationKind, data["kind"]),
                   group_labels={str(k): str(v) for k, v in data["group_labels"].items()},
                   repeat=int(data.get("repeat", 0)))


def notification_id(channel: str, group_key: str, kind: str, alerts: Iterable[Alert],
                    repeat: int = 0) -> str:
    """A digest of what makes a transition: who, which episode, which level — never the value.

    The value changes on every evaluation; putting it in would send a new
    message every minute. ``at_ns`` is left out for the same reason.
    """
    members = sorted({(alert.fingerprint, alert.level, alert.starts_at_ns) for alert in alerts})
    parts: list[Any] = [1, channel, group_key, kind, members]
    if repeat:
        parts.append(repeat)
    canonical = json.dumps(parts, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def group_key(rule_id: str, labels: dict[str, str]) -> str:
    """``"air/co2-high{building=HQ}"``: readable in logs, unique per rule and group."""
    inner = ",".join(f"{name}={value}" for name, value in sorted(labels.items()))
    return f"{rule_id}{{{inner}}}"


def room_name(alert: Alert) -> str:
    return alert.labels.get("room_name") or alert.room_id


def _alert_to_dict(alert: Alert) -> dict[str, Any]:
    data = asdict(alert)
    data["notify"] = list(alert.notify)
    return data


def _alert_from_dict(data: dict[str, Any]) -> Alert:
    value = data.get("value")
    return Alert(rule_id=str(data["rule_id"]), room_id=str(data["room_id"]),
                 status=data["status"], level=str(data["level"]),
                 value=None if value is None else float(value),
                 threshold=str(data["threshold"]), starts_at_ns=int(data["starts_at_ns"]),
                 at_ns=int(data["at_ns"]), labels=dict(data.get("labels") or {}),
                 annotations=dict(data.get("annotations") or {}),
                 notify=tuple(data.get("notify") or ()))
