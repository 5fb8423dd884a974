"""Pair triggered and cleared room alerts into incidents, whatever order they arrive in.

Zoom delivers ``zoomroom.alert`` and ``zoomroom.delayed_alert`` at least once and in no
particular order: the same alert can come twice (retries, both event names, two
subscriptions), a clear can come before its trigger, and an earlier trigger can come
after a later one. An incident is a triggered alert and the clear that ends it, keyed
by (room_id, alert_type, component).

Why the pairing is computed from the *set* of alert times rather than step by step:
the only way to make the result independent of arrival order is to make it a function
of what has been seen, not of when. So per key the book remembers the distinct trigger
and clear times, and on every event recomputes the incidents as if the times had
arrived sorted (a trigger opens an incident unless one is open, a clear closes the open
incident or is an orphan otherwise), then reports the difference from before as
upserts and deletes. Seeing an alert a second time leaves the set, and therefore the
incidents, unchanged: no change. Any order of the same alerts ends at the same set:
the same incidents. At equal times a trigger counts before a clear, so a trigger at
the very end of an incident belongs to it and a clear at the start of an open one
closes it with zero duration.

Memory is bounded per key: old closed incidents are forgotten behind a *horizon* (the
end of the newest forgotten one) and anything at or before the horizon is ignored from
then on, so a very late copy of a forgotten alert cannot reopen history. Orphan clears
and triggers that merely repeat an incident already under way are capped as well.

Pure: no I/O, no clock. The writer owns the only instance and calls it sequentially.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from dataclasses import dataclass, field
from typing import Any

from monitor.core.timeutil import NS_PER_S

__all__ = [
    "ALERT_CLEARED",
    "ALERT_TRIGGERED",
    "Incident",
    "IncidentBook",
    "IncidentChange",
    "IncidentKey",
]

IncidentKey = tuple[str, int, int]  # (room_id, alert_type, component)

ALERT_TRIGGERED = 1
ALERT_CLEARED = 2

_JSON_VERSION = 1


@dataclass(frozen=True)
class Incident:
    """One triggered alert, and the clear that ended it once that has been seen."""

    key: IncidentKey
    start_ns: int
    end_ns: int | None  # None while open

    @property
    def duration_s(self) -> float | None:
        """Seconds from trigger to clear; None while open (no clock here to guess with)."""
        if self.end_ns is None:
            return None
        return (self.end_ns - self.start_ns) / NS_PER_S


@dataclass(frozen=True)
class IncidentChange:
    """What the store must do: points are addressed by (key, start_ns)."""

    upsert: Incident | None = None  # write/overwrite the point at (key, start_ns)
    delete: Incident | None = None  # remove the point at (key, start_ns)


@dataclass(frozen=True)
class _Sweep:
    """The incidents implied by one key's alert times, plus the times that paired with nothing."""

    closed: list[tuple[int, int]]
    open_start: int | None
    orphan_clears: list[int]  # clears seen while nothing was open
    repeat_triggers: list[int]  # triggers seen while an incident was already open


def _sweep(triggers: list[int], clears: list[int]) -> _Sweep:
    """Replay the times in time order; triggers sort before clears at equal times."""
    events = sorted([(t, ALERT_TRIGGERED) for t in triggers] + [(c, ALERT_CLEARED) for c in clears])
    closed: list[tuple[int, int]] = []
    orphans: list[int] = []
    repeats: list[int] = []
    open_start: int | None = None
    for time_ns, kind in events:
        if kind == ALERT_TRIGGERED:
            if open_start is None:
                open_start = time_ns
            else:
                repeats.append(time_ns)
        elif open_start is None:
            orphans.append(time_ns)
        else:
            closed.append((open_start, time_ns))
            open_start = None
    return _Sweep(closed, open_start, orphans, repeats)


def _incidents(key: IncidentKey, sweep: _Sweep) -> dict[int, Incident]:
    """Incidents by start time, the address of their point in the store."""
    out = {start: Incident(key, start, end) for start, end in sweep.closed}
    if sweep.open_start is not None:
        out[sweep.open_start] = Incident(key, sweep.open_start, None)
    return out


def _diff(before: dict[int, Incident], after: dict[int, Incident]) -> list[IncidentChange]:
    """Deletes first, then upserts; both sorted by start so the output is deterministic."""
    deletes = [IncidentChange(delete=before[s]) for s in sorted(before.keys() - after.keys())]
    upserts = [IncidentChange(upsert=after[s]) for s in sorted(after) if before.get(s) != after[s]]
    return deletes + upserts


def _oldest_beyond(times: list[int], keep: int) -> list[int]:
    """The oldest entries of a sorted list that do not fit in ``keep`` slots."""
    return times[: max(0, len(times) - keep)]


def _remove_sorted(times: list[int], drop: list[int]) -> list[int]:
    """``times`` without ``drop``; both sorted and distinct."""
    gone = set(drop)
    return [t for t in times if t not in gone]


