"""Colour a reading by the thresholds of the rule files, so the page and the rules agree.

The page shows the latest reading while a rule compares, say, a 10-minute mean,
so a coloured cell is a hint and the rule state beside it is the verdict. Only
``threshold`` rules on a plain aggregate of the sensor colour values (a rate or
a count is not comparable with one reading), and a rule's ``where`` must match
the room. Rule files are re-read only when one of them changes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from monitor.core.configfile import ConfigFileErrors
from monitor.rules.load import load_dir, rule_files
from monitor.rules.model import LEVELS, Rule

_COMPARABLE = ("mean", "max", "min", "last", "p95")
OK = "ok"


@dataclass(frozen=True)
class RuleSet:
    """The loaded rules, or why there are none (shown on the page, never a failure)."""

    rules: tuple[Rule, ...] = ()
    problem: str = ""

    @cached_property
    def kinds(self) -> dict[str, str]:
        return {rule.id: rule.kind for rule in self.rules}

    @cached_property
    def colouring(self) -> dict[str, tuple[Rule, ...]]:
        """Per sensor type, the rules that may colour its readings (10,000 rooms x 9 cells)."""
        out: dict[str, list[Rule]] = {}
        for rule in self.rules:
            if rule.kind == "threshold" and rule.sensor and rule.aggregate in _COMPARABLE:
                out.setdefault(rule.sensor, []).append(rule)
        return {sensor: tuple(rules) for sensor, rules in out.items()}

    def kind_of(self, rule_id: str) -> str:
        return self.kinds.get(rule_id, "")

    def level(self, sensor_type: str, value: float, tags: Mapping[str, str]) -> str | None:
        return value_level(self.colouring.get(sensor_type, ()), sensor_type, value, tags)


def value_level(rules: Iterable[Rule], sensor_type: str, value: float,
                tags: Mapping[str, str]) -> str | None:
    """The most severe level an applicable rule's threshold says ``value`` breaches.

    ``"ok"`` when rules cover the sensor and none is breached, None when no rule
    covers it (the page then leaves the value uncoloured rather than green).
    """
    worst: str | None = None
    for rule in rules:
        if not _colours(rule, sensor_type, tags):
            continue
        worst = worst or OK
        for level in LEVELS:   # ascending, so the last breached one is the worst
            threshold = rule.levels.get(level)
            if threshold is not None and threshold.breached(value) and _worse(level, worst):
                worst = level
    return worst


def _colours(rule: Rule, sensor_type: str, tags: Mapping[str, str]) -> bool:
    return (rule.kind == "threshold" and rule.sensor == sensor_type
            and rule.aggregate in _COMPARABLE
            and all(tags.get(key) == value for key, value in rule.where.items()))


def _worse(level: str, than: str | None) -> bool:
    return than in (None, OK) or LEVELS.index(level) > LEVELS.index(than)


class RuleCache:
    """The rules directory, parsed again only when a file is added, removed or edited."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._signature: tuple[tuple[str, int, int], ...] | None = None
        self._rules = RuleSet()

    def get(self) -> RuleSet:
        signature = self._current_signature()
        with self._lock:
            if signature != self._signature:
                self._rules = _load(self.directory)
                self._signature = signature
            return self._rules

    def _current_signature(self) -> tuple[tuple[str, int, int], ...]:
        if not self.directory.is_dir():
            return ()
        out = []
        for path in rule_files(self.directory):
            try:
                stat = path.stat()
            except OSError:
                continue
            out.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(out)


def _load(directory: Path) -> RuleSet:
    try:
        groups = load_dir(directory)
    except ConfigFileErrors as exc:
        more = f" (and {len(exc) - 1} more)" if len(exc) > 1 else ""
        return RuleSet(problem=f"rule files not loaded: {exc.errors[0]}{more}")
    return RuleSet(tuple(rule for group in groups for rule in group.rules))
