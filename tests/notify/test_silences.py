"""Operator silences: matching, the store shared between processes and hosts (a SQLite file,
or PostgreSQL), the import of an older version's silences.json, the CLI helpers."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from monitor.core.atomicfile import StateFileError, last_good_path
from monitor.notify.silences import Silence, SilenceError, SilenceStore, parse_matchers
from monitor.rules.model import Alert

NS = 1_000_000_000
MIN = 60 * NS
T0 = 1_799_830_800 * NS            # Wednesday 2027-01-13 10:00 in Berlin


def alert(room_id: str = "room-1", rule_id: str = "air/co2-high", building: str = "HQ",
          level: str = "warning") -> Alert:
    return Alert(rule_id=rule_id, room_id=room_id, status="firing", level=level, value=1200.0,
                 threshold="above 1000", starts_at_ns=T0, at_ns=T0,
                 labels={"building": building, "room_name": room_id.title()},
                 notify=("chat",))


def silence(**matchers: str) -> Silence:
    return Silence("s1", matchers, T0, T0 + 60 * MIN, "ops", "maintenance")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


Open = Callable[..., SilenceStore]     # (data_dir=tmp_path, clock=the clock) → a store


@pytest.fixture(params=["sqlite", "postgresql"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path,
               clock: Clock) -> Iterator[Open]:
    """Stores on one backend: each call is another process (or, on PostgreSQL, host)."""
    url = "" if request.param == "sqlite" else request.getfixturevalue("state_url")
    opened: list[SilenceStore] = []

    def _open(data_dir: Path = tmp_path, store_clock: Callable[[], int] = clock) -> SilenceStore:
        opened.append(SilenceStore(data_dir, store_clock, state_url=url))
        return opened[-1]

    yield _open
    for each in opened:
        each.close()


@pytest.fixture
def store(open_store: Open) -> SilenceStore:
    return open_store()


@pytest.fixture
def sqlite_store(tmp_path: Path, clock: Clock) -> SilenceStore:
    return SilenceStore(tmp_path, clock)


def test_matchers_by_rule_room_and_label_regex() -> None:
    assert silence(rule="air/co2-high").matches(alert())
    assert not silence(rule="air/co2-high").matches(alert(rule_id="air/temp-high"))
    assert silence(room_id="room-2").matches(alert("room-2"))
    assert not silence(room_id="room-2").matches(alert("room-1"))
    assert silence(building="~H.*").matches(alert(building="HQ"))
    assert not silence(building="~H.*").matches(alert(building="Annex"))
    assert not silence(building="~H").matches(alert(building="HQ"))     # full match only
    assert silence(rule="~air/.*", level="warning").matches(alert())
    assert not silence(rule="~air/.*", level="critical").matches(alert())


def test_a_silence_is_active_from_its_start_until_its_end() -> None:
    s = silence(room_id="room-1")
    assert not s.active(T0 - 1)
    assert s.active(T0)
    assert s.active(T0 + 59 * MIN)
    assert not s.active(T0 + 60 * MIN)
    assert s.expired(T0 + 60 * MIN)


def test_add_list_and_active(store: SilenceStore, clock: Clock) -> None:
    now = store.add({"room_id": "room-1"}, ends_ns=T0 + 120 * MIN, created_by="ana",
                    comment="HVAC work")
    later = store.add({"building": "Annex"}, starts_ns=T0 + 60 * MIN, ends_ns=T0 + 90 * MIN)
    assert now.starts_ns == T0 and now.created_by == "ana" and now.comment == "HVAC work"
    assert [s.id for s in store.list()] == [now.id, later.id]
    assert store.active(T0) == [now]
    assert {s.id for s in store.active(T0 + 70 * MIN)} == {now.id, later.id}
    clock.now = T0 + 100 * MIN
    assert store.list() == [now]                      # later has ended
    assert store.list(include_expired=True) == [now, later]


def test_expire_ends_a_silence_now_and_keeps_it_for_the_record(store: SilenceStore,
                                                               clock: Clock) -> None:
    made = store.add({"room_id": "room-1"}, ends_ns=T0 + 120 * MIN)
    clock.now = T0 + 10 * MIN
    ended = store.expire(made.id[:4])                 # a unique prefix will do
    assert ended.ends_ns == T0 + 10 * MIN
    assert store.active(clock.now) == [] and store.list() == []
    assert store.list(include_expired=True) == [ended]
    assert store.get(made.id) == ended
    with pytest.raises(SilenceError, match="no silence"):
        store.expire("nope")


def test_the_store_is_shared_and_reread_on_each_use(open_store: Open) -> None:
    cli = open_store()
    evaluator = open_store()
    assert evaluator.active(T0) == []
    made = cli.add({"rule": "air/co2-high"}, ends_ns=T0 + MIN, comment="ü")
    assert evaluator.active(T0) == [made]
    assert evaluator.get(made.id).matchers == {"rule": "air/co2-high"}
    cli.expire(made.id)
    assert evaluator.active(T0) == []


def test_concurrent_adds_do_not_lose_any(open_store: Open) -> None:
    stores = [open_store() for _ in range(4)]

    def add_many(store: SilenceStore) -> None:
        for n in range(10):
            store.add({"room_id": f"room-{n}"}, ends_ns=T0 + MIN)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(add_many, stores))
    assert len(stores[0].list()) == 40


def test_a_silence_added_on_one_host_mutes_on_another_from_its_next_read(
        state_url: str, tmp_path: Path, clock: Clock) -> None:
    cli = SilenceStore(tmp_path / "host-a", clock, state_url=state_url)
    evaluator = SilenceStore(tmp_path / "host-b", clock, state_url=state_url)
    try:
        assert evaluator.active(T0) == []
        made = cli.add({"room_id": "room-1"}, ends_ns=T0 + 60 * MIN, created_by="ana")
        [seen] = evaluator.active(T0)
        assert seen == made and seen.matches(alert())
        evaluator.expire(made.id[:4], T0 + MIN)           # and back the other way
        assert cli.active(T0 + MIN) == [] and cli.get(made.id).ends_ns == T0 + MIN
        assert not (tmp_path / "host-a" / "state" / "silences.sqlite").exists()
    finally:
        cli.close()
        evaluator.close()


def test_concurrent_adds_on_two_hosts_both_land(state_url: str, tmp_path: Path,
                                                clock: Clock) -> None:
    hosts = [SilenceStore(tmp_path / name, clock, state_url=state_url) for name in "ab"]
    start = threading.Barrier(2)

    def add(store: SilenceStore) -> Silence:
        start.wait()
        return store.add({"room_id": "room-1"}, ends_ns=T0 + MIN)

    try:
        with ThreadPoolExecutor(2) as pool:
            made = list(pool.map(add, hosts))
        assert made[0].id != made[1].id
        assert {s.id for s in hosts[0].list()} == {s.id for s in hosts[1].list()} == {
            s.id for s in made}
    finally:
        for host in hosts:
            host.close()


def test_long_expired_silences_are_dropped_on_the_next_write(store: SilenceStore,
                                                             clock: Clock) -> None:
    old = store.add({"room_id": "room-1"}, ends_ns=T0 + MIN)
    clock.now = T0 + 8 * 24 * 60 * MIN
    store.add({"room_id": "room-2"}, ends_ns=clock.now + MIN)
    assert old.id not in {s.id for s in store.list(include_expired=True)}


def test_add_refuses_nonsense(store: SilenceStore) -> None:
    with pytest.raises(SilenceError, match="at least one matcher"):
        store.add({}, ends_ns=T0 + MIN)
    with pytest.raises(SilenceError, match="end after"):
        store.add({"room_id": "r"}, ends_ns=T0)
    with pytest.raises(SilenceError, match="regular expression"):
        store.add({"room_id": "~("}, ends_ns=T0 + MIN)
    assert store.list(include_expired=True) == []


def legacy_file(data_dir: Path, *silences: Silence) -> Path:
    """A ``silences.json`` as an older version left it."""
    path = data_dir / "state" / "silences.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": 1, "silences": [s.to_json() for s in silences]}))
    return path


def test_an_older_versions_silences_json_is_imported_once(open_store: Open, tmp_path: Path,
                                                          clock: Clock) -> None:
    kept = Silence("0a1b2c3d", {"room_id": "room-1"}, T0, T0 + 60 * MIN, "ana", "HVAC")
    ended = Silence("4e5f6a7b", {"building": "~H.*"}, T0 - 60 * MIN, T0 - MIN, "bo", "")
    path = legacy_file(tmp_path, kept, ended)
    store = open_store()
    assert store.active(T0) == [kept]
    assert store.list(include_expired=True) == [ended, kept]
    assert not path.exists() and path.with_name("silences.json.migrated").exists()
    store.expire(kept.id)
    legacy_file(tmp_path, kept)          # imported again (a second copy): nothing overwritten
    assert open_store().list(include_expired=True) == [ended, store.get(kept.id)]
    assert store.get(kept.id).ends_ns == T0


def test_an_unreadable_silences_json_is_an_error_not_an_empty_list(store: SilenceStore,
                                                                   tmp_path: Path) -> None:
    path = legacy_file(tmp_path)
    path.write_text("{not json")
    with pytest.raises(StateFileError, match=r"silences\.json: is not valid"):
        store.active(T0)
    assert path.exists()                 # not imported, not renamed: there to be restored


@pytest.mark.parametrize("damage", [b"", b"{not a database", b"\x00" * 64])
def test_a_damaged_database_is_an_error_not_an_empty_list(sqlite_store: SilenceStore,
                                                          damage: bytes) -> None:
    sqlite_store.add({"room_id": "room-1"}, ends_ns=T0 + MIN)
    assert last_good_path(sqlite_store.path).exists()      # each change leaves a good copy
    sqlite_store.path.write_bytes(damage)
    with pytest.raises(StateFileError, match=r"silences\.sqlite: (is empty|is not a usable)"):
        sqlite_store.active(T0)
    with pytest.raises(StateFileError, match=r"silences\.sqlite"):
        sqlite_store.add({"room_id": "room-2"}, ends_ns=T0 + MIN)


def test_parse_matchers() -> None:
    assert parse_matchers(["rule=air/co2-high", "building=~H.*", "note=a=b"]) == {
        "rule": "air/co2-high", "building": "~H.*", "note": "a=b"}
    for bad, message in [([], "at least one"), (["room"], "not a matcher"),
                         (["=x"], "not a matcher"), (["a=1", "a=2"], "twice"),
                         (["a=~["], "regular expression")]:
        with pytest.raises(SilenceError, match=message):
            parse_matchers(bad)
