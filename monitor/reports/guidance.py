"""Guidance lines of the air-quality report, read from the rule files.

The numbers live in ``rules/air-quality.yaml`` (with their sources); this
module only says which rule level stands for which guidance line, so a
facility that tightens a rule gets reports that agree with its alerts. A
value is *within* guidance when the level's condition is not breached —
exactly when the rule would stay quiet (``above: 1000`` → within at ≤ 1000).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from monitor.core.errors import UsageError
from monitor.rules.load import load_file, rule_files
from monitor.rules.model import Threshold
from monitor.rules.query import within_sql

# key, label, rule id, level. The 800 ppm line is co2-high's info level.
GUIDANCE_LEVELS: tuple[tuple[str, str, str, str], ...] = (
    ("co2_warning", "CO2", "air-quality/co2-high", "warning"),
    ("co2_info", "CO2", "air-quality/co2-high", "info"),
    ("pm25", "PM2.5", "air-quality/pm25-high", "warning"),
    ("pm10", "PM10", "air-quality/pm10-high", "warning"),
    ("tvoc", "TVOC", "air-quality/tvoc-high", "warning"),
    ("humidity", "RH", "air-quality/humidity-out-of-range", "warning"),
    ("temperature", "Temperature", "air-quality/temperature-out-of-range", "warning"),
)


class GuidanceError(UsageError):
    """The rule files lack a rule or level a guidance line is read from."""


@dataclass(frozen=True)
class GuidanceLine:
    key: str
    sensor: str            # sensor_type
    threshold: Threshold   # the rule level's condition (a breach is outside guidance)
    rule: str
    level: str
    name: str = ""

    @property
    def label(self) -> str:
        """``CO2 ≤ 1000``, ``RH 30-60``: the condition under which a value is within."""
        t = self.threshold
        if t.op == "above":
            return f"{self.name} ≤ {t.value:g}"
        if t.op == "below":
            return f"{self.name} ≥ {t.value:g}"
        if t.op == "outside":
            return f"{self.name} {t.low:g}-{t.high:g}"
        return f"{self.name} not in {t.low:g}-{t.high:g}"

    def within(self, value: float) -> bool:
        return not self.threshold.breached(value)

    def condition(self, field: str) -> str:
        """InfluxQL for "``field`` is within guidance" (the negation of the breach)."""
        return within_sql(self.threshold, field)


def load_guidance(rules_dir: Path) -> list[GuidanceLine]:
    """The guidance lines from the rule files; :class:`GuidanceError` names what is missing."""
    files = rule_files(rules_dir)
    rules = {rule.id: rule for path in files for rule in load_file(path).rules}
    lines = []
    for key, name, rule_id, level in GUIDANCE_LEVELS:
        rule = rules.get(rule_id)
        if rule is None or rule.sensor is None:
            raise GuidanceError(f"{rules_dir}: the report reads {key} from rule {rule_id}, "
                                "which is missing or has no sensor")
        if level not in rule.levels:
            raise GuidanceError(f"{rule.source}: the report reads {key} from the {level} "
                                f"level of {rule_id}, which has none")
        lines.append(GuidanceLine(key, rule.sensor, rule.levels[level], rule_id, level, name))
    return lines
