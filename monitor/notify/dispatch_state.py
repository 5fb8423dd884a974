"""The dispatcher's state: one group per (channel, group key), and its JSON form.

Apart from :mod:`monitor.notify.dispatch` (which decides, each cycle, what the
groups send) because this is what survives a restart: the engine commits
:func:`state_to_json` with the cycle's notifications (:mod:`monitor.runtime.journal`)
and a restarted process resumes from :func:`state_from_json`, so its messages keep
the same ids and the outbox ignores what it already holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from monitor.rules.model import Alert, AlertStatus

FORMAT_VERSION = 1
Stamp = tuple[str, str, int]          # (status, level, starts_at_ns): what the channel was told
GroupId = tuple[str, str]             # (channel, group key)


def stamp(alert: Alert) -> Stamp:
    return alert.status, alert.level, alert.starts_at_ns


@dataclass
class Member:
    """An active alert in a group, as last reported."""

    alert: Alert
    suppressed: bool            # silenced or inhibited in the latest cycle
    seen_ns: int

    @property
    def stamp(self) -> Stamp:
        return stamp(self.alert)


@dataclass
class Group:
    """One channel's view of a group: its alerts and what it has been told about them."""

    channel: str
    key: str
    labels: dict[str, str]
    members: dict[str, Member] = field(default_factory=dict)      # fingerprint →
    told: dict[str, Stamp] = field(default_factory=dict)          # fingerprint → as last sent
    resolved: dict[str, Alert] = field(default_factory=dict)      # told, resolved, not yet sent
    last_sent_ns: int | None = None
    changed_ns: int | None = None     # when the pending change was first seen
    reminders: int = 0                # repeats since the last change
    sent: int = 0                     # messages so far: the next message's ``repeat``

    def active(self) -> list[Alert]:
        return [m.alert for m in self.members.values() if not m.suppressed]

    def has_change(self) -> bool:
        return bool(self.resolved) or any(
            self.told.get(m.alert.fingerprint) != m.stamp
            for m in self.members.values() if not m.suppressed)

    def empty(self) -> bool:
        return not self.members and not self.resolved



def state_to_json(groups: Mapping[GroupId, Group]) -> dict[str, Any]:
    return {"version": FORMAT_VERSION,
            "groups": [_group_to_json(groups[gid]) for gid in sorted(groups)]}


def state_from_json(data: Mapping[str, Any]) -> dict[GroupId, Group]:
    if data.get("version") != FORMAT_VERSION:
        raise ValueError(f"unknown dispatcher state version {data.get('version')!r}")
    groups = [_group_from_json(item) for item in data["groups"]]
    return {(group.channel, group.key): group for group in groups}


def _group_to_json(group: Group) -> dict[str, Any]:
    return {
        "channel": group.channel, "key": group.key, "labels": dict(group.labels),
        "members": [{"alert": alert_to_json(m.alert), "suppressed": m.suppressed,
                     "seen_ns": m.seen_ns} for m in group.members.values()],
        "told": {fp: list(told) for fp, told in group.told.items()},
        "resolved": [alert_to_json(alert) for alert in group.resolved.values()],
        "last_sent_ns": group.last_sent_ns, "changed_ns": group.changed_ns,
        "reminders": group.reminders, "sent": group.sent,
    }


def _group_from_json(data: Mapping[str, Any]) -> Group:
    members = [Member(alert_from_json(m["alert"]), bool(m["suppressed"]), int(m["seen_ns"]))
               for m in data["members"]]
    resolved = [alert_from_json(item) for item in data["resolved"]]
    return Group(
        channel=str(data["channel"]), key=str(data["key"]),
        labels={str(k): str(v) for k, v in data["labels"].items()},
        members={m.alert.fingerprint: m for m in members},
        told={fp: (str(s[0]), str(s[1]), int(s[2])) for fp, s in data["told"].items()},
        resolved={alert.fingerprint: alert for alert in resolved},
        last_sent_ns=_optional_int(data.get("last_sent_ns")),
        changed_ns=_optional_int(data.get("changed_ns")),
        reminders=int(data["reminders"]), sent=int(data["sent"]))


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def alert_to_json(alert: Alert) -> dict[str, Any]:
    return {"rule_id": alert.rule_id, "room_id": alert.room_id, "status": alert.status,
            "level": alert.level, "value": alert.value, "threshold": alert.threshold,
            "starts_at_ns": alert.starts_at_ns, "at_ns": alert.at_ns,
            "labels": dict(alert.labels), "annotations": dict(alert.annotations),
            "notify": list(alert.notify)}


def alert_from_json(data: Mapping[str, Any]) -> Alert:
    value = data.get("value")
    return Alert(rule_id=str(data["rule_id"]), room_id=str(data["room_id"]),
                 status=cast(AlertStatus, data["status"]), level=str(data["level"]),
                 value=None if value is None else float(value),
                 threshold=str(data["threshold"]), starts_at_ns=int(data["starts_at_ns"]),
                 at_ns=int(data["at_ns"]), labels=dict(data.get("labels") or {}),
                 annotations=dict(data.get("annotations") or {}),
                 notify=tuple(data.get("notify") or ()))
