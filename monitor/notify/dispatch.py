"""From alerts to messages: silences, inhibition, grouping, timing and mute windows.

The evaluator calls :meth:`Dispatcher.process` after every cycle with every
firing/no_data alert and each just-resolved one (once). It returns the
:class:`~monitor.notify.message.Notification`\\ s to enqueue *now*; delivery
and retries are the outbox's job. Everything here is pure: the clock is the
``now_ns`` argument and the state — the groups of
:mod:`monitor.notify.dispatch_state` — is a plain object that ``to_json`` /
``from_json`` persist. Which alert inhibits which is :mod:`monitor.notify.inhibit`.

Per cycle
---------
1. **Inhibition** is decided over all active (firing/no_data) alerts,
   *silenced ones included*: silencing a known room outage must not unleash
   the no-data alerts of every sensor in that room. An alert never inhibits
   itself, and two alerts that each match both sides of a rule do not mute
   each other (as in Alertmanager).
2. **Silences** and inhibition *suppress* an alert: it is kept in its group
   (so the group's message counter survives) but leaves every message, and
   is struck from what the channel was told — so its resolve is never sent
   ("a resolve of an alert that was silenced while firing is not notified"),
   and if it is still firing when the silence ends it is announced afresh.
3. **Groups** are (channel, values of ``group_by``) for each channel in
   ``alert.notify``; ``rule`` and ``room_id`` are always available labels.

Timing, per group (``grouping`` of the policy, or the channel's route)
----------------------------------------------------------------------
* A *change* is an alert the channel has not been told about in its current
  state (new, re-started, level or firing/no_data changed), or a told-about
  alert that resolved. An alert merely leaving (suppressed, moved to another
  group, forgotten) is not a change: nobody needs a message saying less.
* A change is sent once it has waited ``group_wait`` (so rooms of a building
  that breach together arrive as one message — for a new group this is the
  first message) **and** ``group_interval`` has passed since the group's
  last message (so a flapping building cannot send more often than that).
* An unchanged group with active alerts repeats after ``repeat_interval *
  repeat_backoff^n`` (n = reminders since the last change), capped at
  ``max_repeat_interval``: 4h, 8h, 16h, 24h, 24h … instead of every 4h forever.
* A message sends, per state, the alerts currently in it: a FIRING part and
  a NO DATA part when that part changed (all active parts on a reminder), and
  a RESOLVED part with each told-about alert that resolved, carrying its
  value at resolve time. Alerts that fired and resolved before anything was
  sent are never mentioned — a blip inside ``group_wait`` is not news.
* Once every alert of a group has resolved (and that was sent) the group is
  forgotten. An alert no cycle has mentioned for ``forget_after`` (its rule
  was deleted, its room removed) is dropped without a message.

Mute windows
------------
A ``timezone: building`` window is read on the clocks of the group's alerts'
buildings (:attr:`Dispatcher.building_zones`; muted while active in all of them).
While a channel's mute window is active nothing is sent to it; the groups
keep tracking. When it ends, each group that has something due sends *one*
message with its current state: what changed meanwhile (alerts that came
and went inside the window are not mentioned), or one reminder if a repeat
fell due — never the transitions, never one reminder per missed interval.

Ids and restarts
----------------
``Notification.id`` digests channel, group key, kind, the alerts' episodes
and levels, and ``repeat``. We set ``repeat`` to the group's message number
(0 for the first), not only to the reminder count: a group can come back to
a state it was in before (a level that went up and down, an alert announced
again after its silence), and the outbox — which ignores ids it has seen —
would otherwise drop that message. As the number lives in the persisted
state, re-processing after a restart from the last ``to_json`` yields the
same ids for the same messages, and the outbox ignores them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from monitor.notify.dispatch_state import (
    Group,
    Member,
    stamp,
    state_from_json,
    state_to_json,
)
from monitor.notify.inhibit import InhibitRule, inhibited
from monitor.notify.matchers import alert_labels
from monitor.notify.message import Notification, NotificationKind, group_key, room_name
from monitor.notify.mute_windows import alert_zone
from monitor.notify.policy import Grouping, Policy
from monitor.notify.silences import Silence
from monitor.rules.model import LEVELS, Alert

ACTIVE_KINDS: tuple[NotificationKind, ...] = ("firing", "no_data")
Flush = Literal["change", "repeat"]


class Dispatcher:
    """Turns each cycle's alerts into the notifications due now; see the module docstring."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.groups: dict[tuple[str, str], Group] = {}
        # Building → IANA zone, for ``timezone: building`` mute windows; the owner keeps it
        # current (the rule engine reads it from InfluxDB). Not state: never persisted.
        self.building_zones: Mapping[str, str] = {}
        # Why each alert of the last cycle was held back: fingerprint → "silenced"/"inhibited".
        self.suppressed: dict[str, str] = {}

    def process(self, alerts: Iterable[Alert], now_ns: int,
                silences: Sequence[Silence] = ()) -> list[Notification]:
        batch = list(alerts)
        live = [silence for silence in silences if silence.active(now_ns)]
        resolved, active = _dedupe(batch)
        self.suppressed = _suppression(batch, active, self.policy.inhibit, live)
        index = self._index()
        for alert in resolved:
            self._resolve(alert, _silenced(alert, live), index)
        for alert in active:
            self._observe(alert, alert.fingerprint in self.suppressed, now_ns, index)
        self._drop_departed(batch, now_ns)
        out = [n for gid in sorted(self.groups) for n in self._flush(self.groups[gid], now_ns)]
        self.groups = {gid: g for gid, g in self.groups.items() if not g.empty()}
        return out

    # -- observing ---------------------------------------------------------

    def _index(self) -> dict[tuple[str, str], tuple[str, str]]:
        """(channel, fingerprint) → the group holding it, so one cycle stays linear."""
        return {(group.channel, fingerprint): gid for gid, group in self.groups.items()
                for fingerprint in group.members}

    def _observe(self, alert: Alert, suppressed: bool, now_ns: int,
                 index: dict[tuple[str, str], tuple[str, str]]) -> None:
        for channel in alert.notify:
            gid = self._group_for(channel, alert)
            group = self.groups[gid]
            group.members[alert.fingerprint] = Member(alert, suppressed, now_ns)
            if suppressed:
                group.told.pop(alert.fingerprint, None)
            previous = index.get((channel, alert.fingerprint))
            if previous is not None and previous != gid and previous in self.groups:
                _leave(self.groups[previous], alert.fingerprint)   # its labels moved it
            index[(channel, alert.fingerprint)] = gid

    def _resolve(self, alert: Alert, silenced: bool,
                 index: Mapping[tuple[str, str], tuple[str, str]]) -> None:
        """A resolve is news only to a channel that was told the alert fires."""
        for channel in alert.notify:
            group = self.groups.get(index.get((channel, alert.fingerprint), ("", "")))
            if group is None:
                continue
            group.members.pop(alert.fingerprint, None)
            told = group.told.pop(alert.fingerprint, None)
            if told is not None and not silenced:
                group.resolved[alert.fingerprint] = alert

    def _drop_departed(self, batch: Sequence[Alert], now_ns: int) -> None:
        """Forget, silently, alerts reported without this channel any more, and alerts no
        cycle has reported for ``forget_after`` (a deleted rule must not repeat forever)."""
        pairs = {(channel, alert.fingerprint) for alert in batch for channel in alert.notify}
        fingerprints = {alert.fingerprint for alert in batch}
        for group in self.groups.values():
            forget_after = self.policy.grouping_for(group.channel).forget_after_ns
            for fingerprint, member in list(group.members.items()):
                if (group.channel, fingerprint) in pairs:
                    continue
                if fingerprint in fingerprints or now_ns - member.seen_ns >= forget_after:
                    _leave(group, fingerprint)

    def _group_for(self, channel: str, alert: Alert) -> tuple[str, str]:
        key, labels = group_identity(alert, self.policy.grouping_for(channel).group_by)
        if (channel, key) not in self.groups:
            self.groups[(channel, key)] = Group(channel, key, labels)
        return channel, key

    # -- sending -----------------------------------------------------------

    def _flush(self, group: Group, now_ns: int) -> list[Notification]:
        grouping = self.policy.grouping_for(group.channel)
        if not group.has_change():
            group.changed_ns = None
        elif group.changed_ns is None:
            group.changed_ns = now_ns
        if self.policy.muted(group.channel, now_ns, self._zones(group)):
            return []
        reason = _due(group, grouping, now_ns)
        if reason is None:
            return []
        out = _messages(group, reason)
        _mark_sent(group, reason, now_ns)
        return out

    def _zones(self, group: Group) -> set[str]:
        """The zones of the alerts a group's next message would be about."""
        if not self.policy.uses_building_zones:
            return set()
        alerts = [m.alert for m in group.members.values()] + list(group.resolved.values())
        return {alert_zone(alert, self.building_zones) for alert in alerts}

    # -- persistence -------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return state_to_json(self.groups)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], policy: Policy) -> Dispatcher:
        dispatcher = cls(policy)
        dispatcher.groups = state_from_json(data)
        return dispatcher


