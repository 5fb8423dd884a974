"""The alert each step tells the notifier: firing reminders, and resolves that say what ended."""

from __future__ import annotations

from support.roomsteps import ROOM, alert, at, rule, scenario

from monitor.rules.roomstate import RoomState
from monitor.rules.statemachine import Transition


def test_resolve_carries_the_value_at_resolve_time_and_the_level_that_resolved() -> None:
    r = rule(for_s=60)
    steps = scenario(r, [
        (0, 1300, "pending:warning"),
        (1, 1400, "firing:warning"),
        (2, 1100, "firing:warning"),
        (3, 850, "inactive"),
    ])
    [resolve] = steps[-1].transitions
    assert resolve == Transition("air/co2", ROOM, "firing", "inactive", "warning", 850.0, at(3))
    resolved = alert(r, steps[2].state, steps[3], 3)
    assert resolved is not None
    assert (resolved.status, resolved.level, resolved.value) == ("resolved", "warning", 850.0)
    assert (resolved.starts_at_ns, resolved.at_ns) == (at(1), at(3))
    assert resolved.threshold == "above 1000"
    assert resolved.notify == ("email",)
    assert resolved.labels == {"room_id": ROOM} and resolved.annotations == {"summary": "s"}


def test_alert_for_is_the_same_given_the_state_before_or_after_the_step() -> None:
    r = rule()
    steps = scenario(r, [(0, 1300, "firing:warning"), (1, 850, "inactive")])
    assert alert(r, steps[0].state, steps[1], 1) == alert(r, steps[1].state, steps[1], 1)


def test_firing_alerts_repeat_every_evaluation_and_nothing_else_alerts() -> None:
    r = rule(for_s=60)
    steps = scenario(r, [(0, 1300, "pending:warning"), (1, 1300, "firing:warning"),
                         (2, 1350, "firing:warning"), (3, 500, "inactive"), (4, 500, "inactive")])
    alerts = [alert(r, RoomState(), s, m) for s, m in zip(steps, range(5), strict=True)]
    assert [a.status if a else None for a in alerts] == [None, "firing", "firing", "resolved",
                                                         None]
    firing = alerts[2]
    assert firing is not None
    assert (firing.value, firing.starts_at_ns, firing.level) == (1350.0, at(1), "warning")
