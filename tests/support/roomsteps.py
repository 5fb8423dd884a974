"""One room stepped through the state machine at injected minutes, for the state tests.

Most tests are tables: ``(minute, value or None, expected status)`` rows run
through :func:`scenario`, which fails with the whole observed table, so each
test reads as the story of one room.
"""

from __future__ import annotations

from monitor.rules.alerts import alert_for
from monitor.rules.model import Alert, Rule, Threshold
from monitor.rules.roomstate import RoomState
from monitor.rules.statemachine import Step, step

T0 = 1_793_527_200 * 10**9          # 2026-11-01T10:00:00Z
MIN = 60 * 10**9
ROOM = "room-1"

WARN_CRIT = {"warning": Threshold("above", 1000.0, resolve=900.0),
             "critical": Threshold("above", 2000.0, resolve=1800.0)}

Row = tuple[float, float | None, str]


def at(minute: float) -> int:
    return T0 + round(minute * MIN)


def rule(**kwargs: object) -> Rule:
    defaults: dict[str, object] = {"group": "air", "name": "co2", "kind": "threshold",
                                   "levels": WARN_CRIT, "sensor": "CO2",
                                   "notify": ("email",)}
    return Rule(**{**defaults, **kwargs})  # type: ignore[arg-type]


def label(state: RoomState) -> str:
    """``firing:critical``, ``pending:warning``, ``no_data``, ``inactive``."""
    if state.status == "inactive" or state.level is None:
        return state.status
    return f"{state.status}:{state.level}"


def scenario(r: Rule, rows: list[Row], state: RoomState | None = None) -> list[Step]:
    """Run the rows in order and compare the whole table at once, for a readable failure."""
    steps: list[Step] = []
    current = state or RoomState()
    for minute, value, _ in rows:
        steps.append(step(r, ROOM, current, value, at(minute)))
        current = steps[-1].state
    observed = [(minute, value, label(s.state)) for (minute, value, _), s in zip(rows, steps,
                                                                                strict=True)]
    assert observed == rows
    return steps


def changes(steps: list[Step]) -> list[tuple[str, str, str | None]]:
    return [(t.previous, t.current, t.level) for s in steps for t in s.transitions]


def alert(r: Rule, before: RoomState, done: Step, minute: float) -> Alert | None:
    return alert_for(r, ROOM, before, done, at(minute), {"room_id": ROOM}, {"summary": "s"})
