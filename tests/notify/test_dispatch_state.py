"""The dispatcher's persisted state: a JSON round trip mid-group, restarts and replays
yield the same messages with the same ids (the outbox ignores repeats)."""

from __future__ import annotations

import json

from support.dispatching import POLICY, alert, resolved, run

from monitor.notify.dispatch import Dispatcher
from monitor.notify.policy import Policy


def roundtrip(dispatcher: Dispatcher, policy: Policy = POLICY) -> Dispatcher:
    return Dispatcher.from_json(json.loads(json.dumps(dispatcher.to_json())), policy)


def test_json_round_trip_in_the_middle_of_a_group() -> None:
    original = Dispatcher(POLICY)
    r1, r2 = alert("r1"), alert("r2")
    run(original, [r1], 0)
    run(original, [r1, r2], 0.25)
    restored = roundtrip(original)
    assert restored.to_json() == original.to_json()
    expected = run(original, [r1, r2], 0.5)
    assert [n.id for n in run(restored, [r1, r2], 0.5)] == [n.id for n in expected]
    # Pending resolves and what the channel was told survive too.
    run(original, [resolved(r1, 800.0), r2], 10)
    restored = roundtrip(original)
    assert restored.to_json() == original.to_json()
    (sent,) = run(restored, [r2], 10.5)
    assert sent.kind == "resolved" and sent.alerts[0].value == 800.0


def test_a_restart_does_not_re_emit() -> None:
    dispatcher = Dispatcher(POLICY)
    r1 = alert("r1")
    run(dispatcher, [r1], 0)
    assert len(run(dispatcher, [r1], 0.5)) == 1
    restarted = roundtrip(dispatcher)
    for minute in (0.5, 1, 2, 60):
        assert run(restarted, [r1], minute) == []


def test_replaying_from_an_older_snapshot_yields_the_same_ids() -> None:
    """A crash after enqueueing but before saving the state: the outbox ignores the replay."""
    dispatcher = Dispatcher(POLICY)
    r1, r2 = alert("r1"), alert("r2")
    run(dispatcher, [r1, r2], 0)
    before_first = dispatcher.to_json()
    first = run(dispatcher, [r1, r2], 0.5)
    before_repeat = dispatcher.to_json()
    repeat = run(dispatcher, [r1, r2], 240.5)
    assert len(first) == len(repeat) == 1
    replayed_first = run(Dispatcher.from_json(before_first, POLICY), [r1, r2], 1)
    replayed_repeat = run(Dispatcher.from_json(before_repeat, POLICY), [r1, r2], 241)
    assert [n.id for n in replayed_first] == [n.id for n in first]
    assert [n.id for n in replayed_repeat] == [n.id for n in repeat]
    assert first[0].id != repeat[0].id
