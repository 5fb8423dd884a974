"""``zrmon rules test FILE``: promtool-style unit tests for rules, run against a real influxd.

A test file names the rule files it tests, gives input series in compact
notation (:mod:`monitor.rules.series`) and open incidents, and states which
alerts must be firing — and which notifications must go out — at given
times. The series are written to a private ``influxd`` and the rules are
evaluated every ``evaluation_interval`` from time zero with the production
evaluator, state machine and dispatcher, so a passing test exercises the
very queries and timing that run in production.

```yaml
rule_files: [../air-quality.yaml]
evaluation_interval: 1m
tests:
  - name: CO2 above 1000 for 10 minutes fires a warning
    interval: 5m
    input_series:
      - labels: {room_id: r1, room_name: Everest, building: HQ, sensor_type: CO2}
        values: "900x2 1100x10 850x10"
      - measurement: zrmon_receiver          # the receiver's counters (default: sensor)
        field: deliveries                    # (default: value)
        values: "40x30"
    incidents:
      - {room_id: r2, alert_type: 3, component: 1, start: 0m, end: 25m}
    alerts:
      - at: 30m
        firing: [{rule: air-quality/co2-high, room_id: r1, level: warning}]
    notifications:
      - {at: 31m, channel: log, kind: firing, rooms: [r1]}
```
"""

from __future__ import annotations

import itertools
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.core.config import Config
from monitor.core.configfile import ConfigFileError, ConfigFileErrors, parse_yaml
from monitor.core.durations import seconds_or_duration
from monitor.core.errors import UsageError
from monitor.core.timeutil import NS_PER_S
from monitor.datamodel.measurements import ROOM_INCIDENT, SENSOR
from monitor.datamodel.points import Point, encode_lines
from monitor.notify.dispatch import Dispatcher
from monitor.notify.message import Notification
from monitor.notify.policy_load import load_policy
from monitor.rules.evaluate import Evaluator, StateFile
from monitor.rules.load import load_file
from monitor.rules.model import Alert, Group
from monitor.rules.series import SeriesError, expand
from monitor.store.influx import InfluxClient
from monitor.store.influxd import LocalInfluxd

T0_NS = 1_767_571_200 * 10**9   # 2026-01-05T00:00:00Z, a Monday
_databases = itertools.count()


class RuleTestError(UsageError):
    """A test file that cannot be run (as opposed to a test that fails)."""


@dataclass(frozen=True)
class Suite:
    groups: list[Group]
    interval_s: float
    policy_path: Path


@dataclass
class Outcome:
    name: str
    failures: list[str] = field(default_factory=list)


def run_files(files: list[Path], config: Config) -> int:
    """0 when every test passes, 1 when one fails, 2 when a file cannot be run."""
    with tempfile.TemporaryDirectory(prefix="zrmon-rules-test-") as tmp, \
            LocalInfluxd(Path(tmp) / "influxd") as influxd:
        failed = 0
        for path in files:
            try:
                outcomes = run_file(path, config.with_(influx_url=influxd.url), Path(tmp))
            except (RuleTestError, ConfigFileError, ConfigFileErrors, SeriesError) as exc:
                print(f"{path}: cannot run: {exc}", file=sys.stderr)
                return 2
            for outcome in outcomes:
                status = "FAIL" if outcome.failures else "ok"
                print(f"{status:4} {path}: {outcome.name}")
                for failure in outcome.failures:
                    print(f"     {failure}")
                failed += bool(outcome.failures)
        print(f"{sum(1 for _ in files)} file(s), {failed} failed test(s)")
        return 1 if failed else 0


def run_file(path: Path, config: Config, scratch: Path) -> list[Outcome]:
    spec = _load_spec(path)
    suite = Suite(
        groups=[load_file((path.parent / name).resolve()) for name in spec["rule_files"]],
        interval_s=seconds_or_duration(spec.get("evaluation_interval", "1m")),
        policy_path=(path.parent / spec.get("notify_policy", "../notify.yaml")).resolve(),
    )
    if "notify_policy" in spec and not suite.policy_path.exists():
        raise RuleTestError(f"notify_policy {suite.policy_path} does not exist")
    outcomes = []
    for number, case in enumerate(spec["tests"]):
        database = f"rules_test_{next(_databases)}"
        local = config.with_(influx_db=database, data_dir=scratch / database)
        name = str(case.get("name") or f"test {number + 1}")
        try:
            outcomes.append(Outcome(name, _run_case(case, suite, local)))
        except (KeyError, TypeError, ValueError) as exc:  # a malformed test, not a failure
            raise RuleTestError(f"test {name!r}: {type(exc).__name__}: {exc}") from exc
    return outcomes


