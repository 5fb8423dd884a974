"""``zrmon state export`` / ``import``: a one-machine install moved to PostgreSQL loses nothing.

The install is built the real way (a writer ingesting through the receiver, the
engine's journal committing rule state and a notification, a silence added
through the store) on SQLite files, exported with the command, imported into a
real PostgreSQL, and then used there: the clear pairs with the incident opened
before the move, a redelivery is still a duplicate, the silence holds.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from prometheus_client import REGISTRY
from support.alerts import make_alert
from support.events import Post, alert_event
from support.store import drain

from monitor.cli import main
from monitor.core.config import Config
from monitor.notify.dispatch import Dispatcher
from monitor.notify.message import Notification
from monitor.notify.outbox import Outbox
from monitor.notify.policy import Policy
from monitor.notify.silences import SilenceStore
from monitor.rules.roomstate import RoomState, RuleStates
from monitor.runtime.journal import Change, CommitRetry, Journal
from monitor.store.influx import InfluxClient
from monitor.store.migrations import MIGRATIONS, latest
from monitor.store.state import WriterState
from monitor.store.statedoc import TABLES
from monitor.store.writer import Writer

TRIGGERED, CLEARED = 1, 2
T0_MS = 1_793_527_200_000
NS = 1_000_000_000
FAST = CommitRetry(attempts=3, base_delay_s=0.01, max_delay_s=0.05)


def note(room_id: str, kind: str = "firing") -> Notification:
    alert = make_alert(room_id, status=kind, notify=("hook",))
    return Notification("hook", "air/co2-high{}", (alert,), kind)  # type: ignore[arg-type]


def firing(rule_id: str = "air/co2-high") -> RuleStates:
    states = RuleStates()
    states.set(rule_id, "r1", RoomState(status="firing", level="warning",
                                        firing_since_ns=5 * NS, last_value=1250.0))
    return states


def incidents(influx: InfluxClient) -> list[list[object]]:
    [series] = influx.query('SELECT "start_ms", "duration_s" FROM "room_incident"') or [None]
    return [] if series is None else [row[1:] for row in series.values]


def duplicates() -> float:
    return REGISTRY.get_sample_value("zrmon_duplicate_events_total") or 0.0


@pytest.fixture
def env(config: Config, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The commands see the install's data directory, as on its host."""
    monkeypatch.setenv("ZRMON_DATA_DIR", str(config.data_dir))
    monkeypatch.delenv("ZRMON_STATE_URL", raising=False)
    monkeypatch.delenv("ZRMON_REPLICA", raising=False)
    return monkeypatch


@dataclass
class Install:
    config: Config
    post: Post              # to the receiver of the install's data directory
    influx: InfluxClient


@pytest.fixture
def install(post: Post, config: Config, influx: InfluxClient) -> Install:
    """A stopped one-machine install: an open incident, rule state, a pending notification,
    a silence, all in the state directory's SQLite files."""
    writer = Writer(config, influx)
    assert post(alert_event(TRIGGERED, T0_MS)).status_code == 200
    assert drain(writer) == 1
    writer.state.close()
    outbox = Outbox.open(config.state_dir)
    assert Journal(outbox, FAST).commit(Change(
        rules={"air": firing()}, dispatcher=Dispatcher(Policy()).to_json(),
        notifications=[note("r1")], points=b'rule_state,rule=air/co2-high status="firing" 1'))
    outbox.close()
    silences = SilenceStore(config.data_dir)
    silences.add({"room_id": "room-1"}, ends_ns=time.time_ns() + 3600 * NS, created_by="ops",
                 comment="moving to PostgreSQL")
    silences.close()
    return Install(config, post, influx)


def export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out = tmp_path / "state.jsonl"
    assert main(["state", "export", "--out", str(out)]) == 0
    assert "writer: exported offsets 1, seen 1, kv " in capsys.readouterr().err
    return out


def tables(document: Path) -> dict[str, list[dict[str, object]]]:
    """Each table's rows in a document, as column -> value (the order of columns may differ
    between backends: SQLite appends what a migration adds)."""
    found: dict[str, list[dict[str, object]]] = {}
    columns: list[str] = []
    for line in document.read_text().splitlines()[1:]:
        item = json.loads(line)
        if isinstance(item, dict) and "table" in item:
            columns = item["columns"]
            found[item["table"]] = []
        elif isinstance(item, list):
            found[list(found)[-1]].append(dict(zip(columns, item, strict=True)))
    return found


