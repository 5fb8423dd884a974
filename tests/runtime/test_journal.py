"""The engine's commit logic on a real database: one transaction, retries, migration, drops.

A lock held by a second real connection (``BEGIN IMMEDIATE``) is what a
busy or stuck SQLite file looks like to the engine: ``database is locked``;
a PostgreSQL server nobody listens for is one that is down. Tests taking
``outbox_place`` run on both backends.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from support.alerts import make_alert
from support.outboxes import OutboxPlace
from support.sinks import free_port
from support.sqlitelock import Locker

from monitor.notify.dispatch import Dispatcher
from monitor.notify.message import Notification
from monitor.notify.outbox import Outbox
from monitor.notify.policy import Policy
from monitor.rules.model import Group, Rule
from monitor.rules.roomstate import RoomState, RuleStates
from monitor.runtime.journal import Change, CommitRetry, Journal
from monitor.store.statedb import PostgresDB, SQLiteDB

NS = 1_000_000_000
FAST = CommitRetry(attempts=3, base_delay_s=0.01, max_delay_s=0.05)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def outbox(state_dir: Path) -> Iterator[Outbox]:
    """SQLite, where another connection's lock and a full disk can be staged."""
    box = Outbox.open(state_dir, busy_timeout_s=0.05)
    yield box
    box.close()


@pytest.fixture
def shared(outbox_place: OutboxPlace) -> Iterator[Outbox]:
    """An outbox on each backend."""
    box = outbox_place.open()
    yield box
    box.close()


def sqlite_path(outbox: Outbox) -> Path:
    assert outbox.path is not None
    return outbox.path


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




def test_states_notifications_and_points_are_stored_together(outbox_place: OutboxPlace) -> None:
    outbox = outbox_place.open()
    journal = Journal(outbox, FAST)
    dispatcher = Dispatcher(Policy())
    change = Change(rules={"air": firing_states("air/co2-high")},
                    dispatcher=dispatcher.to_json(), notifications=[note()],
                    points=b"rule_state,rule=air/co2-high status=\"firing\" 1")
    assert journal.commit(change)
    outbox.close()

    again = outbox_place.open()
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
    locker = Locker(sqlite_path(outbox))
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
    assert rows(sqlite_path(outbox), "outbox") == rows(sqlite_path(outbox), "influx_points") == 0


def test_a_commit_succeeds_once_the_lock_is_gone(outbox: Outbox) -> None:
    locker = Locker(sqlite_path(outbox))
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


def test_restore_drops_rules_and_groups_no_longer_loaded(shared: Outbox) -> None:
    outbox = shared
    journal = Journal(outbox, FAST)
    assert journal.commit(Change(rules={"air": firing_states("air/co2-high", "air/pm25"),
                                        "old": firing_states("old/gone")}))
    states, _ = journal.restore([group("air", "co2-high")], Policy())
    assert states.rule_ids() == ["air/co2-high"]
    stored = outbox.load_state()
    assert "rules/old" not in stored
    assert list(json.loads(stored["rules/air"])["rules"]) == ["air/co2-high"]


def test_restore_on_an_empty_database_starts_clean(shared: Outbox) -> None:
    states, dispatcher = Journal(shared, FAST).restore([group("air", "co2-high")], Policy())
    assert states.rule_ids() == [] and dispatcher.groups == {}
    assert set(shared.load_state()) == {"rules/air", "dispatcher"}


def test_postgresql_down_is_a_failed_commit_retried_with_back_off(tmp_path: Path) -> None:
    """StateDBError is what a locked SQLite file is: back-off, then False, nothing half-done."""
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/zrmon"
    waits: list[float] = []
    journal = Journal(Outbox(PostgresDB(url, timeout_s=0.2)), FAST, sleep=waits.append)
    failures = REGISTRY.get_sample_value("zrmon_rule_state_commit_failures_total") or 0.0
    assert not journal.commit(Change(rules={"air": firing_states("air/co2-high")},
                                     notifications=[note()], points=b"x v=1 1"))
    assert waits == [0.01, 0.02]
    assert REGISTRY.get_sample_value("zrmon_rule_state_commit_failures_total") == failures + 3
    assert journal.last_error is not None and journal.last_error.startswith("StateDBError")
    journal.outbox.close()


def test_the_commit_after_postgresql_comes_back_stores_everything(state_url: str,
                                                                  tmp_path: Path) -> None:
    """What failed while it was down is derived again and stored whole by the next commit."""
    down = Journal(Outbox(PostgresDB(f"postgresql://postgres@127.0.0.1:{free_port()}/x",
                                     timeout_s=0.2)), FAST, sleep=lambda _: None)
    change = Change(rules={"air": firing_states("air/co2-high")}, notifications=[note()],
                    points=b"x v=1 1")
    assert not down.commit(change)
    down.outbox.close()
    outbox = Outbox.open(tmp_path, state_url)
    assert Journal(outbox, FAST).commit(change)
    assert [item.id for item in outbox.pending()] == [note().id]
    assert set(outbox.load_state()) == {"rules/air"} and len(outbox.pending_points()) == 1
    outbox.close()


def test_a_full_disk_is_a_failed_commit_too(outbox: Outbox) -> None:
    """SQLite's own page limit stands in for a full disk: SQLITE_FULL from the real engine."""
    assert isinstance(outbox.db, SQLiteDB)
    connection = outbox.db.db
    (pages,) = connection.execute("PRAGMA page_count").fetchone()
    connection.execute(f"PRAGMA max_page_count = {pages}")
    journal = Journal(outbox, FAST, sleep=lambda _: None)
    many = firing_states(*(f"air/rule-{i}" for i in range(500)))
    assert not journal.commit(Change(rules={"air": many}, notifications=[note()]))
    assert journal.last_error is not None and "full" in journal.last_error
    assert outbox.load_state() == {} and outbox.pending() == []

    connection.execute("PRAGMA max_page_count = 1073741823")     # space again
    assert journal.commit(Change(rules={"air": many}, notifications=[note()]))
    assert journal.last_error is None
    assert [item.id for item in outbox.pending()] == [note().id]
