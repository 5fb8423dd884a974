"""Rule thresholds, read from the rule files, as Grafana colours and InfluxQL conditions.

The numbers live in ``rules/*.yaml`` only. The generator loads them with the
rules engine's own loader and turns them into (a) threshold steps that
colour tables and shade time series, and (b) the "within guidance"
condition of the air-quality shares. Change a rule, regenerate, and the
dashboards follow; the tests refuse committed JSON that no longer matches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from monitor.core.configfile import ConfigFileError, ConfigFileErrors
from monitor.rules.load import parse_dir
from monitor.rules.model import LEVELS, Group, Threshold, required_bound

OK_COLOUR = "green"
LEVEL_COLOURS = {"info": "yellow", "warning": "orange", "critical": "red"}

Compare = Callable[[str, float], str]   # (operator, bound) → InfluxQL condition


@dataclass(frozen=True)
class Limits:
    """Every threshold level the rules put on one sensor type."""

    sensor: str
    rules: tuple[str, ...]                       # rule ids, for panel descriptions
    levels: tuple[tuple[str, Threshold], ...]    # (level, threshold), ascending severity

    def colour(self, value: float) -> str:
        """The colour of the most severe level a value breaches."""
        breached = [level for level, threshold in self.levels if threshold.breached(value)]
        worst = max(breached, key=LEVELS.index, default=None)
        return OK_COLOUR if worst is None else LEVEL_COLOURS[worst]

    def bounds(self) -> list[float]:
        found: set[float] = set()
        for _, threshold in self.levels:
            found.update(b for b in (threshold.value, threshold.low, threshold.high)
                         if b is not None)
        return sorted(found)

    def steps(self) -> list[tuple[float | None, str]]:
        """Grafana threshold steps: (None = base, colour), then (from value, colour).

        Each step's colour is sampled just above its bound, so ``above``,
        ``below``, ``outside`` and ``inside`` levels all come out right.
        """
        bounds = self.bounds()
        samples = [(b + bounds[i + 1]) / 2 if i + 1 < len(bounds) else b + 1
                   for i, b in enumerate(bounds)]
        steps: list[tuple[float | None, str]] = [(None, self.colour(bounds[0] - 1))]
        for bound, sample in zip(bounds, samples, strict=True):
            colour = self.colour(sample)
            if colour != steps[-1][1]:
                steps.append((bound, colour))
        return steps

    def within(self, compare: Compare) -> str:
        """The InfluxQL condition "no level breached", built with ``compare``.

        Levels nest (``above 800`` implies ``above 1000`` is not breached), so
        only the tightest bound of each kind is kept.
        """
        above = [t.value for _, t in self.levels if t.op == "above" and t.value is not None]
        below = [t.value for _, t in self.levels if t.op == "below" and t.value is not None]
        outside = [t for _, t in self.levels if t.op == "outside"]
        conditions = []
        if above:
            conditions.append(compare("<=", min(above)))
        if below:
            conditions.append(compare(">=", max(below)))
        if outside:
            conditions.append(compare(">=", max(required_bound(t.low) for t in outside)))
            conditions.append(compare("<=", min(required_bound(t.high) for t in outside)))
        conditions += [f"({compare('<', required_bound(t.low))} OR "
                       f"{compare('>', required_bound(t.high))})"
                       for _, t in self.levels if t.op == "inside"]
        return " AND ".join(conditions)

    def describe(self) -> str:
        levels = ", ".join(f"{level} {threshold.describe()}" for level, threshold in self.levels)
        return f"{levels} (from {', '.join(self.rules)})"


def number(value: float) -> str:
    """A bound as InfluxQL and Grafana write it: ``1000``, ``19.5``."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def limits_by_sensor(groups: Iterable[Group]) -> dict[str, Limits]:
    """Threshold rules per sensor type (rate and silence rules are not levels of a value)."""
    found: dict[str, Limits] = {}
    for group in groups:
        for rule in group.rules:
            if rule.kind != "threshold" or not rule.sensor:
                continue
            levels = tuple(sorted(rule.levels.items(), key=lambda item: LEVELS.index(item[0])))
            known = found.get(rule.sensor)
            if known is None:
                found[rule.sensor] = Limits(rule.sensor, (rule.id,), levels)
            else:
                found[rule.sensor] = Limits(rule.sensor, (*known.rules, rule.id),
                                            known.levels + levels)
    return found


def load_limits(rules_dir: Path) -> dict[str, Limits]:
    """Thresholds of every rule group in ``rules_dir``; a broken group is an error.

    YAML files beside the rules that are not rule groups at all (no ``group``
    or ``rules`` key: other packages' configuration) are not ours to judge.
    """
    groups: list[Group] = []
    errors: list[ConfigFileError] = []
    for parsed in parse_dir(rules_dir):
        if parsed.group is not None:
            groups.append(parsed.group)
        elif _is_rule_group(parsed.data):
            errors.extend(parsed.errors)
    if errors:
        raise ConfigFileErrors(errors)
    return limits_by_sensor(groups)


def _is_rule_group(data: object) -> bool:
    return not isinstance(data, Mapping) or "group" in data or "rules" in data