# ---------------------------------------------------------------------------
# Pure helpers


def group_identity(alert: Alert, group_by: Sequence[str]) -> tuple[str, dict[str, str]]:
    """The group key (``air/co2-high{building=HQ}``) and the labels a title names it by."""
    labels = alert_labels(alert)
    values = {name: labels.get(name, "") for name in group_by if name != "rule"}
    rule = alert.rule_id if "rule" in group_by else "*"
    return group_key(rule, values), {name: value for name, value in values.items() if value}


def _suppression(batch: Sequence[Alert], chosen: Sequence[Alert], rules: Sequence[InhibitRule],
                 live: Sequence[Silence]) -> dict[str, str]:
    """fingerprint → why the kept report of an active alert is held back."""
    muted = {id(batch[i]) for i in inhibited(batch, rules)}
    reasons: dict[str, str] = {}
    for alert in chosen:
        if _silenced(alert, live):
            reasons[alert.fingerprint] = "silenced"
        elif id(alert) in muted:
            reasons[alert.fingerprint] = "inhibited"
    return reasons


def _silenced(alert: Alert, live: Sequence[Silence]) -> bool:
    return any(silence.matches(alert) for silence in live)


def _dedupe(alerts: Sequence[Alert]) -> tuple[list[Alert], list[Alert]]:
    """(resolved, active), one of each per fingerprint: the most severe, then latest, active."""
    resolved: dict[str, Alert] = {}
    active: dict[str, Alert] = {}
    for alert in alerts:
        table = resolved if alert.status == "resolved" else active
        kept = table.get(alert.fingerprint)
        if kept is None or _significance(alert) >= _significance(kept):
            table[alert.fingerprint] = alert
    return list(resolved.values()), list(active.values())


