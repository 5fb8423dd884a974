"""Trigger/clear pairing, pure: the changes, replayed as the store would, are the assertion."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterable, Iterator, Sequence

import pytest

from monitor.ingest.incidents import (
    ALERT_CLEARED,
    ALERT_TRIGGERED,
    Incident,
    IncidentBook,
    IncidentChange,
    IncidentKey,
)

T, C = ALERT_TRIGGERED, ALERT_CLEARED
ROOM: IncidentKey = ("room-a", 50, 1)
OTHER: IncidentKey = ("room-b", 50, 1)
S = 1_000_000_000  # one second in ns
BASE = 1_800_000_000 * S

Event = tuple[IncidentKey, int, int]
Stored = dict[tuple[IncidentKey, int], Incident]


def replay(changes: Iterable[IncidentChange], stored: Stored | None = None) -> Stored:
    """What the store ends up holding: an upsert sets the point, a delete removes it."""
    out: Stored = {} if stored is None else stored
    for change in changes:
        if change.delete is not None:
            out.pop((change.delete.key, change.delete.start_ns), None)
        if change.upsert is not None:
            out[(change.upsert.key, change.upsert.start_ns)] = change.upsert
    return out


def run(events: Iterable[Event], book: IncidentBook | None = None) -> Stored:
    book = IncidentBook() if book is None else book
    stored: Stored = {}
    for key, kind, time_ns in events:
        replay(book.apply(key, kind, time_ns), stored)
    return stored


def closed(key: IncidentKey, start: int, end: int) -> Incident:
    return Incident(key, start, end)


def opened(key: IncidentKey, start: int) -> Incident:
    return Incident(key, start, None)


def as_stored(*incidents: Incident) -> Stored:
    return {(i.key, i.start_ns): i for i in incidents}


# --- the basics ---------------------------------------------------------------------------


def test_trigger_then_clear_is_one_incident() -> None:
    book = IncidentBook()
    first = book.apply(ROOM, T, BASE)
    assert first == [IncidentChange(upsert=opened(ROOM, BASE))]
    assert book.open_incidents() == [opened(ROOM, BASE)]
    second = book.apply(ROOM, C, BASE + 90 * S)
    assert second == [IncidentChange(upsert=closed(ROOM, BASE, BASE + 90 * S))]
    assert book.open_incidents() == []


def test_duration_is_exact() -> None:
    assert closed(ROOM, BASE, BASE + 1_500_000_000).duration_s == 1.5
    assert closed(ROOM, BASE, BASE + 1).duration_s == 1e-9
    assert closed(ROOM, BASE, BASE).duration_s == 0.0
    assert opened(ROOM, BASE).duration_s is None


def test_clear_before_trigger_waits_then_pairs() -> None:
    book = IncidentBook()
    assert book.apply(ROOM, C, BASE + 10 * S) == []
    assert book.open_incidents() == []
    changes = book.apply(ROOM, T, BASE)
    assert changes == [IncidentChange(upsert=closed(ROOM, BASE, BASE + 10 * S))]
    assert book.open_incidents() == []


def test_orphan_clear_older_than_trigger_does_not_pair() -> None:
    book = IncidentBook()
    assert book.apply(ROOM, C, BASE) == []
    assert book.apply(ROOM, T, BASE + S) == [IncidentChange(upsert=opened(ROOM, BASE + S))]


def test_orphan_pairs_with_smallest_clear_after_trigger() -> None:
    book = IncidentBook()
    assert book.apply(ROOM, C, BASE + 20 * S) == []
    assert book.apply(ROOM, C, BASE + 10 * S) == []
    changes = book.apply(ROOM, T, BASE)
    assert changes == [IncidentChange(upsert=closed(ROOM, BASE, BASE + 10 * S))]


def test_duplicate_trigger_changes_nothing() -> None:
    book = IncidentBook()
    book.apply(ROOM, T, BASE)
    assert book.apply(ROOM, T, BASE) == []
    assert book.apply(ROOM, T, BASE + 5 * S) == []  # a later repeat while open
    assert book.open_incidents() == [opened(ROOM, BASE)]


def test_duplicate_trigger_after_close_changes_nothing() -> None:
    book = IncidentBook()
    book.apply(ROOM, T, BASE)
    book.apply(ROOM, C, BASE + 10 * S)
    assert book.apply(ROOM, T, BASE) == []
    assert book.apply(ROOM, T, BASE + 4 * S) == []  # inside [s, e]
    assert book.apply(ROOM, T, BASE + 10 * S) == []  # at e: counts before the clear
    assert book.open_incidents() == []


def test_duplicate_clear_changes_nothing() -> None:
    book = IncidentBook()
    book.apply(ROOM, T, BASE)
    book.apply(ROOM, C, BASE + 10 * S)
    assert book.apply(ROOM, C, BASE + 10 * S) == []
    assert book.apply(ROOM, C, BASE + 10 * S) == []
    assert book.open_incidents() == []


def test_clear_at_open_start_closes_with_zero_duration() -> None:
    book = IncidentBook()
    book.apply(ROOM, T, BASE)
    assert book.apply(ROOM, C, BASE) == [IncidentChange(upsert=closed(ROOM, BASE, BASE))]


def test_late_earlier_trigger_moves_open_incident() -> None:
    book = IncidentBook()
    book.apply(ROOM, T, BASE + 10 * S)
    changes = book.apply(ROOM, T, BASE)
    assert changes == [
        IncidentChange(delete=opened(ROOM, BASE + 10 * S)),
        IncidentChange(upsert=opened(ROOM, BASE)),
    ]
    assert book.open_incidents() == [opened(ROOM, BASE)]
    assert book.apply(ROOM, C, BASE + 20 * S) == [
        IncidentChange(upsert=closed(ROOM, BASE, BASE + 20 * S))
    ]


def test_late_earlier_trigger_moves_closed_incident() -> None:
    """No clear between the two triggers: the closed incident really started earlier."""
    book = IncidentBook()
    book.apply(ROOM, T, BASE + 10 * S)
    book.apply(ROOM, C, BASE + 20 * S)
    assert book.apply(ROOM, T, BASE) == [
        IncidentChange(delete=closed(ROOM, BASE + 10 * S, BASE + 20 * S)),
        IncidentChange(upsert=closed(ROOM, BASE, BASE + 20 * S)),
    ]
    assert book.open_incidents() == []


def test_late_earlier_trigger_with_its_own_clear_is_a_separate_incident() -> None:
    book = IncidentBook()
    book.apply(ROOM, C, BASE + 5 * S)  # clear of the earlier incident, arrived first
    book.apply(ROOM, T, BASE + 10 * S)  # a later incident, still open
    assert book.apply(ROOM, T, BASE) == [IncidentChange(upsert=closed(ROOM, BASE, BASE + 5 * S))]
    assert book.open_incidents() == [opened(ROOM, BASE + 10 * S)]


def test_late_clear_inside_a_closed_incident_splits_it() -> None:
    """T0, T10 and C20 made [0, 20]; C5 shows T10 started a second incident."""
    book = IncidentBook()
    book.apply(ROOM, T, BASE)
    book.apply(ROOM, T, BASE + 10 * S)
    book.apply(ROOM, C, BASE + 20 * S)
    assert book.apply(ROOM, C, BASE + 5 * S) == [
        IncidentChange(upsert=closed(ROOM, BASE, BASE + 5 * S)),
        IncidentChange(upsert=closed(ROOM, BASE + 10 * S, BASE + 20 * S)),
    ]


def test_late_clear_inside_without_trigger_to_split_shortens() -> None:
    """T0 and C20, then C5: the condition ended at 5; 20 becomes an orphan clear."""
    book = IncidentBook()
    book.apply(ROOM, T, BASE)
    book.apply(ROOM, C, BASE + 20 * S)
    assert book.apply(ROOM, C, BASE + 5 * S) == [
        IncidentChange(upsert=closed(ROOM, BASE, BASE + 5 * S))
    ]
    assert book.apply(ROOM, T, BASE + 10 * S) == [
        IncidentChange(upsert=closed(ROOM, BASE + 10 * S, BASE + 20 * S))
    ]


def test_same_alert_via_two_deliveries() -> None:
    """alert + delayed_alert, or two subscriptions: the same (key, kind, alert_time)."""
    book = IncidentBook()
    deliveries = [(T, BASE), (T, BASE), (C, BASE + 60 * S), (T, BASE), (C, BASE + 60 * S)]
    changes = [book.apply(ROOM, kind, t) for kind, t in deliveries]
    assert changes == [
        [IncidentChange(upsert=opened(ROOM, BASE))],
        [],
        [IncidentChange(upsert=closed(ROOM, BASE, BASE + 60 * S))],
        [],
        [],
    ]


@pytest.mark.parametrize("kind", [3, 4, 0, 5, -1])
def test_observed_and_other_kinds_never_open(kind: int) -> None:
    book = IncidentBook()
    assert book.apply(ROOM, kind, BASE) == []
    assert book.open_incidents() == []
    assert book.apply(ROOM, C, BASE + S) == []  # nothing to close
    assert book.apply(ROOM, kind, BASE + 2 * S) == []
    assert book.open_incidents() == []


def test_keys_are_independent() -> None:
    same_room_other_component: IncidentKey = (ROOM[0], ROOM[1], 2)
    same_room_other_type: IncidentKey = (ROOM[0], 51, ROOM[2])
    book = IncidentBook()
    book.apply(ROOM, T, BASE)
    book.apply(OTHER, T, BASE + S)
    book.apply(same_room_other_component, T, BASE + 2 * S)
    book.apply(same_room_other_type, C, BASE + 3 * S)  # orphan: must not close ROOM
    assert book.apply(OTHER, C, BASE + 4 * S) == [
        IncidentChange(upsert=closed(OTHER, BASE + S, BASE + 4 * S))
    ]
    assert book.open_incidents() == [
        opened(ROOM, BASE),
        opened(same_room_other_component, BASE + 2 * S),
    ]


# --- order independence and idempotency ---------------------------------------------------


def alternating(key: IncidentKey, incidents: int, last_open: bool, offset: int = 0) -> list[Event]:
    """T, C, T, C ... strictly increasing times: one unambiguous pairing."""
    events: list[Event] = []
    for i in range(incidents):
        start = BASE + offset + 10 * i * S
        events.append((key, T, start))
        if not (last_open and i == incidents - 1):
            events.append((key, C, start + 3 * S))
    return events


def expected(events: Sequence[Event]) -> Stored:
    """The pairing read straight off an alternating, time-ordered sequence."""
    out: Stored = {}
    for key in {e[0] for e in events}:
        mine = sorted({(t, kind) for k, kind, t in events if k == key})
        triggers = [t for t, kind in mine if kind == T]
        clears = [t for t, kind in mine if kind == C]
        for i, start in enumerate(triggers):
            end = clears[i] if i < len(clears) else None
            out[(key, start)] = Incident(key, start, end)
    return out


def orders(events: Sequence[Event], cap: int = 720, seed: int = 7) -> Iterator[Sequence[Event]]:
    """Every permutation when there are few; a fixed random sample of ``cap`` otherwise."""
    if len(events) <= 6:
        yield from itertools.permutations(events)
        return
    rng = random.Random(seed)
    for _ in range(cap):
        shuffled = list(events)
        rng.shuffle(shuffled)
        yield shuffled


def check_all_orders(events: Sequence[Event]) -> None:
    in_order = run(sorted(events, key=lambda e: (e[2], e[1])))
    assert in_order == expected(events)
    for order in orders(events):
        book = IncidentBook()
        stored: Stored = {}
        seen: set[Event] = set()
        for event in order:
            changes = book.apply(*event)
            if event in seen:
                assert changes == [], f"repeat of {event} changed something in {order}"
            seen.add(event)
            replay(changes, stored)
        assert stored == in_order, f"order {order}"
        assert book.open_incidents() == sorted(
            (i for i in in_order.values() if i.end_ns is None), key=lambda i: i.key
        )
        for event in events:  # any event again, afterwards: still nothing
            assert book.apply(*event) == []


SHAPES = [(n, last_open) for n in (1, 2, 3) for last_open in (False, True)]


@pytest.mark.parametrize(("incidents", "last_open"), SHAPES)
def test_any_order_same_incidents(incidents: int, last_open: bool) -> None:
    check_all_orders(alternating(ROOM, incidents, last_open))


@pytest.mark.parametrize(("incidents", "last_open"), SHAPES)
def test_any_order_with_duplicates_same_incidents(incidents: int, last_open: bool) -> None:
    events = alternating(ROOM, incidents, last_open)
    rng = random.Random(incidents * 2 + last_open)
    dupes = [rng.choice(events) for _ in range(2)]
    check_all_orders(events + dupes)


def test_any_order_two_keys_interleaved() -> None:
    events = alternating(ROOM, 2, False) + alternating(OTHER, 2, True, offset=S)
    check_all_orders(events)


def test_any_order_with_observed_mixed_in() -> None:
    noise: list[Event] = [(ROOM, 3, BASE + S), (ROOM, 4, BASE + 2 * S)]
    events = alternating(ROOM, 2, True) + noise
    for order in orders(events):
        assert run(order) == expected(alternating(ROOM, 2, True))


def test_any_order_for_any_sequence_ends_where_sorted_replay_ends() -> None:
    """Even repeated triggers or clears with no partner: the result depends on the set only."""
    rng = random.Random(11)
    for _ in range(15):
        events: list[Event] = [
            (ROOM, rng.choice((T, C)), BASE + rng.randrange(6) * S) for _ in range(6)
        ]
        in_order = run(sorted(events, key=lambda e: (e[2], e[1])))
        for order in orders(events):
            assert run(order) == in_order, f"{events} in order {order}"


# --- bounds ----------------------------------------------------------------------------------


def test_closed_incidents_are_bounded_and_forgotten_ones_stay_quiet() -> None:
    book = IncidentBook(max_closed_per_key=4, max_orphans_per_key=4)
    events = alternating(ROOM, 10, False)
    stored = run(events, book)
    assert len(stored) == 10  # the store keeps them all
    state = book.to_json()["keys"][0]
    assert len(state["triggers"]) == 4
    assert len(state["clears"]) == 4
    assert state["horizon"] == BASE + 10 * 5 * S + 3 * S  # end of the 6th incident
    for event in events:  # very late copies of forgotten alerts must not reopen history
        assert book.apply(*event) == []
    assert book.open_incidents() == []


def test_orphan_clears_are_bounded_oldest_dropped() -> None:
    book = IncidentBook(max_closed_per_key=4, max_orphans_per_key=3)
    for i in range(10):
        assert book.apply(ROOM, C, BASE + i * S) == []
    state = book.to_json()["keys"][0]
    assert state["clears"] == [BASE + 7 * S, BASE + 8 * S, BASE + 9 * S]
    assert book.apply(ROOM, T, BASE + 6 * S + 1) == [
        IncidentChange(upsert=closed(ROOM, BASE + 6 * S + 1, BASE + 7 * S))
    ]


def test_repeated_triggers_are_bounded() -> None:
    book = IncidentBook(max_closed_per_key=4, max_orphans_per_key=3)
    for i in range(10):
        book.apply(ROOM, T, BASE + i * S)
    state = book.to_json()["keys"][0]
    assert state["triggers"] == [BASE, BASE + 7 * S, BASE + 8 * S, BASE + 9 * S]
    assert book.open_incidents() == [opened(ROOM, BASE)]


def test_negative_bounds_are_refused() -> None:
    with pytest.raises(ValueError):
        IncidentBook(max_closed_per_key=-1)


# --- persistence -----------------------------------------------------------------------------


def test_json_round_trip_carries_on_identically() -> None:
    awkward: IncidentKey = ("room|with|pipes ☃", 7, 0)
    book = IncidentBook(max_closed_per_key=3, max_orphans_per_key=2)
    first = alternating(ROOM, 5, True) + alternating(awkward, 2, False)
    first.append((OTHER, C, BASE))
    run(first, book)

    data = json.loads(json.dumps(book.to_json()))
    restored = IncidentBook.from_json(data)
    assert restored.to_json() == book.to_json()
    assert restored.open_incidents() == book.open_incidents()

    later: list[Event] = [
        (ROOM, C, BASE + 41 * S),
        (OTHER, T, BASE - S),
        (awkward, T, BASE),  # a duplicate
        (ROOM, T, BASE),  # forgotten behind the horizon
    ]
    for event in later:
        assert restored.apply(*event) == book.apply(*event)
    assert restored.to_json() == book.to_json()


def test_empty_book_round_trip() -> None:
    book = IncidentBook()
    assert (
        IncidentBook.from_json(json.loads(json.dumps(book.to_json()))).to_json() == book.to_json()
    )


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"version": 99, "keys": []},
        {"version": 1, "keys": {}},
        {"version": 1, "keys": [{"key": "room|1|2", "triggers": [], "clears": []}]},
        {"version": 1, "keys": [{"key": ["r", 1, 2], "triggers": [1.5], "clears": []}]},
        {"version": 1, "keys": [{"key": ["r", True, 2], "triggers": [], "clears": []}]},
    ],
)
def test_from_json_refuses_what_it_did_not_write(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        IncidentBook.from_json(data)
