"""The alert state machine, one room at a time, with injected times.

The rooms are stepped with :mod:`support.roomsteps`: each test is a table of
``(minute, value or None, expected status)`` rows, the story of one room.
"""

from __future__ import annotations

import random
from dataclasses import replace

from support.roomsteps import ROOM, WARN_CRIT, Row, alert, at, changes, label, rule, scenario

from monitor.rules.model import NoData, Threshold
from monitor.rules.roomstate import RoomState
from monitor.rules.statemachine import step

# --- for ------------------------------------------------------------------------------


def test_for_waits_until_the_condition_held_long_enough() -> None:
    steps = scenario(rule(for_s=300), [
        (0, 1200, "pending:warning"),
        (4, 1200, "pending:warning"),
        (5, 1200, "firing:warning"),       # pending_since + for_s <= now
        (6, 1200, "firing:warning"),
    ])
    assert changes(steps) == [("inactive", "pending", "warning"), ("pending", "firing", "warning")]
    assert steps[2].state.firing_since_ns == at(5)


def test_for_zero_fires_on_the_first_evaluation_with_one_transition() -> None:
    steps = scenario(rule(), [(0, 1200, "firing:warning")])
    assert changes(steps) == [("inactive", "firing", "warning")]


def test_pending_that_stops_goes_back_to_inactive_without_a_notification() -> None:
    r = rule(for_s=300)
    steps = scenario(r, [
        (0, 1200, "pending:warning"),
        (3, 950, "inactive"),              # no hysteresis while only pending
        (4, 1200, "pending:warning"),      # the clock starts again
        (8, 1200, "pending:warning"),
        (9, 1200, "firing:warning"),
    ])
    assert changes(steps)[1] == ("pending", "inactive", "warning")
    assert alert(r, steps[0].state, steps[1], 3) is None


def test_pending_keeps_its_start_when_the_level_rises() -> None:
    steps = scenario(rule(for_s=300), [
        (0, 1200, "pending:warning"),
        (3, 2500, "pending:critical"),     # the condition held all along: same clock
        (5, 2500, "firing:critical"),
    ])
    assert changes(steps) == [("inactive", "pending", "warning"),
                              ("pending", "pending", "critical"),
                              ("pending", "firing", "critical")]


def test_pending_never_fires_at_a_level_the_value_no_longer_breaches() -> None:
    scenario(rule(for_s=300), [
        (0, 2500, "pending:critical"),
        (3, 1200, "pending:warning"),
        (5, 1200, "firing:warning"),
    ])


# --- hysteresis and keep_firing_for ----------------------------------------------------


def test_hysteresis_holds_a_value_oscillating_between_resolve_and_fire_bounds() -> None:
    rows: list[Row] = [(0, 1010, "firing:warning")]
    rows += [(m, 950 if m % 2 else 1010, "firing:warning") for m in range(1, 20)]
    rows += [(20, 899, "inactive")]
    steps = scenario(rule(), rows)
    assert changes(steps) == [("inactive", "firing", "warning"), ("firing", "inactive", "warning")]


def test_without_a_resolve_bound_the_same_value_flaps() -> None:
    """Why resolve bounds exist: the same oscillation, one transition per evaluation."""
    bare = {"warning": Threshold("above", 1000.0)}
    steps = scenario(rule(levels=bare), [
        (0, 1010, "firing:warning"), (1, 950, "inactive"), (2, 1010, "firing:warning"),
    ])
    assert len(changes(steps)) == 3


def test_keep_firing_for_rides_out_short_dips() -> None:
    bare = {"warning": Threshold("above", 1000.0)}
    steps = scenario(rule(levels=bare, keep_firing_for_s=600), [
        (0, 1010, "firing:warning"),
        (1, 950, "firing:warning"),
        (5, 950, "firing:warning"),
        (6, 1010, "firing:warning"),       # breached again: the pending resolve is cancelled
        (7, 950, "firing:warning"),        # recovered_since starts again here
        (16, 940, "firing:warning"),
        (17, 930, "inactive"),             # recovered continuously for 10 minutes
    ])
    assert changes(steps) == [("inactive", "firing", "warning"), ("firing", "inactive", "warning")]
    assert steps[3].state.recovered_since_ns is None
    assert steps[-1].transitions[0].value == 930


# --- escalation ------------------------------------------------------------------------


def test_escalation_must_itself_hold_for_for_s() -> None:
    steps = scenario(rule(for_s=300), [
        (0, 1200, "pending:warning"),
        (5, 1200, "firing:warning"),
        (6, 2500, "firing:warning"),       # critical pending, silently
        (8, 1500, "firing:warning"),       # a blip: the critical clock is dropped
        (9, 2500, "firing:warning"),
        (13, 2500, "firing:warning"),
        (14, 2500, "firing:critical"),
    ])
    assert steps[2].state.pending_level == "critical"
    assert steps[2].state.pending_since_ns == at(6)
    assert steps[3].state.pending_level is None
    assert changes(steps)[-1] == ("firing", "firing", "critical")
    assert steps[-1].state.firing_since_ns == at(5)    # still the same alert