def _significance(alert: Alert) -> tuple[int, int]:
    rank = LEVELS.index(alert.level) if alert.level in LEVELS else -1
    return rank, alert.at_ns


def _leave(group: Group, fingerprint: str) -> None:
    """An alert leaves a group without a message (moved, suppressed for good, forgotten)."""
    group.members.pop(fingerprint, None)
    group.told.pop(fingerprint, None)


def _due(group: Group, grouping: Grouping, now_ns: int) -> Flush | None:
    if group.changed_ns is not None:
        ready = group.changed_ns + grouping.group_wait_ns
        if group.last_sent_ns is not None:
            ready = max(ready, group.last_sent_ns + grouping.group_interval_ns)
        return "change" if now_ns >= ready else None
    if group.last_sent_ns is None or not group.active():
        return None
    repeat_at = group.last_sent_ns + grouping.repeat_delay_ns(group.reminders)
    return "repeat" if now_ns >= repeat_at else None


def _messages(group: Group, reason: Flush) -> list[Notification]:
    active = group.active()
    out = []
    for kind in ACTIVE_KINDS:
        part = [alert for alert in active if alert.status == kind]
        changed = any(group.told.get(alert.fingerprint) != stamp(alert) for alert in part)
        if part and (reason == "repeat" or changed):
            out.append(_notification(group, kind, part))
    if group.resolved:
        out.append(_notification(group, "resolved", list(group.resolved.values())))
    return out


def _notification(group: Group, kind: NotificationKind, alerts: list[Alert]) -> Notification:
    ordered = tuple(sorted(alerts, key=lambda a: (room_name(a), a.room_id, a.rule_id)))
    return Notification(group.channel, group.key, ordered, kind, dict(group.labels),
                        repeat=group.sent)


def _mark_sent(group: Group, reason: Flush, now_ns: int) -> None:
    group.told = {alert.fingerprint: stamp(alert) for alert in group.active()}
    group.resolved = {}
    group.last_sent_ns = now_ns
    group.changed_ns = None
    group.reminders = group.reminders + 1 if reason == "repeat" else 0
    group.sent += 1

