"""One leader per role on a real PostgreSQL: hand-over on release, on a killed session, on a
frozen or killed process, and fencing of a leader that lost the lead without knowing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import psycopg
import pytest
from support.processes import wait_for

from monitor.store.leader import Leadership, NotLeaderError
from monitor.store.migrations import migrate
from monitor.store.statedb import PostgresDB

ROLE = "evaluator"


@pytest.fixture
def db(state_url: str) -> Iterator[PostgresDB]:
    opened = PostgresDB(state_url)
    migrate(opened, "leader", 1)
    yield opened
    opened.close()


@pytest.fixture
def pair(state_url: str, db: PostgresDB) -> Iterator[tuple[Leadership, Leadership]]:
    made = (Leadership(state_url, ROLE, "host-a", idle_timeout_s=2),
            Leadership(state_url, ROLE, "host-b", idle_timeout_s=2))
    yield made
    for one in made:
        one.release()


def test_one_leads_the_other_stands_by_until_it_lets_go(pair: tuple[Leadership, Leadership],
                                                        db: PostgresDB) -> None:
    a, b = pair
    assert a.try_acquire() and not b.try_acquire()
    first = a.epoch
    a.release()
    assert b.try_acquire() and b.epoch == (first or 0) + 1
    with db.transaction() as tx:
        b.fence(tx)                      # the leader passes its own fence


def test_an_old_leader_is_fenced_out_of_every_commit(pair: tuple[Leadership, Leadership],
                                                     db: PostgresDB, state_url: str) -> None:
    a, b = pair
    assert a.try_acquire()
    with psycopg.connect(state_url, autocommit=True) as admin:     # its session killed
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_locks "
                      "WHERE locktype = 'advisory' AND granted")
    wait_for(b.try_acquire, 10, "the standby to take the lead")
    stale_epoch = a.epoch                  # a does not know yet: it has not heartbeaten
    assert stale_epoch is not None and a.leading
    with pytest.raises(NotLeaderError), db.transaction() as tx:
        a.fence(tx)
        tx.execute("INSERT INTO leaders VALUES ('never', 1, 'a', 1)")
    with db.transaction() as tx:
        assert tx.execute("SELECT count(*) FROM leaders WHERE role = 'never'").fetchone()[0] == 0
    assert not a.heartbeat() and not a.leading


def test_a_silent_leader_loses_its_session_and_the_lead(pair: tuple[Leadership, Leadership]
                                                        ) -> None:
    a, b = pair
    assert a.try_acquire()
    started = time.monotonic()
    wait_for(b.try_acquire, 15, "PostgreSQL to end the silent session")
    assert time.monotonic() - started >= 1.5      # not before the idle timeout
    assert not a.heartbeat()


CHILD = """
import sys, time
from monitor.store.leader import Leadership
lead = Leadership(sys.argv[1], "evaluator", "child", idle_timeout_s=int(sys.argv[2]))
assert lead.try_acquire()
print("leading", flush=True)
while True:
    time.sleep(0.5)
    lead.heartbeat()
"""


def _leading_child(state_url: str, idle_timeout_s: int) -> subprocess.Popen[str]:
    child = subprocess.Popen([sys.executable, "-c", CHILD, state_url, str(idle_timeout_s)],
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "leading"
    return child


@pytest.mark.slow
@pytest.mark.parametrize(("how", "within_s"), [(signal.SIGKILL, 5.0), (signal.SIGSTOP, 15.0)])
def test_a_killed_or_frozen_leader_process_is_replaced(state_url: str, db: PostgresDB,
                                                       how: signal.Signals,
                                                       within_s: float) -> None:
    child = _leading_child(state_url, idle_timeout_s=3)
    standby = Leadership(state_url, ROLE, "standby")
    try:
        assert not standby.try_acquire()
        os.kill(child.pid, how)
        started = time.monotonic()
        wait_for(standby.try_acquire, within_s, "the standby to take over")
        assert time.monotonic() - started < within_s
    finally:
        standby.release()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
