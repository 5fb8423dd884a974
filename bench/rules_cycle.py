"""One evaluation cycle of every rule group, timed as a whole and rule by rule.

A cycle is ``Evaluator.evaluate(group, at_ns)`` for every group of ``rules/``,
as ``zrmon serve`` does for one tick of every group. The evaluator and the
InfluxDB client are subclassed here, for the benchmark only, to record each
rule's query wall time (queries overlap: the evaluator runs
``Evaluator.concurrency`` of them at once) and its Python time (samples, state
machine, templates). ``monitor.rules`` is imported late: :func:`load_rules`
waits for it to become loadable (``--wait-rules``).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest_events import log

from monitor.store.influx import InfluxClient, Series

if TYPE_CHECKING:
    from monitor.rules.evaluate import GroupResult
    from monitor.rules.model import Group, Rule


def load_rules(rules_dir: Path, wait_s: float) -> list[Group]:
    """``load_dir(rules/)``; the rules package may still be in the making, so poll."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            from monitor.rules.load import load_dir
            return load_dir(rules_dir)
        except Exception as exc:  # ImportError, ConfigFileErrors, half-written files
            if time.monotonic() >= deadline:
                raise
            log(f"rules not loadable yet ({type(exc).__name__}: {exc}); retrying in 30 s")
            for name in [m for m in sys.modules if m.startswith("monitor.rules")]:
                del sys.modules[name]
            time.sleep(30)


class TimedInflux(InfluxClient):
    """Accumulates the time spent in ``query`` (HTTP round trip + JSON parse)."""

    query_s = 0.0

    def query(self, q: str, *, epoch: str | None = "ms", write: bool = False,
              params: dict[str, Any] | None = None) -> list[Series]:
        started = time.perf_counter()
        try:
            return super().query(q, epoch=epoch, write=write, params=params)
        finally:
            self.query_s += time.perf_counter() - started


def make_evaluator(influx: TimedInflux, state_path: Path) -> Any:
    from monitor.rules.evaluate import Evaluator, StateFile

    class TimedEvaluator(Evaluator):
        """Records, per rule, its query's wall time (queries overlap) and its Python time."""

        per_rule: dict[str, tuple[float, float]]

        def _fetch(self, rule: Rule, at_ns: int) -> list[Series]:
            started = time.perf_counter()
            try:
                return super()._fetch(rule, at_ns)
            finally:
                query = time.perf_counter() - started
                self.per_rule[rule.id] = (query, self.per_rule.get(rule.id, (0.0, 0.0))[1])

        def _evaluate_rule(self, rule: Rule, series: list[Series], at_ns: int,
                           result: GroupResult) -> None:
            started = time.perf_counter()
            try:
                super()._evaluate_rule(rule, series, at_ns, result)
            finally:
                python = time.perf_counter() - started
                self.per_rule[rule.id] = (self.per_rule.get(rule.id, (0.0, 0.0))[0], python)

    evaluator = TimedEvaluator(influx, StateFile(state_path))
    evaluator.per_rule = {}
    return evaluator


def cycle_summary(cycles: list[float]) -> dict[str, Any]:
    """The ``cycle_s`` entry of the JSON: every run's seconds, the least and the median."""
    return {"runs": cycles, "min": min(cycles), "median": statistics.median(cycles)}


def run_cycle(evaluator: Any, influx: TimedInflux, groups: list[Group],
              at_ns: int) -> dict[str, Any]:
    evaluator.per_rule = {}
    influx.query_s = 0.0
    results: list[GroupResult] = []
    started = time.perf_counter()
    for group in groups:
        results.append(evaluator.evaluate(group, at_ns))
    cycle_s = time.perf_counter() - started
    alerts = [alert for result in results for alert in result.alerts]
    errors = {rule: text for result in results for rule, text in result.errors.items()}
    return {
        "cycle_s": round(cycle_s, 4),
        # Queries overlap (Evaluator.concurrency): query_s sums their wall times, so
        # query_s + python_s can exceed cycle_s.
        "query_s": round(influx.query_s, 4),
        "python_s": round(sum(python for _, python in evaluator.per_rule.values()), 4),
        "queries": sum(result.queries for result in results),
        "alerts": len(alerts),
        "alerts_by_status": dict(sorted(Counter(a.status for a in alerts).items())),
        "transitions": sum(len(result.transitions) for result in results),
        "errors": errors,
        "per_rule": {rule: {"total_s": round(query + python, 4), "query_s": round(query, 4),
                            "python_s": round(python, 4)}
                     for rule, (query, python) in evaluator.per_rule.items()},
    }


def cached_template_runs(evaluator: Any, influx: TimedInflux, groups: list[Group],
                         at_ns: int, runs: int) -> dict[str, Any]:
    """Steady-state cycles with each annotation template compiled once, not once per room.

    ``evaluate._render_one`` compiles its template on every call (``from_string``
    does not cache); this swaps in a cached compile, for this benchmark only, to
    show what the cycle costs once that is fixed.
    """
    import jinja2

    from monitor.rules import evaluate

    original = evaluate._render_one
    compiled: dict[str, jinja2.Template] = {}

    def render_one(text: str, context: dict[str, Any]) -> str:
        try:
            template = compiled.get(text)
            if template is None:
                template = compiled[text] = evaluate._templates.from_string(text)
            return template.render(context)
        except (jinja2.TemplateError, TypeError, ValueError) as exc:
            return f"{text} [template error: {exc}]"

    evaluate._render_one = render_one
    try:
        done = [run_cycle(evaluator, influx, groups, at_ns) for _ in range(runs)]
    finally:
        evaluate._render_one = original
    last = done[-1]
    return {"cycle_s": cycle_summary([run["cycle_s"] for run in done]),
            "last_run_split_s": {"query": last["query_s"], "python": last["python_s"]},
            "alerts": last["alerts"], "errors": last["errors"],
            "per_rule": last["per_rule"]}
