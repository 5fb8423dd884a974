"""The uptime report's arithmetic, free of I/O: incidents clipped to the report range.

Definitions (docs/reports.md):

* an incident *overlaps* the range when it starts before its end and is open
  or ends after its start;
* *availability* is the share of the elapsed range (up to now, for a range
  that has not ended) not covered by any ``room_offline`` incident, clipped
  to the range; overlapping offline incidents count once;
* *time to recover* is an incident's whole duration, counted for incidents
  that recovered (ended) within the range — an outage that straddles the
  range start counts 47 minutes to recover but only its in-range part as
  downtime;
* *longest* is the longest whole duration of the overlapping incidents,
  open ones measured up to the end of the range (or now);
* *open at end* are overlapping incidents still open at the range's end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from monitor.core.timeutil import NS_PER_S

OFFLINE = "room_offline"


@dataclass(frozen=True)
class Incident:
    room_id: str
    alert_name: str
    component_name: str
    start_ns: int
    end_ns: int | None          # None while open


@dataclass
class Uptime:
    """One room, or the fleet (then ``elapsed_s`` and ``down_s`` are sums over rooms)."""

    elapsed_s: float = 0.0
    down_s: float = 0.0
    incidents: Counter[tuple[str, str]] = field(default_factory=Counter)  # (alert, component)
    recovered: int = 0
    recover_s: float = 0.0
    longest_s: float | None = None
    longest_open: bool = False
    open_at_end: int = 0

    @property
    def availability(self) -> float | None:
        return 1.0 - self.down_s / self.elapsed_s if self.elapsed_s > 0 else None

    @property
    def mttr_s(self) -> float | None:
        return self.recover_s / self.recovered if self.recovered else None

    @property
    def incident_count(self) -> int:
        return sum(self.incidents.values())


def union_ns(intervals: Iterable[tuple[int, int]]) -> int:
    """Total length covered by the intervals, overlaps counted once."""
    total, reach = 0, None
    for start, end in sorted(intervals):
        if reach is None or start > reach:
            total += end - start
            reach = end
        elif end > reach:
            total += end - reach
            reach = end
    return total


def room_uptime(incidents: Sequence[Incident], start_ns: int, end_ns: int,
                now_ns: int) -> Uptime:
    """One room's figures for ``[start, end)``; open incidents run until the end (or now)."""
    stop = min(end_ns, now_ns)
    out = Uptime(elapsed_s=max(stop - start_ns, 0) / NS_PER_S)
    offline: list[tuple[int, int]] = []
    for incident in incidents:
        last = incident.end_ns if incident.end_ns is not None else stop
        if incident.start_ns >= end_ns or last <= start_ns:
            continue
        out.incidents[(incident.alert_name, incident.component_name)] += 1
        if incident.alert_name == OFFLINE:
            low, high = max(incident.start_ns, start_ns), min(last, stop)
            if high > low:
                offline.append((low, high))
        if incident.end_ns is not None and incident.end_ns <= end_ns:
            out.recovered += 1
            out.recover_s += (incident.end_ns - incident.start_ns) / NS_PER_S
        else:
            out.open_at_end += 1
        length = (min(last, stop) - incident.start_ns) / NS_PER_S
        if out.longest_s is None or length > out.longest_s:
            out.longest_s, out.longest_open = length, incident.end_ns is None or last > end_ns
    out.down_s = union_ns(offline) / NS_PER_S
    return out


def fleet_uptime(rooms: Iterable[Uptime]) -> Uptime:
    """Fleet totals: availability is Σ up / Σ elapsed, MTTR Σ recover / Σ recovered."""
    out = Uptime()
    for room in rooms:
        out.elapsed_s += room.elapsed_s
        out.down_s += room.down_s
        out.incidents.update(room.incidents)
        out.recovered += room.recovered
        out.recover_s += room.recover_s
        out.open_at_end += room.open_at_end
        if room.longest_s is not None and (out.longest_s is None
                                           or room.longest_s > out.longest_s):
            out.longest_s, out.longest_open = room.longest_s, room.longest_open
    return out
