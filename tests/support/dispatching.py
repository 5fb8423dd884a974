"""Alerts on the dispatcher's injected clock: minutes after a Wednesday 10:00 in Berlin.

Shared by the tests of the dispatcher, of its persisted state and of inhibition.
"""

from __future__ import annotations

from monitor.notify.dispatch import Dispatcher
from monitor.notify.message import Notification
from monitor.notify.policy import Policy
from monitor.notify.silences import Silence
from monitor.rules.model import Alert

NS = 1_000_000_000
MIN = 60 * NS
T0 = 1_799_830_800 * NS            # Wednesday 2027-01-13 10:00 in Berlin
POLICY = Policy()                   # group_wait 30s, group_interval 5m, repeat 4h x2 up to 24h
CO2 = "air/co2-high"
OFFLINE = "room-health/room-offline"


def at(minutes: float) -> int:
    return T0 + round(minutes * MIN)


def alert(room: str, *, rule: str = CO2, building: str = "HQ", status: str = "firing",
          level: str = "warning", value: float | None = 1200.0, started: float = 0.0,
          now: float = 0.0, notify: tuple[str, ...] = ("chat",)) -> Alert:
    return Alert(rule_id=rule, room_id=room, status=status, level=level,  # type: ignore[arg-type]
                 value=value, threshold="above 1000", starts_at_ns=at(started), at_ns=at(now),
                 labels={"building": building, "room_name": room.upper()}, notify=notify)


def resolved(firing: Alert, value: float) -> Alert:
    return Alert(rule_id=firing.rule_id, room_id=firing.room_id, status="resolved",
                 level=firing.level, value=value, threshold=firing.threshold,
                 starts_at_ns=firing.starts_at_ns, at_ns=firing.at_ns,
                 labels=firing.labels, notify=firing.notify)


def run(dispatcher: Dispatcher, alerts: list[Alert], minutes: float,
        silences: list[Silence] | None = None) -> list[Notification]:
    return dispatcher.process(alerts, at(minutes), silences or [])