def test_escalation_with_for_zero_is_immediate() -> None:
    scenario(rule(), [(0, 1200, "firing:warning"), (1, 2500, "firing:critical")])


def test_de_escalation_is_immediate_but_respects_the_upper_level_hysteresis() -> None:
    steps = scenario(rule(for_s=300), [
        (0, 2500, "pending:critical"),
        (5, 2500, "firing:critical"),
        (6, 1900, "firing:critical"),      # below 2000 but not below the 1800 resolve bound
        (7, 1500, "firing:warning"),       # critical recovered, warning breached: at once
        (8, 950, "firing:warning"),        # warning's own hysteresis
        (9, 850, "inactive"),
    ])
    assert changes(steps)[2:] == [("firing", "firing", "warning"),
                                  ("firing", "inactive", "warning")]


def test_firing_level_drop_with_nothing_breached_resolves() -> None:
    """Critical recovered and warning not breached: the rule resolves, it does not step down."""
    scenario(rule(), [(0, 2500, "firing:critical"), (1, 950, "inactive")])


def test_the_resolving_state_describes_the_ended_alert_for_one_step_only() -> None:
    steps = scenario(rule(), [(0, 1300, "firing:warning"), (1, 850, "inactive"),
                              (2, 850, "inactive")])
    assert (steps[1].state.level, steps[1].state.firing_since_ns) == ("warning", at(0))
    assert steps[2].state == RoomState(last_value=850.0, last_seen_ns=at(2))
    assert steps[2].transitions == []


# --- no data ---------------------------------------------------------------------------


def test_silence_without_a_no_data_policy_never_resolves() -> None:
    r = rule(for_s=0)
    rows: list[Row] = [(0, 1300, "firing:warning")]
    rows += [(m, None, "firing:warning") for m in range(1, 240)]
    steps = scenario(r, rows)
    assert changes(steps) == [("inactive", "firing", "warning")]
    assert steps[-1].state.last_value == 1300.0
    assert steps[-1].state.silent_since_ns == at(1)
    still = alert(r, steps[-2].state, steps[-1], 239)
    assert still is not None
    assert (still.status, still.value) == ("firing", None)   # no stale value passed as current


def test_silence_freezes_timers_it_can_neither_confirm_nor_deny() -> None:
    scenario(rule(for_s=300), [
        (0, 1300, "pending:warning"),
        (3, None, "pending:warning"),
        (9, None, "pending:warning"),      # no evidence, so no firing
        (10, 1300, "firing:warning"),      # the condition held whenever we could see it
    ])
    scenario(rule(keep_firing_for_s=300), [
        (0, 1300, "firing:warning"),
        (1, 850, "firing:warning"),
        (9, None, "firing:warning"),       # nor a resolve
        (10, 850, "inactive"),
    ])


def test_no_data_state_after_the_silence_lasts_after_s() -> None:
    r = rule(no_data=NoData(after_s=600))
    steps = scenario(r, [
        (0, 2500, "firing:critical"),
        (1, None, "firing:critical"),
        (10, None, "firing:critical"),
        (11, None, "no_data:critical"),    # silent since minute 1, for 10 minutes
        (12, None, "no_data:critical"),
    ])
    assert changes(steps) == [("inactive", "firing", "critical"),
                              ("firing", "no_data", "critical")]
    assert steps[3].transitions[0].value == 2500.0          # the last real value
    silent = alert(r, steps[2].state, steps[3], 11)
    assert silent is not None
    assert (silent.status, silent.level, silent.value) == ("no_data", "critical", None)
    assert (silent.starts_at_ns, silent.threshold) == (at(1), "no data for 600s")
    assert steps[4].state.last_value == 2500.0


def test_an_inactive_room_that_goes_silent_alerts_at_the_least_severe_level() -> None:
    r = rule(no_data=NoData(after_s=300))
    steps = scenario(r, [(0, 500, "inactive"), (1, None, "inactive"), (6, None, "no_data")])
    assert changes(steps) == [("inactive", "no_data", None)]
    silent = alert(r, steps[1].state, steps[2], 6)
    assert silent is not None and silent.level == "warning"


def test_no_data_keep_holds_the_status_however_long_the_silence() -> None:
    r = rule(no_data=NoData(after_s=60, state="keep"))
    rows: list[Row] = [(0, 1300, "firing:warning")]
    rows += [(m, None, "firing:warning") for m in range(1, 120)]
    assert changes(scenario(r, rows)) == [("inactive", "firing", "warning")]


def test_no_data_ok_treats_the_silence_as_recovered() -> None:
    r = rule(no_data=NoData(after_s=300, state="ok"))
    steps = scenario(r, [
        (0, 1300, "firing:warning"),
        (1, None, "firing:warning"),
        (5, None, "firing:warning"),
        (6, None, "inactive"),
    ])
    resolved = alert(r, steps[2].state, steps[3], 6)
    assert resolved is not None
    assert (resolved.status, resolved.value, resolved.level) == ("resolved", 1300.0, "warning")
    assert resolved.starts_at_ns == at(0)
    scenario(rule(for_s=600, no_data=NoData(after_s=300, state="ok")), [
        (0, 1300, "pending:warning"), (1, None, "pending:warning"), (6, None, "inactive"),
    ])