@dataclass
class _KeyHistory:
    """Distinct alert times for one key; sorted lists keep the sweep and JSON simple."""

    triggers: list[int] = field(default_factory=list)
    clears: list[int] = field(default_factory=list)
    horizon: int | None = None  # times at or before this are forgotten and ignored

    def forgotten(self, time_ns: int) -> bool:
        """True for times behind the horizon: their incident was dropped to bound memory."""
        return self.horizon is not None and time_ns <= self.horizon

    def add(self, kind: int, time_ns: int) -> None:
        """Remember one time; a time already known is not added twice."""
        times = self.triggers if kind == ALERT_TRIGGERED else self.clears
        at = bisect_right(times, time_ns)
        if at == 0 or times[at - 1] != time_ns:
            insort(times, time_ns)

    def sweep(self) -> _Sweep:
        return _sweep(self.triggers, self.clears)

    def forget_before(self, horizon: int) -> None:
        """Drop every time at or before ``horizon``: the end of a closed incident.

        The sweep state right after a closing clear is "nothing open", which is also where
        a sweep starts, so the incidents after the horizon are unchanged by forgetting.
        """
        self.horizon = horizon
        self.triggers = self.triggers[bisect_right(self.triggers, horizon) :]
        self.clears = self.clears[bisect_right(self.clears, horizon) :]

    def prune(self, max_closed: int, max_loose: int) -> None:
        """Apply the memory bounds without changing the incidents still remembered.

        Orphan clears and repeated triggers never shape the current incidents, so dropping
        the oldest of them changes nothing now; they only matter if a missing partner
        arrives later, which becomes ever less likely the older they are.
        """
        sweep = self.sweep()
        if len(sweep.closed) > max_closed:
            self.forget_before(sweep.closed[-max_closed - 1][1])
            sweep = self.sweep()
        self.clears = _remove_sorted(self.clears, _oldest_beyond(sweep.orphan_clears, max_loose))
        self.triggers = _remove_sorted(
            self.triggers, _oldest_beyond(sweep.repeat_triggers, max_loose)
        )

    def to_json(self, key: IncidentKey) -> dict[str, Any]:
        return {
            "key": list(key),
            "triggers": list(self.triggers),
            "clears": list(self.clears),
            "horizon": self.horizon,
        }


def _int(value: Any, what: str) -> int:
    """Only real ints: a bool or a float in persisted state means the file is not ours."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"incident state: {what} must be an integer, got {value!r}")
    return value


def _times(value: Any, what: str) -> list[int]:
    if not isinstance(value, list):
        raise ValueError(f"incident state: {what} must be a list")
    return sorted({_int(v, what) for v in value})


def _key(value: Any) -> IncidentKey:
    if not (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)):
        raise ValueError(
            f"incident state: key must be [room_id, alert_type, component], got {value!r}"
        )
    return (value[0], _int(value[1], "alert_type"), _int(value[2], "component"))


def _history(entry: Any) -> tuple[IncidentKey, _KeyHistory]:
    if not isinstance(entry, dict):
        raise ValueError("incident state: each key entry must be an object")
    horizon = entry.get("horizon")
    history = _KeyHistory(
        triggers=_times(entry.get("triggers", []), "triggers"),
        clears=_times(entry.get("clears", []), "clears"),
        horizon=None if horizon is None else _int(horizon, "horizon"),
    )
    return _key(entry.get("key")), history


class IncidentBook:
    """Mutable per-writer state; the writer is the only process that calls it, sequentially."""

    def __init__(self, max_closed_per_key: int = 64, max_orphans_per_key: int = 64) -> None:
        if max_closed_per_key < 0 or max_orphans_per_key < 0:
            raise ValueError("incident bounds must not be negative")
        self._max_closed = max_closed_per_key
        self._max_orphans = max_orphans_per_key
        self._keys: dict[IncidentKey, _KeyHistory] = {}

    def apply(self, key: IncidentKey, kind: int, time_ns: int) -> list[IncidentChange]:
        """Take one alert in; return what the stored incidents must do to stay right.

        Only triggered (1) and cleared (2) alerts pair. Observed (3) is a potential
        condition that is never cleared, so it must not open an incident that would stay
        open forever; it and other kinds are stored as plain alerts elsewhere.
        """
        if kind not in (ALERT_TRIGGERED, ALERT_CLEARED):
            return []
        history = self._keys.setdefault(key, _KeyHistory())
        if history.forgotten(time_ns):
            return []
        before = _incidents(key, history.sweep())
        history.add(kind, time_ns)
        changes = _diff(before, _incidents(key, history.sweep()))
        history.prune(self._max_closed, self._max_orphans)
        return changes

    def open_incidents(self) -> list[Incident]:
        """Incidents whose clear has not been seen yet, ordered by key then start."""
        out: list[Incident] = []
        for key in sorted(self._keys):
            start = self._keys[key].sweep().open_start
            if start is not None:
                out.append(Incident(key, start, None))
        return out

    def to_json(self) -> dict[str, Any]:
        """Everything needed to carry on after a restart; keys as lists, so any room id fits."""
        return {
            "version": _JSON_VERSION,
            "max_closed_per_key": self._max_closed,
            "max_orphans_per_key": self._max_orphans,
            "keys": [self._keys[key].to_json(key) for key in sorted(self._keys)],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IncidentBook:
        """Rebuild a book from ``to_json``; refuse anything else rather than guess."""
        if not isinstance(data, dict) or data.get("version") != _JSON_VERSION:
            raise ValueError("incident state: unknown format or version")
        book = cls(
            _int(data.get("max_closed_per_key", 64), "max_closed_per_key"),
            _int(data.get("max_orphans_per_key", 64), "max_orphans_per_key"),
        )
        entries = data.get("keys", [])
        if not isinstance(entries, list):
            raise ValueError("incident state: keys must be a list")
        for entry in entries:
            key, history = _history(entry)
            book._keys[key] = history
        return book
