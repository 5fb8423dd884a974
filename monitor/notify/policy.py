"""How alerts become messages: the policy of ``rules/notify.yaml`` as the dispatcher reads it.

``rules/notify.yaml`` holds the knobs the dispatcher (:mod:`monitor.notify.dispatch`)
turns. The defaults are chosen against the three complaints people have about
Alertmanager and Grafana: *repeat fatigue* (repeats back off: 4h, 8h, 16h, …
capped at a day), *noise* (rooms of one building batch into one message;
a critical alert or an offline room mutes the alerts it explains, see
:mod:`monitor.notify.inhibit`) and *3 a.m. messages* (per-channel mute windows in
the site's own timezone, or in each building's: ``timezone: building``, see
:mod:`monitor.notify.mute_windows`).

This module is the model: frozen dataclasses with their defaults. Reading and
validating the file is :mod:`monitor.notify.policy_load`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from monitor.core.timeutil import NS_PER_S
from monitor.notify.inhibit import DEFAULT_INHIBIT, InhibitRule
from monitor.notify.mute_windows import MuteWindow


@dataclass(frozen=True)
class Grouping:
    """Timing of one channel's messages; see :mod:`monitor.notify.dispatch` for the rules."""

    group_by: tuple[str, ...] = ("rule", "building")
    group_wait_ns: int = 30 * NS_PER_S
    group_interval_ns: int = 5 * 60 * NS_PER_S
    repeat_interval_ns: int = 4 * 3600 * NS_PER_S
    repeat_backoff: float = 2.0
    max_repeat_interval_ns: int = 24 * 3600 * NS_PER_S
    # An alert no evaluation has mentioned for this long is forgotten without a
    # message (its rule was deleted, or its room removed): it must not repeat forever.
    forget_after_ns: int = 3600 * NS_PER_S

    def repeat_delay_ns(self, repeats: int) -> int:
        """Wait before repeat number ``repeats`` (0 = first): interval * backoff^n, capped."""
        delay = float(self.repeat_interval_ns)
        for _ in range(repeats):
            delay *= self.repeat_backoff
            if delay >= self.max_repeat_interval_ns:
                break
        return min(round(delay), self.max_repeat_interval_ns)

@dataclass(frozen=True)
class Route:
    """Per-channel settings: its mute windows and its own timing."""

    mute: tuple[str, ...] = ()
    grouping: Grouping | None = None    # None: the global grouping


@dataclass(frozen=True)
class Heartbeat:
    """A dead man's switch: ``url`` is pinged every ``every_ns`` while evaluation is healthy.

    The outside service (healthchecks.io, Dead Man's Snitch, an Alertmanager
    "Watchdog" receiver) alerts when the pings stop: the one failure an alert
    of our own cannot report is that we no longer evaluate.
    """

    url: str = field(repr=False)          # often carries a token: never printed
    every_ns: int = 60 * NS_PER_S


MIN_HEARTBEAT_NS = NS_PER_S


@dataclass(frozen=True)
class Policy:
    grouping: Grouping = Grouping()
    mute_windows: dict[str, MuteWindow] = field(default_factory=dict)
    routes: dict[str, Route] = field(default_factory=dict)
    inhibit: tuple[InhibitRule, ...] = DEFAULT_INHIBIT
    source: str = ""
    heartbeat: Heartbeat | None = None

    def grouping_for(self, channel: str) -> Grouping:
        route = self.routes.get(channel)
        return route.grouping if route and route.grouping else self.grouping

    def muted(self, channel: str, now_ns: int, zones: Iterable[str] = ()) -> bool:
        """True while any of the channel's mute windows is active; ``zones`` are those of
        the alerts concerned, for ``timezone: building`` windows."""
        route = self.routes.get(channel)
        if route is None:
            return False
        wanted = tuple(zones)
        # Unknown names are refused at load time; skipped here so a hand-built policy
        # cannot stop every notification with a KeyError.
        return any(window.active(now_ns, wanted) for name in route.mute
                   if (window := self.mute_windows.get(name)) is not None)

    @property
    def uses_building_zones(self) -> bool:
        """Whether some mute window needs the buildings' zones (read from InfluxDB)."""
        return any(window.per_building for window in self.mute_windows.values())