def test_no_data_ok_still_honours_keep_firing_for() -> None:
    scenario(rule(keep_firing_for_s=300, no_data=NoData(after_s=300, state="ok")), [
        (0, 1300, "firing:warning"),
        (1, None, "firing:warning"),
        (6, None, "firing:warning"),       # treated as recovered from here
        (11, None, "inactive"),
    ])


def test_data_returning_ends_no_data_and_is_evaluated_from_inactive() -> None:
    r = rule(no_data=NoData(after_s=300))
    silent: list[Row] = [(0, 1300, "firing:warning"), (1, None, "firing:warning"),
                         (6, None, "no_data:warning")]
    steps = scenario(r, [*silent, (7, 500, "inactive")])
    assert changes(steps)[-1] == ("no_data", "inactive", "warning")
    ended = alert(r, steps[2].state, steps[3], 7)
    assert ended is not None
    assert (ended.status, ended.value, ended.starts_at_ns) == ("resolved", 500.0, at(1))
    assert ended.threshold == "no data for 300s"
    assert steps[3].state.silent_since_ns == at(1)          # for this step's message only
    assert step(r, ROOM, steps[3].state, None, at(8)).state.silent_since_ns == at(8)

    steps = scenario(r, [*silent, (7, 2500, "firing:critical")])
    assert changes(steps)[-1] == ("no_data", "firing", "critical")
    assert steps[-1].state.firing_since_ns == at(7)


def test_data_returning_into_pending_also_ends_the_no_data_alert() -> None:
    r = rule(for_s=300, no_data=NoData(after_s=300))
    steps = scenario(r, [(0, 500, "inactive"), (1, None, "inactive"), (6, None, "no_data"),
                         (7, 1300, "pending:warning"), (12, 1300, "firing:warning")])
    ended = alert(r, steps[2].state, steps[3], 7)
    assert ended is not None and ended.status == "resolved"
    assert steps[3].state.pending_since_ns == at(7)


def test_a_nan_is_no_sample_not_a_recovery() -> None:
    scenario(rule(), [(0, 1300, "firing:warning"), (1, float("nan"), "firing:warning")])


# --- bands -----------------------------------------------------------------------------


def test_outside_band_with_a_narrower_resolve_band() -> None:
    temperature = {"warning": Threshold("outside", low=18.0, high=26.0,
                                        resolve_low=19.0, resolve_high=25.0)}
    scenario(rule(levels=temperature), [
        (0, 22, "inactive"),
        (1, 27, "firing:warning"),
        (2, 25.5, "firing:warning"),       # inside the band, not yet inside the resolve band
        (3, 24, "inactive"),
        (4, 17, "firing:warning"),
        (5, 18.5, "firing:warning"),
        (6, 19, "inactive"),
    ])


def test_inside_band_with_a_wider_resolve_band() -> None:
    humidity = {"info": Threshold("inside", low=40.0, high=60.0,
                                  resolve_low=35.0, resolve_high=65.0)}
    steps = scenario(rule(levels=humidity), [
        (0, 30, "inactive"),
        (1, 50, "firing:info"),
        (2, 62, "firing:info"),            # out of the band, still inside the resolve band
        (3, 66, "inactive"),
    ])
    assert changes(steps)[-1] == ("firing", "inactive", "info")


# --- invariants ------------------------------------------------------------------------


def test_every_status_or_level_change_is_exactly_one_transition() -> None:
    picks = random.Random(7)
    r = rule(for_s=120, keep_firing_for_s=120, no_data=NoData(after_s=180))
    state = RoomState()
    seen = 0
    for minute in range(2000):
        value = picks.choice([None, 500.0, 950.0, 1200.0, 1900.0, 2500.0])
        done = step(r, ROOM, state, value, at(minute))
        moved = (state.status, label(state)) != (done.state.status, label(done.state))
        if state.status == done.state.status == "inactive":
            moved = False
        assert len(done.transitions) == (1 if moved else 0)
        for transition in done.transitions:
            assert (transition.previous, transition.current) == (state.status,
                                                                  done.state.status)
        seen += len(done.transitions)
        state = done.state
    assert seen > 100


def test_step_does_not_modify_the_state_it_is_given() -> None:
    state = RoomState(status="firing", level="warning", firing_since_ns=at(0),
                      last_value=1300.0, last_seen_ns=at(0))
    snapshot = replace(state)
    step(rule(), ROOM, state, 500.0, at(1))
    assert state == snapshot


def test_a_level_removed_from_the_rule_steps_down_or_resolves() -> None:
    firing = RoomState(status="firing", level="critical", firing_since_ns=at(0),
                       last_value=2500.0, last_seen_ns=at(0))
    only_warning = {"warning": WARN_CRIT["warning"]}
    scenario(rule(levels=only_warning), [(1, 2500, "firing:warning")], firing)
    scenario(rule(levels=only_warning), [(1, 500, "inactive")], firing)
