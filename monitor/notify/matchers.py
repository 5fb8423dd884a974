"""Label matchers: how inhibit rules and silences pick the alerts they apply to.

One module because both sides must read a matcher the same way: an inhibit rule in
``rules/notify.yaml`` (:mod:`monitor.notify.inhibit`) and a silence
(:mod:`monitor.notify.silences`) compare an alert's labels — its rule labels and
room tags plus ``rule``, ``room_id``, ``level`` and ``status``, which always win over
a tag of the same name — with an exact value, or with a regular expression when the
value starts with ``~`` (anchored at both ends, as in Alertmanager). A label an alert
lacks reads as ``""``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

from monitor.rules.model import Alert

RESERVED_LABELS = ("rule", "room_id", "level", "status")


def alert_labels(alert: Alert) -> dict[str, str]:
    """The label set matchers see; the reserved names come from the alert itself."""
    return {**alert.labels, "rule": alert.rule_id, "room_id": alert.room_id,
            "level": alert.level, "status": alert.status}


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def value_matches(pattern: str, value: str) -> bool:
    """Exact, or a full-match regex when ``pattern`` starts with ``~``.

    A regex that does not compile (a hand-edited silences file; loaders refuse
    them) matches nothing rather than raising in the middle of a dispatch cycle.
    """
    if pattern.startswith("~"):
        try:
            return _regex(pattern[1:]).fullmatch(value) is not None
        except re.error:
            return False
    return pattern == value


def labels_match(matchers: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """Every matcher holds (an empty matcher set matches everything)."""
    return all(value_matches(want, labels.get(name, "")) for name, want in matchers.items())


def matcher_errors(matchers: Mapping[str, str]) -> list[str]:
    """Problems with a matcher set, so a bad regex is refused at load time, not at 3 a.m."""
    errors = []
    for name, want in matchers.items():
        if not name:
            errors.append("empty label name")
        if want.startswith("~"):
            try:
                _regex(want[1:])
            except re.error as exc:
                errors.append(f"{name}: bad regular expression {want[1:]!r}: {exc}")
    return errors

