"""What one evaluation commits, all together: rule states, dispatcher state, notifications, points.

Why one transaction: a transition lives in three places — the rule state
that says a room resolved, the dispatcher state that says which channel was
told what, and the notification in the outbox. Saved one after the other, a
crash in between loses the RESOLVED (the rule state already says inactive,
so no evaluation will produce it again) or sends a message twice. Here all
three, and the transition's ``rule_state`` point, go into the outbox's
database (SQLite, or the shared PostgreSQL) in one transaction
(:meth:`monitor.notify.outbox.Outbox.commit`).

A failed commit (``database is locked``, a disk I/O error, PostgreSQL down:
``StateDBError``) is retried with back-off; if it still fails, the caller
keeps its in-memory state as it was, so the next evaluation derives the same
transition again and nothing is lost.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.core.errors import StateError
from monitor.core.jsonutil import dumps, loads, read_json_state
from monitor.core.metrics import STATE_COMMIT_FAILURES
from monitor.notify.dispatch import Dispatcher
from monitor.notify.message import Notification
from monitor.notify.outbox import Outbox
from monitor.notify.policy import Policy
from monitor.rules.model import Group
from monitor.rules.roomstate import RuleStates
from monitor.store.statedb import StateDBError

log = logging.getLogger("monitor.rules")

RULES_PREFIX = "rules/"          # + group name: that group's rule states
DISPATCHER_KEY = "dispatcher"
# Where earlier versions kept the same state, as JSON files in the state dir: read once.
LEGACY_FILES = ("rules.json", "dispatch.json")
MIGRATED_SUFFIX = ".migrated"


class JournalError(StateError):
    """The state could not be restored or stored at start-up."""


@dataclass(frozen=True)
class CommitRetry:
    """Back-off 0.25 s, 0.5 s, 1 s … capped at 5 s; six attempts (about 10 s) per commit.

    Beyond that, the cycle is given up rather than blocking every group: the
    next evaluation tries again with a fresh result.
    """

    attempts: int = 6
    base_delay_s: float = 0.25
    max_delay_s: float = 5.0

    def delay(self, failures: int) -> float:
        return float(min(self.base_delay_s * 2.0 ** max(0, failures - 1), self.max_delay_s))


@dataclass(frozen=True)
class Change:
    """Everything one evaluation (or dispatcher tick) must store at once."""

    rules: Mapping[str, RuleStates] = field(default_factory=dict)   # group name → its states
    dispatcher: Mapping[str, Any] | None = None                     # Dispatcher.to_json()
    notifications: Sequence[Notification] = ()
    points: bytes = b""                                              # rule_state line protocol
    forget_groups: Sequence[str] = ()                                # groups no longer loaded


class Journal:
    """The engine's persistence, in the outbox database (see the module docstring)."""

    def __init__(self, outbox: Outbox, retry: CommitRetry | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.outbox = outbox
        self.retry = retry or CommitRetry()
        self.sleep = sleep
        self.last_error: str | None = None     # why the latest commit failed, until one succeeds

    @property
    def state_dir(self) -> Path | None:
        """Where an older version's JSON state files are (None: PostgreSQL, never had them)."""
        return None if self.outbox.path is None else self.outbox.path.parent

    def commit(self, change: Change, *, retry: bool = True) -> bool:
        """Store the change in one transaction, retrying with back-off; whether it was stored.

        ``retry=False`` makes one attempt: for a change the next call derives
        again anyway (a dispatcher tick), so that it never holds up evaluations.
        """
        attempts = self.retry.attempts if retry else 1
        rows: dict[str, str | None] = {RULES_PREFIX + name: _dumps(states.to_json())
                                       for name, states in change.rules.items()}
        rows.update({RULES_PREFIX + name: None for name in change.forget_groups})
        if change.dispatcher is not None:
            rows[DISPATCHER_KEY] = _dumps(change.dispatcher)
        points = [change.points.decode("utf-8")] if change.points else []
        transitions = change.points.count(b"\n") + 1 if change.points else 0
        what = (f"rule state with {transitions} transition(s) and "
                f"{len(change.notifications)} notification(s)")
        for attempt in range(1, attempts + 1):
            try:
                self.outbox.commit(change.notifications, state=rows, points=points)
            except (sqlite3.Error, StateDBError, OSError) as exc:
                STATE_COMMIT_FAILURES.inc()
                self.last_error = f"{type(exc).__name__}: {exc}"
                if attempt == attempts:
                    log.error("cannot commit %s after %d attempts (%s); memory kept as "
                              "committed, the next evaluation derives it again", what, attempt,
                              exc)
                    return False
                delay = self.retry.delay(attempt)
                log.warning("cannot commit %s (attempt %d of %d): %s; retrying in %.2f s",
                            what, attempt, attempts, exc, delay)
                self.sleep(delay)
            else:
                self.last_error = None
                return True
        return False

    def restore(self, groups: Sequence[Group], policy: Policy) -> tuple[RuleStates, Dispatcher]:
        """The committed states, or an older version's JSON files (once); unloaded rules dropped.

        The result is committed straight away (in the database's own format,
        without the dropped rules), so what is in memory is what is stored
        from the first evaluation on.
        """
        rows = self.outbox.load_state()
        legacy = [] if rows else [path for path in self._legacy_paths() if path.exists()]
        states, dispatcher_json = _from_rows(rows) if rows else self._from_legacy()
        dispatcher = (Dispatcher.from_json(dispatcher_json, policy) if dispatcher_json
                      else Dispatcher(policy))
        loaded = {rule.id for group in groups for rule in group.rules}
        dropped = [rule_id for rule_id in states.rule_ids() if rule_id not in loaded]
        for rule_id in dropped:
            states.drop_rule(rule_id)
        if dropped:
            log.info("dropped the state of %d rule(s) no longer in the rule files: %s",
                     len(dropped), ", ".join(dropped))
        names = {group.name for group in groups}
        stale = [key.removeprefix(RULES_PREFIX) for key in rows
                 if key.startswith(RULES_PREFIX) and key.removeprefix(RULES_PREFIX) not in names]
        change = Change(rules={group.name: states.subset(rule.id for rule in group.rules)
                               for group in groups},
                        dispatcher=dispatcher.to_json(), forget_groups=stale)
        if not self.commit(change):
            raise JournalError(f"cannot store rule state in {self.outbox.where}")
        for path in legacy:     # committed: never read again (kept for inspection)
            path.rename(path.with_name(path.name + MIGRATED_SUFFIX))
        if legacy:
            log.info("moved rule and dispatcher state from %s into %s",
                     ", ".join(p.name for p in legacy), self.outbox.where)
        return states, dispatcher

    def _legacy_paths(self) -> list[Path]:
        state_dir = self.state_dir
        return [] if state_dir is None else [state_dir / name for name in LEGACY_FILES]

    def _from_legacy(self) -> tuple[RuleStates, Mapping[str, Any] | None]:
        paths = self._legacy_paths()
        if not paths:
            return RuleStates(), None
        rules_path, dispatcher_path = paths
        states = RuleStates.from_json(_read(rules_path) or {})
        return states, _read(dispatcher_path)


def _from_rows(rows: Mapping[str, str]) -> tuple[RuleStates, Mapping[str, Any] | None]:
    states = RuleStates()
    for key, value in rows.items():
        if key.startswith(RULES_PREFIX):
            group = RuleStates.from_json(loads(value))
            states.replace_rules(group.rule_ids(), group)
    dispatcher = rows.get(DISPATCHER_KEY)
    return states, None if dispatcher is None else loads(dispatcher)


def _read(path: Path) -> dict[str, Any] | None:
    """An older version's state file (``StateFileError`` when damaged: never read as empty)."""
    data = read_json_state(path, lambda: None)
    if data is not None and not isinstance(data, dict):
        raise JournalError(f"{path}: not a JSON object")
    return data


def _dumps(value: Mapping[str, Any]) -> str:
    return dumps(value).decode("utf-8")
