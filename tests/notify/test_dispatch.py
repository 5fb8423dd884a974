"""The dispatcher, on an injected clock (minutes after a Wednesday 10:00 in Berlin, see
support.dispatching): grouping, throttling, repeats, silences, inhibition, mute windows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from support.dispatching import CO2, NS, OFFLINE, POLICY, alert, at, resolved, run

from monitor.notify.dispatch import Dispatcher
from monitor.notify.message import Notification
from monitor.notify.policy_load import parse_policy
from monitor.notify.silences import Silence
from monitor.rules.model import Alert

BERLIN = ZoneInfo("Europe/Berlin")
HQ_CO2 = "air/co2-high{building=HQ}"


def summary(sent: list[Notification]) -> list[tuple[str, str, str, tuple[str, ...]]]:
    return [(n.channel, n.group_key, n.kind, tuple(a.room_id for a in n.alerts)) for n in sent]


def silence(start: float, end: float, **matchers: str) -> Silence:
    return Silence("s", matchers, at(start), at(end), "ops", "test")


# ---------------------------------------------------------------------------
# Grouping and timing


def test_group_wait_batches_rooms_of_the_same_building() -> None:
    dispatcher = Dispatcher(POLICY)
    r1, r2 = alert("r1"), alert("r2")
    assert run(dispatcher, [r1], 0) == []
    assert run(dispatcher, [r1, r2], 0.25) == []
    sent = run(dispatcher, [r1, r2], 0.5)
    assert summary(sent) == [("chat", HQ_CO2, "firing", ("r1", "r2"))]
    assert sent[0].group_labels == {"building": "HQ"} and sent[0].repeat == 0
    assert run(dispatcher, [r1, r2], 1) == []


def test_group_by_building_splits_buildings() -> None:
    dispatcher = Dispatcher(POLICY)
    alerts = [alert("r1"), alert("r3", building="Annex"), alert("r2")]
    run(dispatcher, alerts, 0)
    assert summary(run(dispatcher, alerts, 0.5)) == [
        ("chat", "air/co2-high{building=Annex}", "firing", ("r3",)),
        ("chat", HQ_CO2, "firing", ("r1", "r2")),
    ]


def test_group_interval_throttles_changes() -> None:
    dispatcher = Dispatcher(POLICY)
    r1, r2, r3 = alert("r1"), alert("r2"), alert("r3")
    run(dispatcher, [r1], 0)
    assert summary(run(dispatcher, [r1], 1)) == [("chat", HQ_CO2, "firing", ("r1",))]
    for minute in (2, 3, 4, 5, 5.9):            # r2 is new, but the last message was at 1
        assert run(dispatcher, [r1, r2], minute) == []
    sent = run(dispatcher, [r1, r2], 6)
    assert summary(sent) == [("chat", HQ_CO2, "firing", ("r1", "r2"))]
    assert sent[0].repeat == 1
    # After a quiet spell a change still waits group_wait, to collect its neighbours.
    assert run(dispatcher, [r1, r2, r3], 30) == []
    assert summary(run(dispatcher, [r1, r2, r3], 30.5)) == [
        ("chat", HQ_CO2, "firing", ("r1", "r2", "r3"))]


def test_an_unchanged_group_repeats_with_back_off() -> None:
    dispatcher = Dispatcher(POLICY)
    r1 = alert("r1")
    run(dispatcher, [r1], 0)
    assert len(run(dispatcher, [r1], 0.5)) == 1
    sends: list[tuple[float, int]] = []
    minute = 0.5
    while minute < 4 * 24 * 60:
        minute += 30
        sends += [(minute, n.repeat) for n in run(dispatcher, [r1], minute)]
    hours = [(m - 0.5) / 60 for m, _ in sends]
    assert hours == [4, 12, 28, 52, 76]              # gaps of 4h, 8h, 16h, 24h, 24h
    assert [repeat for _, repeat in sends] == [1, 2, 3, 4, 5]


def test_every_message_of_a_group_has_its_own_id() -> None:
    dispatcher = Dispatcher(POLICY)
    ids = []
    for minute, level in [(0, "warning"), (10, "critical"), (20, "warning")]:
        run(dispatcher, [alert("r1", level=level)], minute)
        sent = run(dispatcher, [alert("r1", level=level)], minute + 0.5)
        assert [(n.kind, n.alerts[0].level) for n in sent] == [("firing", level)]
        ids.append(sent[0].id)
    assert len(set(ids)) == 3    # back to "warning" is news, not a duplicate for the outbox


def test_resolved_message_carries_the_value_at_resolve_time() -> None:
    dispatcher = Dispatcher(POLICY)
    r1, r2 = alert("r1", value=1250.0), alert("r2", value=1300.0)
    run(dispatcher, [r1, r2], 0)
    run(dispatcher, [r1, r2], 0.5)
    assert run(dispatcher, [resolved(r1, 820.0), r2], 10) == []     # waits group_wait
    sent = run(dispatcher, [r2], 10.5)
    assert summary(sent) == [("chat", HQ_CO2, "resolved", ("r1",))]  # r2 unchanged: not resent
    assert sent[0].alerts[0].value == 820.0
    run(dispatcher, [resolved(r2, 900.0)], 20)
    sent = run(dispatcher, [], 20.5)
    assert summary(sent) == [("chat", HQ_CO2, "resolved", ("r2",))]
    assert sent[0].alerts[0].value == 900.0
    assert dispatcher.groups == {}                                    # forgotten
    assert run(dispatcher, [], 30) == []


def test_a_blip_inside_group_wait_is_never_sent() -> None:
    dispatcher = Dispatcher(POLICY)
    r1 = alert("r1")
    run(dispatcher, [r1], 0)
    assert run(dispatcher, [resolved(r1, 800.0)], 0.25) == []
    assert run(dispatcher, [], 0.5) == []
    assert dispatcher.groups == {}


def test_going_silent_sends_only_the_no_data_part() -> None:
    dispatcher = Dispatcher(POLICY)
    r1, r2 = alert("r1"), alert("r2")
    run(dispatcher, [r1, r2], 0)
    run(dispatcher, [r1, r2], 0.5)
    silent = alert("r2", status="no_data", value=None, started=10)
    run(dispatcher, [r1, silent], 10)
    assert summary(run(dispatcher, [r1, silent], 10.5)) == [
        ("chat", HQ_CO2, "no_data", ("r2",))]


def test_an_alert_nobody_reports_any_more_is_forgotten_quietly() -> None:
    dispatcher = Dispatcher(POLICY)
    run(dispatcher, [alert("r1")], 0)
    run(dispatcher, [alert("r1")], 0.5)
    assert run(dispatcher, [], 30) == [] and dispatcher.groups    # kept: maybe a slow group
    assert run(dispatcher, [], 61) == []
    assert dispatcher.groups == {}


def test_each_channel_has_its_own_groups() -> None:
    dispatcher = Dispatcher(POLICY)
    r1 = alert("r1", notify=("chat", "mail"))
    run(dispatcher, [r1], 0)
    assert [(n.channel, n.kind) for n in run(dispatcher, [r1], 0.5)] == [
        ("chat", "firing"), ("mail", "firing")]


# ---------------------------------------------------------------------------
# Silences


def test_silences_by_rule_by_room_and_by_label_regex() -> None:
    dispatcher = Dispatcher(POLICY)
    alerts = [alert("r1"), alert("r2"), alert("r3", building="Annex"),
              alert("r4", rule="air/temp-high")]
    silences = [silence(-5, 60, rule="air/temp-high"), silence(-5, 60, room_id="r2"),
                silence(-5, 60, building="~Ann.*"),
                silence(-60, -5, room_id="r1")]            # expired: matches nothing any more
    run(dispatcher, alerts, 0, silences)
    assert summary(run(dispatcher, alerts, 0.5, silences)) == [
        ("chat", HQ_CO2, "firing", ("r1",))]
    assert dispatcher.suppressed == {"air/temp-high|r4": "silenced", f"{CO2}|r2": "silenced",
                                     f"{CO2}|r3": "silenced"}


def test_an_alert_still_firing_when_its_silence_ends_is_announced() -> None:
    dispatcher = Dispatcher(POLICY)
    r1 = alert("r1")
    silences = [silence(0, 10, room_id="r1")]
    for minute in (0, 0.5, 5, 9.5):
        assert run(dispatcher, [r1], minute, silences) == []
    assert run(dispatcher, [r1], 10, silences) == []              # waits group_wait
    assert summary(run(dispatcher, [r1], 10.5, silences)) == [
        ("chat", HQ_CO2, "firing", ("r1",))]


def test_the_resolve_of_an_alert_silenced_while_firing_is_not_sent() -> None:
    dispatcher = Dispatcher(POLICY)
    r1, r2 = alert("r1"), alert("r2")
    run(dispatcher, [r1, r2], 0)
    assert len(run(dispatcher, [r1, r2], 0.5)) == 1                # both told
    silences = [silence(5, 10, room_id="r1"), silence(5, 60, room_id="r2")]
    run(dispatcher, [r1, r2], 5, silences)                          # both silenced
    # r1 resolves after its silence ended, r2 while still silenced: neither is news.
    for minute, alerts in [(10, [resolved(r1, 700.0), r2]), (20, [resolved(r2, 710.0)]),
                           (30, []), (90, [])]:
        assert run(dispatcher, alerts, minute, silences) == []
    assert dispatcher.groups == {}


# ---------------------------------------------------------------------------
# Inhibition


def test_critical_inhibits_warning_for_the_same_room_only() -> None:
    critical_r1 = alert("r1", level="critical")
    warning_r1, warning_r2 = alert("r1", rule="air/temp", level="warning"), alert("r2")
    dispatcher = Dispatcher(POLICY)
    run(dispatcher, [critical_r1, warning_r1, warning_r2], 0)
    (sent,) = run(dispatcher, [critical_r1, warning_r1, warning_r2], 0.5)
    assert [(a.room_id, a.level) for a in sent.alerts] == [("r1", "critical"), ("r2", "warning")]


def test_a_critical_room_mutes_its_other_warnings_until_it_resolves() -> None:
    policy = parse_policy("inhibit:\n"
                          "  - {source: {level: critical}, target: {level: warning},"
                          " equal: [room_id]}\n")
    dispatcher = Dispatcher(policy)
    offline = alert("r1", rule=OFFLINE, level="critical")
    co2_r1, co2_r2 = alert("r1"), alert("r2")
    run(dispatcher, [offline, co2_r1, co2_r2], 0)
    assert summary(run(dispatcher, [offline, co2_r1, co2_r2], 0.5)) == [
        ("chat", HQ_CO2, "firing", ("r2",)),
        ("chat", "room-health/room-offline{building=HQ}", "firing", ("r1",)),
    ]
    assert dispatcher.suppressed == {f"{CO2}|r1": "inhibited"}
    run(dispatcher, [resolved(offline, 1.0), co2_r1, co2_r2], 10)
    assert summary(run(dispatcher, [co2_r1, co2_r2], 10.5)) == [
        ("chat", HQ_CO2, "firing", ("r1", "r2")),
        ("chat", "room-health/room-offline{building=HQ}", "resolved", ("r1",)),
    ]


def test_room_offline_inhibits_that_rooms_no_data_even_when_silenced() -> None:
    offline = alert("r1", rule=OFFLINE, level="critical")
    silent_r1 = alert("r1", status="no_data", value=None)
    silent_r2 = alert("r2", status="no_data", value=None)
    dispatcher = Dispatcher(POLICY)
    run(dispatcher, [offline, silent_r1, silent_r2], 0)
    assert summary(run(dispatcher, [offline, silent_r1, silent_r2], 0.5)) == [
        ("chat", HQ_CO2, "no_data", ("r2",)),
        ("chat", "room-health/room-offline{building=HQ}", "firing", ("r1",)),
    ]
    # Silencing the known outage must not unleash its sensors' no-data alerts.
    quiet = Dispatcher(POLICY)
    silences = [silence(-1, 60, rule=OFFLINE)]
    run(quiet, [offline, silent_r1, silent_r2], 0, silences)
    assert summary(run(quiet, [offline, silent_r1, silent_r2], 0.5, silences)) == [
        ("chat", HQ_CO2, "no_data", ("r2",))]
    assert quiet.suppressed == {f"{OFFLINE}|r1": "silenced", f"{CO2}|r1": "inhibited"}


# ---------------------------------------------------------------------------
# Mute windows

MUTED_MAIL = parse_policy("""\
mute_windows:
  nights-and-weekends:
    timezone: Europe/Berlin
    times:
      - {weekdays: [mon, tue, wed, thu, fri], start: "19:00", end: "07:00"}
      - {weekdays: [sat, sun]}
