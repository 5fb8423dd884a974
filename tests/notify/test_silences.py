"""Operator silences: matching, the JSON store shared between processes, the CLI helpers."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from monitor.core.atomicfile import StateFileError
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


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> SilenceStore:
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


def test_the_file_is_shared_and_reread_on_each_use(tmp_path: Path, clock: Clock) -> None:
    cli = SilenceStore(tmp_path, clock)
    evaluator = SilenceStore(tmp_path, clock)
    assert evaluator.active(T0) == []
    made = cli.add({"rule": "air/co2-high"}, ends_ns=T0 + MIN, comment="ü")
    assert evaluator.active(T0) == [made]
    data = json.loads((tmp_path / "state" / "silences.json").read_text())
    assert data["version"] == 1 and data["silences"][0]["matchers"] == {"rule": "air/co2-high"}
    assert not list((tmp_path / "state").glob(".silences.*"))      # no temp files left


def test_concurrent_adds_do_not_lose_any(tmp_path: Path, clock: Clock) -> None:
    stores = [SilenceStore(tmp_path, clock) for _ in range(4)]

    def add_many(store: SilenceStore) -> None:
        for n in range(10):
            store.add({"room_id": f"room-{n}"}, ends_ns=T0 + MIN)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(add_many, stores))
    assert len(stores[0].list()) == 40


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


def test_an_unreadable_file_is_an_error_not_an_empty_list(store: SilenceStore) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_text("{not json")
    with pytest.raises(StateFileError, match=r"silences\.json: is not valid"):
        store.active(T0)


def test_parse_matchers() -> None:
    assert parse_matchers(["rule=air/co2-high", "building=~H.*", "note=a=b"]) == {
        "rule": "air/co2-high", "building": "~H.*", "note": "a=b"}
    for bad, message in [([], "at least one"), (["room"], "not a matcher"),
                         (["=x"], "not a matcher"), (["a=1", "a=2"], "twice"),
                         (["a=~["], "regular expression")]:
        with pytest.raises(SilenceError, match=message):
            parse_matchers(bad)
