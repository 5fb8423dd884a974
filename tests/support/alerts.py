"""Alerts and notifications built by hand, at a fixed "now", for notification tests."""

from __future__ import annotations

from monitor.notify.message import Notification
from monitor.rules.model import Alert

T0 = 1_800_000_000.0                      # a fixed "now" for outbox tests (2027-01-15)
NS = 1_000_000_000


def make_alert(room_id: str = "room-1", *, room: str = "Everest", rule_id: str = "air/co2-high",
               status: str = "firing", level: str = "critical", value: float | None = 1250.0,
               threshold: str = "above 1000", sensor: str = "CO2", building: str = "HQ",
               started_s: float = T0 - 720, at_s: float = T0,
               notify: tuple[str, ...] = ("hook",), summary: str = "CO2 is high") -> Alert:
    labels = {"room_name": room, "sensor_type": sensor}
    if building:
        labels["building"] = building
    return Alert(rule_id=rule_id, room_id=room_id, status=status,  # type: ignore[arg-type]
                 level=level, value=value, threshold=threshold,
                 starts_at_ns=int(started_s * NS), at_ns=int(at_s * NS), labels=labels,
                 annotations={"summary": summary} if summary else {}, notify=notify)


def make_notification(*alerts: Alert, channel: str | None = None) -> Notification:
    """Alerts of one rule in building HQ as the dispatcher groups them: one message.

    The channel is the first alert's first ``notify`` entry, the kind its status.
    """
    members = alerts or (make_alert(),)
    return Notification(channel or members[0].notify[0], "air/co2-high{building=HQ}",
                        members, members[0].status, {"building": "HQ"})


def two_rooms(channel: str) -> Notification:
    """Two rooms of one rule firing, for ``channel``: Everest at 1250 ppm, K2 at 1100 ppm."""
    return make_notification(make_alert("r1", room="Everest", notify=(channel,)),
                             make_alert("r2", room="K2", value=1100.0, notify=(channel,)))


def note(*alerts: Alert, kind: str = "firing", labels: dict[str, str] | None = None,
         ) -> Notification:
    """A notification to "hook" of exactly these alerts, of any kind and group labels."""
    return Notification("hook", "air/co2-high{building=HQ}", alerts or (make_alert(),),
                        kind,  # type: ignore[arg-type]
                        {"building": "HQ"} if labels is None else labels)


def room_notification(room_id: str = "room-1", *, kind: str = "firing",
                      channel: str = "hook") -> Notification:
    """One alert of ``room_id`` as one message of group ``air/co2-high{building=HQ}``."""
    alert = make_alert(room_id, status=kind, notify=(channel,))
    return Notification(channel, "air/co2-high{building=HQ}", (alert,),
                        kind, {"building": "HQ"})  # type: ignore[arg-type]
