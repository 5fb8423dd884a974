"""What a rule file means, once loaded: plain frozen dataclasses, no I/O.

The loader (:mod:`monitor.rules.load`) turns YAML into these; the evaluator
(:mod:`monitor.rules.evaluate`) turns them into one InfluxQL query per rule;
the state machine (:mod:`monitor.rules.statemachine`) decides, per room, what a
sample means. Keeping the meaning here means all three agree on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

LEVELS: tuple[str, ...] = ("info", "warning", "critical")   # ascending severity
# The receiver's counters, as fields of its measurement (monitor.datamodel.measurements.RECEIVER):
# per interval, signed deliveries from Zoom and requests refused for a bad signature (401).
RECEIVER_FIELDS = ("deliveries", "signature_failures")
# The "room" of a fleet-wide rule's one alert, and the name its messages show.
FLEET_ROOM = "fleet"
FLEET_NAME = "all rooms"
Aggregate = Literal["mean", "max", "min", "last", "p95", "count"]
Kind = Literal["threshold", "no_data", "incident", "rate"]


@dataclass(frozen=True)
class Threshold:
    """One level's condition, with an optional hysteresis (resolve) bound.

    ``above: 1000, resolve_below: 900`` fires when the value exceeds 1000 and,
    once firing, stays firing until the value drops below 900. Without a
    resolve bound, it resolves as soon as the condition no longer holds.
    For ``outside``/``inside``, ``low``/``high`` bound the band and
    ``resolve_low``/``resolve_high`` the (narrower) band that resolves it.
    """

    op: Literal["above", "below", "outside", "inside"]
    value: float | None = None              # above / below
    low: float | None = None                # outside / inside
    high: float | None = None
    resolve: float | None = None            # resolve_below (for above) / resolve_above (for below)
    resolve_low: float | None = None        # outside: back inside [resolve_low, resolve_high]
    resolve_high: float | None = None       # inside: back outside (low, high) widened

    def breached(self, value: float) -> bool:
        """The condition that starts (or keeps, without hysteresis) the alert."""
        if self.op == "above":
            return value > required_bound(self.value)
        if self.op == "below":
            return value < required_bound(self.value)
        low, high = required_bound(self.low), required_bound(self.high)
        inside = low <= value <= high
        return not inside if self.op == "outside" else inside

    def recovered(self, value: float) -> bool:
        """True once a firing alert may resolve: past the resolve bound, if any."""
        if self.op == "above":
            return value < self.resolve if self.resolve is not None else not self.breached(value)
        if self.op == "below":
            return value > self.resolve if self.resolve is not None else not self.breached(value)
        if self.op == "outside":
            low = self.resolve_low if self.resolve_low is not None else required_bound(self.low)
            high = self.resolve_high if self.resolve_high is not None else required_bound(self.high)
            return low <= value <= high
        low = self.resolve_low if self.resolve_low is not None else required_bound(self.low)
        high = self.resolve_high if self.resolve_high is not None else required_bound(self.high)
        return value < low or value > high

    def describe(self) -> str:
        if self.op in ("above", "below"):
            return f"{self.op} {self.value:g}"
        return f"{self.op} [{self.low:g}, {self.high:g}]"


def required_bound(value: float | None) -> float:
    """A threshold bound the loader guarantees; a bug, not bad input, when missing."""
    if value is None:
        raise ValueError("threshold bound missing (the loader should have refused this rule)")
    return value


@dataclass(frozen=True)
class NoData:
    """A silent series is a state of its own, never a resolve."""

    after_s: float
    state: Literal["no_data", "keep", "ok"] = "no_data"


@dataclass(frozen=True)
class IncidentMatch:
    alert_type: int | None = None
    component: int | None = None


@dataclass(frozen=True)
class Rule:
    group: str
    name: str
    kind: Kind
    levels: dict[str, Threshold]            # level name (info/warning/critical) → threshold
    sensor: str | None = None               # threshold / rate / no_data: the sensor_type
    # rate / no_data over the receiver's own counters (measurement zrmon_receiver) instead
    # of a sensor: one fleet-wide value, not one per room (room id FLEET_ROOM).
    receiver: str | None = None
    incident: IncidentMatch | None = None   # incident: which open incidents count
    aggregate: Aggregate = "mean"
    window_s: float = 600.0
    for_s: float = 0.0
    keep_firing_for_s: float = 0.0
    no_data: NoData | None = None
    where: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    notify: tuple[str, ...] = ()
    source: str = ""                        # "rules/air.yaml:12", for error messages

    @property
    def id(self) -> str:
        return f"{self.group}/{self.name}"

    @property
    def fleet(self) -> bool:
        """One value for the whole account (the receiver's counters), not one per room."""
        return self.receiver is not None


@dataclass(frozen=True)
class Group:
    name: str
    interval_s: float
    rules: tuple[Rule, ...]
    source: str = ""


AlertStatus = Literal["firing", "resolved", "no_data"]


@dataclass(frozen=True)
class Alert:
    """One (rule, room) as the notifier sees it after an evaluation.

    The state machine emits one for every (rule, room) that is firing or in
    no_data, on every evaluation, and one ``resolved`` when it stops — as
    Prometheus does towards Alertmanager — so the notifier can group, repeat
    and resolve without knowing how rules are evaluated.
    """

    rule_id: str                  # "group/name"
    room_id: str
    status: AlertStatus
    level: str                    # info / warning / critical (the level that resolved, if resolved)
    value: float | None           # the value now (at resolve time, for resolved)
    threshold: str                # human text, e.g. "above 1000"
    starts_at_ns: int             # when it started firing (or went silent)
    at_ns: int                    # evaluation time
    labels: dict[str, str] = field(default_factory=dict)       # rule labels + room tags
    annotations: dict[str, str] = field(default_factory=dict)  # rendered templates
    notify: tuple[str, ...] = ()  # channel names

    @property
    def fingerprint(self) -> str:
        return f"{self.rule_id}|{self.room_id}"