def test_every_table_of_the_schema_is_carried() -> None:
    created = {name for m in MIGRATIONS for sql in m.sqlite
               for name in re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", sql)}
    # Who leads is decided anew; each writer lists its own quarantine files again.
    assert created - {t.name for t in TABLES} == {"leaders", "quarantine_index"}


def test_a_moved_install_loses_no_incident_silence_rule_state_or_notification(
        install: Install, env: pytest.MonkeyPatch, state_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    influx, post = install.influx, install.post
    sqlite_state = WriterState.open(install.config)
    offsets_before = sqlite_state.offsets()
    sqlite_state.close()
    document = export(tmp_path, capsys)
    header = json.loads(document.read_text().splitlines()[0])
    assert header["components"] == {c: latest(c) for c in ("writer", "evaluator", "silences")}
    assert header["format_version"] == 1 and header["exported_at"].endswith("Z")

    env.setenv("ZRMON_STATE_URL", state_url)
    assert main(["state", "import", str(document)]) == 0
    out = capsys.readouterr().out
    moved = install.config.with_(state_url=state_url)
    assert "writer: imported offsets 1, seen 1, kv " in out
    assert f"under replica {moved.replica_id()}" in out
    assert ("evaluator: imported outbox 1, state 2, influx_points 1, job_runs 0 "
            "into PostgreSQL") in out

    # The writer on PostgreSQL continues where the SQLite one stopped: same offsets, and the
    # clear pairs with the incident opened before the move.
    writer = Writer(moved, influx)
    try:
        assert writer.state.offsets() == offsets_before
        assert post(alert_event(CLEARED, T0_MS + 47 * 60_000)).status_code == 200
        assert drain(writer) == 1
        assert incidents(influx) == [[T0_MS, 47 * 60.0]]
        # The digests came over byte for byte: a redelivered trigger is still a duplicate.
        skipped = duplicates()
        assert post(alert_event(TRIGGERED, T0_MS)).status_code == 200
        assert drain(writer) == 1
        assert duplicates() == skipped + 1
        assert incidents(influx) == [[T0_MS, 47 * 60.0]]
    finally:
        writer.state.close()

    outbox = Outbox.open(moved.state_dir, state_url)
    try:
        assert [item.id for item in outbox.pending()] == [note("r1").id]
        stored = outbox.load_state()
        assert json.loads(stored["rules/air"])["rules"]["air/co2-high"]["r1"]["status"] == "firing"
        assert json.loads(stored["dispatcher"]) == Dispatcher(Policy()).to_json()
        assert [lines for _, lines in outbox.pending_points()] == [
            'rule_state,rule=air/co2-high status="firing" 1']
        # The outbox's sequence moved past the imported rows: a new notification gets the next.
        assert Journal(outbox, FAST).commit(Change(notifications=[note("r2")]))
        assert [item.id for item in outbox.pending()] == [note("r1").id, note("r2").id]
    finally:
        outbox.close()

    silences = SilenceStore(tmp_path / "another-host", state_url=state_url)
    try:
        [silence] = silences.active()
        assert (silence.matchers, silence.created_by) == ({"room_id": "room-1"}, "ops")
    finally:
        silences.close()


def test_sequences_continue_after_the_largest_imported_value(
        config: Config, env: pytest.MonkeyPatch, state_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    outbox = Outbox.open(config.state_dir)
    journal = Journal(outbox, FAST)
    for room in ("r1", "r2", "r3"):
        assert journal.commit(Change(notifications=[note(room)], points=f"p v=1 {room[1]}"
                                     .encode()))
    outbox.close()
    document = tmp_path / "state.jsonl"
    assert main(["state", "export", "--out", str(document)]) == 0
    capsys.readouterr()
    assert main(["state", "export"]) == 0                 # the same, on standard output
    assert capsys.readouterr().out.splitlines()[1:] == document.read_text().splitlines()[1:]
    env.setenv("ZRMON_STATE_URL", state_url)
    assert main(["state", "import", str(document)]) == 0
    outbox = Outbox.open(config.state_dir, state_url)
    try:
        assert Journal(outbox, FAST).commit(Change(notifications=[note("r4")],
                                                   points=b"p v=1 4"))
    finally:
        outbox.close()
    with psycopg.connect(state_url) as conn:
        assert [r[0] for r in conn.execute("SELECT seq FROM outbox ORDER BY seq")] == [1, 2, 3, 4]
        assert [r[0] for r in conn.execute("SELECT seq FROM influx_points ORDER BY seq")] == [
            1, 2, 3, 4]


def test_an_export_of_the_imported_state_carries_the_same_rows(
        install: Install, env: pytest.MonkeyPatch, state_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    first = export(tmp_path, capsys)
    env.setenv("ZRMON_STATE_URL", state_url)
    env.setenv("ZRMON_REPLICA", "receiver-1")
    assert main(["state", "import", str(first)]) == 0
    again = tmp_path / "again.jsonl"
    assert main(["state", "export", "--out", str(again)]) == 0
    assert "from PostgreSQL" in capsys.readouterr().err

    first_rows, again_rows = tables(first), tables(again)
    [offsets] = first_rows["offsets"]
    first_rows["offsets"] = [{**offsets, "replica": "receiver-1"}]
    assert again_rows == first_rows      # the seen digests among them, base64 both ways
    assert again_rows["seen"] and all(len(row["digest"]) > 8 for row in again_rows["seen"])


def test_a_target_that_holds_state_is_refused_unless_forced(
        install: Install, env: pytest.MonkeyPatch, state_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    document = export(tmp_path, capsys)
    env.setenv("ZRMON_STATE_URL", state_url)
    assert main(["state", "import", str(document)]) == 0
    capsys.readouterr()
    assert main(["state", "import", str(document)]) == 2
    err = capsys.readouterr().err
    assert "already holds state: writer (offsets 1, seen 1, kv " in err
    assert "--force" in err
    assert main(["state", "import", "--force", str(document)]) == 0
    with psycopg.connect(state_url) as conn:
        assert conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 1
        assert conn.execute("SELECT COUNT(*) FROM silences").fetchone()[0] == 1


def test_a_truncated_document_is_refused_before_anything_is_written(
        install: Install, env: pytest.MonkeyPatch, state_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    document = export(tmp_path, capsys)
    lines = document.read_text().splitlines(keepends=True)
    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(lines[:-3]))
    env.setenv("ZRMON_STATE_URL", state_url)
    assert main(["state", "import", str(cut)]) == 2
    assert "ends before its last line (truncated?)" in capsys.readouterr().err
    with psycopg.connect(state_url) as conn:      # not even the schema
        assert conn.execute("SELECT to_regclass('kv')").fetchone()[0] is None
    cut.write_text("".join(lines[:1]).replace(f'"writer":{latest("writer")}', '"writer":99'))
    assert main(["state", "import", str(cut)]) == 2
    assert "schema version 99, this zrmon is at" in capsys.readouterr().err


def test_import_needs_postgresql_and_a_readable_document(
        env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        state_url: str) -> None:
    assert main(["state", "import", str(tmp_path / "missing.jsonl")]) == 2
    assert "ZRMON_STATE_URL: not set" in capsys.readouterr().err
    env.setenv("ZRMON_STATE_URL", state_url)
    assert main(["state", "import", str(tmp_path / "missing.jsonl")]) == 2
    assert "missing.jsonl: No such file or directory" in capsys.readouterr().err
    (tmp_path / "other.json").write_text('{"silences": []}\n')
    assert main(["state", "import", str(tmp_path / "other.json")]) == 2
    assert "other.json:1: not a `zrmon state export` document" in capsys.readouterr().err


def test_exporting_a_data_directory_without_state_is_a_usage_error(
        env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["state", "export"]) == 2
    assert "no state to export (is ZRMON_DATA_DIR right?)" in capsys.readouterr().err


def test_export_to_a_directory_that_does_not_exist_is_a_usage_error(
        install: Install, env: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["state", "export", "--out", str(tmp_path / "no" / "state.jsonl")]) == 2
    assert "state.jsonl: No such file or directory" in capsys.readouterr().err
