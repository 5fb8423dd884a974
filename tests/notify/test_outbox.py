"""The outbox store: its file, idempotent enqueueing, restarts, upkeep, leases and the fence.

Rows are delivered to a real HTTP server (fixtures in conftest.py); ``now`` is
injected. Tests taking ``outbox`` or ``outbox_place`` run on SQLite and on a
real PostgreSQL; the lease lock file and an older file's take-up are SQLite's.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import psycopg
import pytest
from support.alerts import T0, room_notification
from support.outboxes import OutboxPlace
from support.sinks import HttpSink

from monitor.notify.channels.kind import Sender
from monitor.notify.delivery import deliver_due
from monitor.notify.message import Notification
from monitor.notify.outbox import Outbox, seconds_to_ns
from monitor.store.migrations import latest
from monitor.store.statedb import Tx


def test_the_file_lives_in_the_state_dir(tmp_path: Path) -> None:
    Outbox.open(tmp_path / "var" / "state").close()
    assert (tmp_path / "var" / "state" / "outbox.sqlite").is_file()


def test_enqueue_twice_delivers_once(outbox: Outbox, http_sink: HttpSink,
                                     senders: dict[str, Sender]) -> None:
    assert outbox.enqueue([room_notification(), room_notification()], now=T0) == 1
    assert outbox.enqueue([room_notification()], now=T0 + 1) == 0
    assert deliver_due(outbox, senders, now=T0 + 1) == 1
    assert outbox.enqueue([room_notification()], now=T0 + 60) == 0    # re-emitted after sending
    assert deliver_due(outbox, senders, now=T0 + 60) == 0
    assert len(http_sink.requests) == 1


def test_restart_resends_pending_but_never_sent(outbox_place: OutboxPlace, http_sink: HttpSink,
                                                senders: dict[str, Sender]) -> None:
    sent, waiting = room_notification("room-1"), room_notification("room-2")
    first = outbox_place.open()
    first.enqueue([sent], now=T0)
    assert deliver_due(first, senders, now=T0) == 1
    http_sink.fail_next(1, 502)
    first.enqueue([waiting], now=T0 + 1)
    assert deliver_due(first, senders, now=T0 + 1) == 0
    first.close()

    second = outbox_place.open()                       # the process restarted
    assert second.enqueue([sent, waiting], now=T0 + 2) == 0   # the evaluator re-emits all
    assert [item.id for item in second.pending()] == [waiting.id]
    assert deliver_due(second, senders, now=T0 + 11) == 1

    bodies = [request.json()["id"] for request in http_sink.requests]
    assert bodies == [sent.id, waiting.id, waiting.id]   # sent once; waiting: 502, then ok


def test_forget_before_keeps_pending_rows(outbox: Outbox, senders: dict[str, Sender]) -> None:
    outbox.enqueue([room_notification("room-1")], now=T0)
    deliver_due(outbox, senders, now=T0)
    outbox.enqueue([room_notification("room-2", channel="gone")], now=T0)
    assert outbox.forget_before(T0 + 1) == 1
    assert outbox.sent() == []
    assert len(outbox.pending()) == 1


def test_the_sole_deliverer_resends_what_a_killed_one_left_leased(
        tmp_path: Path, http_sink: HttpSink, senders: dict[str, Sender]) -> None:
    """No 2-minute wait after a crash mid-send: the lock file proves the old process is gone."""
    def crash(_: Notification) -> None:
        raise KeyboardInterrupt                 # stands in for the process dying

    first = Outbox.open(tmp_path)
    first.enqueue([room_notification()], now=T0)
    with pytest.raises(KeyboardInterrupt):
        deliver_due(first, {"hook": crash}, now=T0)
    first.close()                               # its flock (never taken here) is gone too
    second = Outbox.open(tmp_path)
    assert second.recover_leases() == 1
    assert deliver_due(second, senders) == 1
    [request] = http_sink.requests
    assert request.headers["Idempotency-Key"] == room_notification().id


def test_leases_are_left_alone_while_another_deliverer_lives(tmp_path: Path) -> None:
    alive, other = Outbox.open(tmp_path), Outbox.open(tmp_path)
    assert alive.recover_leases() == 0          # takes the lock, nothing leased
    alive.enqueue([room_notification()], now=T0)
    alive.claim(1, seconds_to_ns(T0), seconds_to_ns(T0 + 120))   # a deliverer's lease
    assert other.recover_leases() == 0          # the lock is held: the lease may be live
    assert other.pending()[0].next_attempt_at == T0 + 120
    alive.close()
    assert other.recover_leases() == 1          # its holder is gone


def test_a_back_off_wait_is_not_a_lease(outbox: Outbox, http_sink: HttpSink,
                                        senders: dict[str, Sender]) -> None:
    http_sink.fail_next(1, 503, headers={"Retry-After": "300"})
    outbox.enqueue([room_notification()], now=T0)
    assert deliver_due(outbox, senders, now=T0) == 0
    assert outbox.recover_leases() == 0
    assert outbox.pending()[0].next_attempt_at == T0 + 300


# ---------------------------------------------------------------------------
# The schema as migrations: a file written before them is taken up as it is

PREVIOUS_DDL = """
CREATE TABLE IF NOT EXISTS outbox (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    channel         TEXT NOT NULL,
    group_key       TEXT NOT NULL,
    kind            TEXT NOT NULL,
    notification    TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_ns      INTEGER NOT NULL,
    next_attempt_ns INTEGER NOT NULL,
    finished_ns     INTEGER,
    last_error      TEXT,
    leased          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_status ON outbox (status, seq);
CREATE TABLE IF NOT EXISTS state (
    key             TEXT PRIMARY KEY,
    value           TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS influx_points (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    lines           TEXT NOT NULL
);
"""


def test_an_outbox_file_from_before_the_migrations_is_taken_up_with_its_rows(
        tmp_path: Path, http_sink: HttpSink, senders: dict[str, Sender]) -> None:
    """The file the previous version wrote (its DDL, a sent row, a pending one, state, points)."""
    sent, waiting = room_notification("room-1"), room_notification("room-2")
    path = tmp_path / "outbox.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(PREVIOUS_DDL)
        for note, status in ((sent, "sent"), (waiting, "pending")):
            db.execute("INSERT INTO outbox (id, channel, group_key, kind, notification, status,"
                       " attempts, created_ns, next_attempt_ns, finished_ns) VALUES "
                       "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (note.id, note.channel, note.group_key, note.kind,
                        json.dumps(note.to_dict()), status, int(status == "sent"),
                        seconds_to_ns(T0), seconds_to_ns(T0),
                        seconds_to_ns(T0) if status == "sent" else None))
        db.execute("INSERT INTO state VALUES ('dispatcher', '{\"version\": 1}')")
        db.execute("INSERT INTO influx_points (lines) VALUES ('x v=1 1')")
        tables_before = db.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()
    db.close()

    outbox = Outbox.open(tmp_path)
    assert [item.id for item in outbox.sent()] == [sent.id]
    assert [item.id for item in outbox.pending()] == [waiting.id]
    assert outbox.load_state() == {"dispatcher": '{"version": 1}'}
    assert outbox.pending_points() == [(1, "x v=1 1")]
    assert outbox.enqueue([sent, waiting], now=T0 + 1) == 0     # known ids, as before
    assert deliver_due(outbox, senders, now=T0 + 1) == 1
    assert [r.json()["id"] for r in http_sink.requests] == [waiting.id]
    outbox.close()
    with sqlite3.connect(path) as db:
        versions = db.execute("SELECT component, version FROM schema_migrations").fetchall()
        tables = db.execute("SELECT name, sql FROM sqlite_master WHERE name != "
                            "'schema_migrations' AND name NOT LIKE 'sqlite_autoindex_"
                            "schema%' ORDER BY name").fetchall()
    db.close()
    assert sorted(versions) == [("evaluator", v) for v in range(1, latest("evaluator") + 1)]
    added = [name for name, _ in tables if name.startswith(("job_runs", "sqlite_autoindex_job"))]
    assert added == ["job_runs", "sqlite_autoindex_job_runs_1"]   # later versions only add
    assert [t for t in tables if t[0] not in added] == tables_before   # not a column changed


# ---------------------------------------------------------------------------
# Leases across hosts, and the fence


def test_on_postgresql_a_lease_runs_out_rather_than_being_recovered(
        state_url: str, tmp_path: Path) -> None:
    """Another host's deliverer may be alive: a lease is honoured until its time is up."""
    dead, alive = Outbox.open(tmp_path / "a", state_url), Outbox.open(tmp_path / "b", state_url)
    dead.enqueue([room_notification()], now=T0)
    [(seq, _, _)] = dead.pending_rows()
    assert dead.claim(seq, seconds_to_ns(T0), seconds_to_ns(T0 + 120)) is not None
    dead.close()                                        # died mid-send
    assert alive.recover_leases() == 0
    assert alive.claim(seq, seconds_to_ns(T0 + 119), seconds_to_ns(T0 + 239)) is None
    claim = alive.claim(seq, seconds_to_ns(T0 + 120), seconds_to_ns(T0 + 240))
    assert claim is not None and claim.notification == room_notification()
    alive.close()


def test_a_new_leader_sends_again_what_the_old_one_left_leased(
        state_url: str, tmp_path: Path) -> None:
    """A fenced outbox is the only deliverer: leases it finds are a former leader's."""
    old = Outbox.open(tmp_path / "a", state_url)
    old.enqueue([room_notification()], now=T0)
    [(seq, _, _)] = old.pending_rows()
    assert old.claim(seq, seconds_to_ns(T0), seconds_to_ns(T0 + 120)) is not None
    old.close()                                         # killed mid-send
    leader = Outbox.open(tmp_path / "b", state_url, fence=lambda tx: None)
    assert leader.recover_leases() == 1
    assert leader.claim(seq, time.time_ns(), time.time_ns() + seconds_to_ns(120)) is not None
    leader.close()


class FencedError(Exception):
    """This replica lost the lead."""


def test_a_raising_fence_stores_nothing_of_a_commit_or_a_claim(outbox_place: OutboxPlace) -> None:
    seen: list[str] = []
    allowed = True

    def fence(tx: Tx) -> None:
        seen.append(tx.dialect)
        tx.execute("SELECT COUNT(*) FROM outbox").fetchone()    # it may read, in the same tx
        if not allowed:
            raise FencedError("another replica leads")

    outbox = outbox_place.open(fence=fence)
    outbox.enqueue([room_notification("room-1")], now=T0)
    [(seq, _, due_ns)] = outbox.pending_rows()
    allowed = False
    with pytest.raises(FencedError):
        outbox.commit([room_notification("room-2")], state={"dispatcher": "{}"},
                      points=["x v=1 1"], now=T0)
    with pytest.raises(FencedError):
        outbox.claim(seq, seconds_to_ns(T0), seconds_to_ns(T0 + 120))
    for write in (lambda: outbox.mark_sent(seq, 1), lambda: outbox.drop_points(9),
                  lambda: outbox.expire(seconds_to_ns(T0 + 1), 1)):
        with pytest.raises(FencedError):
            write()
    assert [item.id for item in outbox.pending()] == [room_notification("room-1").id]
    assert outbox.pending_rows() == [(seq, "hook", due_ns)]        # not leased
    assert outbox.load_state() == {} and outbox.pending_points() == []
    assert seen == [outbox_place.backend] * 6
    allowed = True
    assert outbox.claim(seq, seconds_to_ns(T0), seconds_to_ns(T0 + 120)) is not None
    outbox.close()


def test_two_deliverers_on_postgresql_never_claim_the_same_row(state_url: str,
                                                               tmp_path: Path) -> None:
    first, second = Outbox.open(tmp_path / "a", state_url), Outbox.open(tmp_path / "b", state_url)
    first.enqueue([room_notification(f"room-{i}") for i in range(150)], now=T0)
    seqs = [seq for seq, _, _ in first.pending_rows()]
    start = threading.Barrier(2)
    claimed: dict[str, list[int]] = {"first": [], "second": []}

    def deliverer(name: str, outbox: Outbox) -> None:
        start.wait()
        for seq in seqs:                      # the same rows in the same order: a race each
            if outbox.claim(seq, seconds_to_ns(T0), seconds_to_ns(T0 + 120)) is not None:
                claimed[name].append(seq)

    threads = [threading.Thread(target=deliverer, args=(name, box))
               for name, box in (("first", first), ("second", second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not set(claimed["first"]) & set(claimed["second"])
    assert sorted(claimed["first"] + claimed["second"]) == seqs
    first.close()
    second.close()


def test_on_postgresql_a_row_being_claimed_elsewhere_is_skipped_not_waited_for(
        state_url: str, tmp_path: Path) -> None:
    outbox = Outbox.open(tmp_path, state_url)
    outbox.enqueue([room_notification()], now=T0)
    [(seq, _, _)] = outbox.pending_rows()
    results: list[object] = []
    with psycopg.connect(state_url) as other, other.transaction():
        other.execute("SELECT seq FROM outbox WHERE seq = %s FOR UPDATE", (seq,))
        claiming = threading.Thread(target=lambda: results.append(
            outbox.claim(seq, seconds_to_ns(T0), seconds_to_ns(T0 + 120))))
        claiming.start()
        claiming.join(10)
        assert not claiming.is_alive() and results == [None]   # did not wait for the lock
    assert outbox.claim(seq, seconds_to_ns(T0), seconds_to_ns(T0 + 120)) is not None
    outbox.close()