routes:
  mail: {mute: [nights-and-weekends]}
""")


def berlin(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


def ns(moment: datetime) -> int:
    return int(moment.timestamp()) * NS


Timeline = Callable[[datetime], list[Alert]]


def drive(dispatcher: Dispatcher, start: str, end: str, step_min: int,
          alerts_at: Timeline) -> list[tuple[str, Notification]]:
    """Process every ``step_min`` from ``start`` to ``end`` (Berlin time); what was sent when."""
    out = []
    moment, stop = berlin(start), berlin(end)
    while moment <= stop:
        now = ns(moment)
        out += [(moment.strftime("%a %H:%M"), n)
                for n in dispatcher.process(alerts_at(moment), now, [])]
        moment += timedelta(minutes=step_min)
    return out


def episode(room: str, start: str, end: str | None, moment: datetime,
            value_at_end: float = 700.0) -> list[Alert]:
    """``room`` fires from ``start`` until ``end``; the cycle at ``end`` reports its resolve."""
    first, now = ns(berlin(start)), ns(moment)
    firing = Alert(CO2, room, "firing", "warning", 1200.0, "above 1000", first, now,
                   labels={"building": "HQ", "room_name": room}, notify=("mail", "chat"))
    if moment < berlin(start):
        return []
    if end is None or moment < berlin(end):
        return [firing]
    if moment == berlin(end):
        return [resolved(firing, value_at_end)]
    return []


def on(channel: str,
       sent: list[tuple[str, Notification]]) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(when, n.kind, tuple(a.room_id for a in n.alerts))
            for when, n in sent if n.channel == channel]


def test_a_mute_window_across_midnight_sends_the_current_state_once_at_its_end() -> None:
    def alerts_at(moment: datetime) -> list[Alert]:
        return (episode("r1", "2027-01-13 18:00", "2027-01-14 03:00", moment)
                + episode("r2", "2027-01-13 20:00", None, moment)
                + episode("r3", "2027-01-13 23:00", "2027-01-14 01:00", moment))

    sent = drive(Dispatcher(MUTED_MAIL), "2027-01-13 17:50", "2027-01-14 08:00", 10, alerts_at)
    # r3 came and went during the night: the morning mail does not mention it.
    assert on("mail", sent) == [
        ("Wed 18:10", "firing", ("r1",)),
        ("Thu 07:00", "firing", ("r2",)),
        ("Thu 07:00", "resolved", ("r1",)),
    ]
    morning = [n for when, n in sent if n.channel == "mail" and when == "Thu 07:00"]
    assert morning[1].alerts[0].value == 700.0
    assert len({n.repeat for n in morning}) == 1
    # The unmuted channel heard everything as it happened (and a reminder 4h after 03:10).
    assert [when for when, _, _ in on("chat", sent)] == [
        "Wed 18:10", "Wed 20:10", "Wed 23:10", "Thu 01:10", "Thu 03:10", "Thu 07:10"]


def test_a_weekend_mute_sends_one_message_on_monday_morning_not_at_midnight() -> None:
    def alerts_at(moment: datetime) -> list[Alert]:
        return (episode("r1", "2027-01-15 17:00", None, moment)
                + episode("r2", "2027-01-16 10:00", None, moment))

    sent = drive(Dispatcher(MUTED_MAIL), "2027-01-15 16:30", "2027-01-18 12:00", 30, alerts_at)
    assert on("mail", sent) == [
        ("Fri 17:30", "firing", ("r1",)),
        ("Mon 07:00", "firing", ("r1", "r2")),
        ("Mon 11:00", "firing", ("r1", "r2")),          # the first reminder, 4h later
    ]


def test_reminders_missed_during_a_mute_become_one() -> None:
    def alerts_at(moment: datetime) -> list[Alert]:
        return episode("r1", "2027-01-15 17:00", None, moment)

    sent = drive(Dispatcher(MUTED_MAIL), "2027-01-15 16:30", "2027-01-18 16:00", 30, alerts_at)
    mail = [(when, n.repeat) for when, n in sent if n.channel == "mail"]
    assert mail == [("Fri 17:30", 0), ("Mon 07:00", 1), ("Mon 15:00", 2)]   # then 8h later