def _load_spec(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleTestError(str(exc)) from exc
    document = parse_yaml(text)
    if document.problems:
        raise RuleTestError("\n".join(map(str, document.errors(path))))
    spec = document.data
    if not isinstance(spec, dict) or not spec.get("rule_files") or not spec.get("tests"):
        raise RuleTestError("needs `rule_files` and `tests`")
    return spec


def _run_case(case: dict[str, Any], suite: Suite, config: Config) -> list[str]:
    """Evaluate every interval from time zero to the last expectation; the failures."""
    influx = InfluxClient(config)
    influx.create_database()
    influx.write(encode_lines(_points(case)))
    closes = _closing_points(case)
    evaluator = Evaluator(influx, StateFile(config.state_dir / "rules.json"))
    dispatcher = Dispatcher(load_policy(suite.policy_path))
    step_ns = int(suite.interval_s * NS_PER_S)
    if step_ns <= 0:
        raise RuleTestError("evaluation_interval must be positive")
    expected_alerts = _expected_alerts(case, step_ns)
    expected_notes = case.get("notifications", [])
    horizon = max([*expected_alerts, *(_at(n) for n in expected_notes), 0])
    failures: list[str] = []
    sent: list[tuple[int, Notification]] = []
    active: dict[str, list[Alert]] = {}
    for offset in range(0, horizon + 1, step_ns):
        due = [point for end, point in closes if end <= offset]
        if due:  # Zoom cleared these incidents: the ingest overwrites the open point
            influx.write(encode_lines(due))
            closes = [(end, point) for end, point in closes if end > offset]
        resolved: list[Alert] = []
        for group in suite.groups:
            alerts = evaluator.evaluate(group, T0_NS + offset).alerts
            active[group.name] = [a for a in alerts if a.status != "resolved"]
            resolved.extend(a for a in alerts if a.status == "resolved")
        current = [a for alerts in active.values() for a in alerts]
        sent.extend((offset, n) for n in dispatcher.process([*current, *resolved],
                                                             T0_NS + offset, []))
        if offset in expected_alerts:
            failures.extend(_check_alerts(expected_alerts[offset], current, offset))
    return failures + _check_notifications(expected_notes, sent)


def _expected_alerts(case: dict[str, Any], step_ns: int) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for expectation in case.get("alerts", []):
        at = _at(expectation)
        if at % step_ns:
            raise RuleTestError(f"alerts at {expectation['at']}: not a multiple of "
                                "evaluation_interval, so it would never be checked")
        if at in out:
            raise RuleTestError(f"two alert expectations at {expectation['at']}")
        out[at] = expectation
    return out


def _at(expectation: dict[str, Any]) -> int:
    return int(seconds_or_duration(expectation["at"]) * NS_PER_S)


def _points(case: dict[str, Any]) -> list[Point]:
    step = int(seconds_or_duration(case.get("interval", "1m")) * NS_PER_S)
    points = []
    for series in case.get("input_series", []):
        labels = {str(k): str(v) for k, v in (series.get("labels") or {}).items()}
        measurement = str(series.get("measurement", SENSOR))
        name = str(series.get("field", "value"))
        for i, value in enumerate(expand(str(series["values"]))):
            if value is not None:
                points.append(Point(measurement, labels, {name: value}, T0_NS + i * step))
    points.extend(_incident(item, closed=False) for item in case.get("incidents", []))
    return points


def _closing_points(case: dict[str, Any]) -> list[tuple[int, Point]]:
    """(offset, point) of incidents that end during the test, written when they end."""
    return [(int(seconds_or_duration(item["end"]) * NS_PER_S), _incident(item, closed=True))
            for item in case.get("incidents", []) if item.get("end") is not None]


def _incident(item: dict[str, Any], *, closed: bool) -> Point:
    start = T0_NS + int(seconds_or_duration(item["start"]) * NS_PER_S)
    fields: dict[str, float | int | bool | str] = {"start_ms": start // 10**6, "open": True,
                                                   "room_name": str(item.get("room_name", ""))}
    if closed:
        end = T0_NS + int(seconds_or_duration(item["end"]) * NS_PER_S)
        fields.update(open=False, end_ms=end // 10**6, duration_s=(end - start) / NS_PER_S)
    tags = {"room_id": str(item["room_id"]), "alert_type": str(item.get("alert_type", 0)),
            "component": str(item.get("component", 0))}
    return Point(ROOM_INCIDENT, tags, fields, start)


def _check_alerts(expected: dict[str, Any], current: list[Alert], offset: int) -> list[str]:
    want = {(e["rule"], str(e["room_id"]), e.get("level"), e.get("status", "firing"))
            for e in expected.get("firing", [])}
    got = {(a.rule_id, a.room_id, a.level, a.status) for a in current}
    if want == got:
        return []
    return [f"at {offset // NS_PER_S // 60}m: expected alerts {sorted(want, key=str)}, "
            f"got {sorted(got, key=str)}"]


def _check_notifications(expected: list[dict[str, Any]],
                         sent: list[tuple[int, Notification]]) -> list[str]:
    failures = []
    for item in expected:
        at = _at(item)
        rooms = sorted(str(r) for r in item.get("rooms", []))
        matches = [n for t, n in sent if t == at and n.channel == item.get("channel", n.channel)
                   and n.kind == item.get("kind", n.kind)
                   and (not rooms or sorted(a.room_id for a in n.alerts) == rooms)]
        if not matches:
            seen = [(t // NS_PER_S // 60, n.channel, n.kind, sorted(a.room_id for a in n.alerts))
                    for t, n in sent]
            failures.append(f"expected notification {item}, sent (minute, channel, kind, "
                            f"rooms): {seen}")
    return failures
