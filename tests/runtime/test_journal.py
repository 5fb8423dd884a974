"""The engine's commit logic on a real SQLite file: one transaction, retries, migration, drops.

A lock held by a second real connection (``BEGIN IMMEDIATE``) is what a
busy or stuck database looks like to the engine: ``database is locked``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from support.alerts import make_alert
from support.sqlitelock import Locker

from monitor.notify.dispatch import Dispatcher
from monitor.notify.message import Notification
from monitor.notify.outbox import Outbox
from monitor.notify.policy import Policy
from monitor.rules.model import Group, Rule
from monitor.rules.roomstate import RoomState, RuleStates
from monitor.runtime.journal import Change, CommitRetry, Journal

NS = 1_000_000_000
FAST = CommitRetry(attempts=3, base_delay_s=0.01, max_delay_s=0.05)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def outbox(state_dir: Path) -> Iterator[Outbox]:
    box = Outbox(state_dir, busy_timeout_s=0.05)
    yield box
    box.close()


def firing_states(*rule_ids: str) -> RuleStates:
    states = RuleStates()
    for rule_id in rule_ids:
        states.set(rule_id, "r1", RoomState(status="firing", level="warning",
                                            firing_since_ns=5 * NS, last_value=1250.0))
    return states


def note(room_id: str = "r1", kind: str = "firing") -> Notification:
    alert = make_alert(room_id, status=kind, notify=("hook",))
    return Notification("hook", "air/co2-high{}", (alert,), kind)  # type: ignore[arg-type]


def group(name: str, *rule_names: str) -> Group:
    rules = tuple(Rule(group=name, name=rule, kind="threshold", levels={})
                  for rule in rule_names)
    return Group(name=name, interval_s=60.0, rules=rules, source=f"{name}.yaml")


def rows(path: Path, table: str) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])




def test_states_notifications_and_points_are_stored_together(outbox: Outbox,
                                                            state_dir: Path) -> None:
    journal = Journal(outbox, FAST)
    dispatcher = Dispatcher(Policy())
    change = Change(rules={"air": firing_states("air/co2-high")},
                    dispatcher=dispatcher.to_json(), notifications=[note()],
                    points=b"rule_state,rule=air/co2-high status=\"firing\" 1")
    assert journal.commit(change)
    outbox.close()

    again = Outbox(state_dir)
    stored = again.load_state()
    assert json.loads(stored["rules/air"])["rules"]["air/co2-high"]["r1"]["status"] == "firing"
    assert json.loads(stored["dispatcher"]) == dispatcher.to_json()
    assert [item.id for item in again.pending()] == [note().id]
    assert [lines for _, lines in again.pending_points()] == [
        "rule_state,rule=air/co2-high status=\"firing\" 1"]
    again.close()


def test_a_locked_database_gets_none_of_it_and_the_commit_says_so(outbox: Outbox,
                                                                  state_dir: Path) -> None:
    waits: list[float] = []
    journal = Journal(outbox, FAST, sleep=waits.append)
    failures = REGISTRY.get_sample_value("zrmon_rule_state_commit_failures_total") or 0.0
    locker = Locker(outbox.path)
    try:
        committed = journal.commit(Change(rules={"air": firing_states("air/co2-high")},
                                          dispatcher={"version": 1, "groups": []},
                                          notifications=[note()], points=b"x v=1 1"))
    finally:
        locker.release()
    assert committed is False
    assert waits == [0.01, 0.02]                      # back-off between the three attempts
    assert REGISTRY.get_sample_value("zrmon_rule_state_commit_failures_total") == failures + 3
    assert outbox.load_state() == {}
    assert rows(outbox.path, "outbox") == rows(outbox.path, "influx_points") == 0


def test_a_commit_succeeds_once_the_lock_is_gone(outbox: Outbox) -> None:
    locker = Locker(outbox.path)
    waits: list[float] = []

    def wait_then_release(seconds: float) -> None:
        waits.append(seconds)
        locker.release()                      # the other writer finishes after our 1st try

    journal = Journal(outbox, FAST, sleep=wait_then_release)
    try:
        assert journal.commit(Change(notifications=[note()]))
    finally:
        locker.release()
    assert waits == [0.01]
    assert [item.id for item in outbox.pending()] == [note().id]


def test_restore_reads_the_old_json_files_once(outbox: Outbox, state_dir: Path) -> None:
    legacy = firing_states("air/co2-high")
    (state_dir / "rules.json").write_text(json.dumps(legacy.to_json()))
    told = Dispatcher(Policy())
    told.process([make_alert("r1", rule_id="air/co2-high", notify=("hook",))], 10 * NS)
    (state_dir / "dispatch.json").write_text(json.dumps(told.to_json()))

    states, dispatcher = Journal(outbox, FAST).restore([group("air", "co2-high")], Policy())
    assert states.get("air/co2-high", "r1").status == "firing"
    assert dispatcher.to_json() == told.to_json()
    assert not (state_dir / "rules.json").exists()
    assert (state_dir / "rules.json.migrated").exists()
    assert (state_dir / "dispatch.json.migrated").exists()

    # A leftover (or restored-from-backup) file never overrides the database.
    (state_dir / "rules.json").write_text(json.dumps(RuleStates().to_json()))
    states, _ = Journal(outbox, FAST).restore([group("air", "co2-high")], Policy())
    assert states.get("air/co2-high", "r1").status == "firing"


def test_restore_drops_rules_and_groups_no_longer_loaded(outbox: Outbox) -> None:
    journal = Journal(outbox, FAST)
    assert journal.commit(Change(rules={"air": firing_states("air/co2-high", "air/pm25"),
                                        "old": firing_states("old/gone")}))
    states, _ = journal.restore([group("air", "co2-high")], Policy())
    assert states.rule_ids() == ["air/co2-high"]
    stored = outbox.load_state()
    assert "rules/old" not in stored
    assert list(json.loads(stored["rules/air"])["rules"]) == ["air/co2-high"]


def test_restore_on_an_empty_database_starts_clean(outbox: Outbox) -> None:
    states, dispatcher = Journal(outbox, FAST).restore([group("air", "co2-high")], Policy())
    assert states.rule_ids() == [] and dispatcher.groups == {}
    assert set(outbox.load_state()) == {"rules/air", "dispatcher"}


def test_a_full_disk_is_a_failed_commit_too(outbox: Outbox) -> None:
    """SQLite's own page limit stands in for a full disk: SQLITE_FULL from the real engine."""
    (pages,) = outbox.db.execute("PRAGMA page_count").fetchone()
    outbox.db.execute(f"PRAGMA max_page_count = {pages}")
    journal = Journal(outbox, FAST, sleep=lambda _: None)
    many = firing_states(*(f"air/rule-{i}" for i in range(500)))
    assert not journal.commit(Change(rules={"air": many}, notifications=[note()]))
    assert journal.last_error is not None and "full" in journal.last_error
    assert outbox.load_state() == {} and outbox.pending() == []

    outbox.db.execute("PRAGMA max_page_count = 1073741823")      # space again
    assert journal.commit(Change(rules={"air": many}, notifications=[note()]))
    assert journal.last_error is None
    assert [item.id for item in outbox.pending()] == [note().id]
