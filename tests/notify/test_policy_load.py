"""rules/notify.yaml: defaults, durations, validation with file:line, the heartbeat."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.clocks import berlin_ns
from support.paths import REPO

from monitor.core.configfile import ConfigFileErrors
from monitor.notify.inhibit import DEFAULT_INHIBIT
from monitor.notify.mute_windows import TimeRange
from monitor.notify.policy import Grouping, Heartbeat, Policy
from monitor.notify.policy_load import load_policy, parse_duration_ns, parse_policy

NS = 1_000_000_000
HOUR = 3600 * NS


def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigFileErrors) as caught:
        parse_policy(text, "notify.yaml")
    return [str(error) for error in caught.value.errors]


def test_the_shipped_file_loads_as_documented() -> None:
    policy = load_policy(REPO / "rules" / "notify.yaml")
    assert policy.grouping == Grouping()
    assert policy.grouping.group_by == ("rule", "building")
    assert policy.inhibit == DEFAULT_INHIBIT
    assert policy.routes["facilities-mail"].mute == ("nights-and-weekends",)
    assert policy.grouping_for("facilities-mail") == policy.grouping
    window = policy.mute_windows["nights-and-weekends"]
    assert window.timezone == "Europe/Berlin"
    assert window.times[0] == TimeRange(frozenset({0, 1, 2, 3, 4}), 19 * 60, 7 * 60)
    assert window.times[1] == TimeRange(frozenset({5, 6}))


def test_a_missing_file_means_the_defaults(tmp_path: Path) -> None:
    policy = load_policy(tmp_path / "notify.yaml")
    assert policy.grouping == Grouping()
    assert policy.inhibit == DEFAULT_INHIBIT
    assert policy.mute_windows == {} and policy.routes == {}
    assert not policy.muted("facilities-mail", berlin_ns("2027-01-13 03:00"))


def test_an_empty_file_and_missing_sections_mean_the_defaults() -> None:
    assert parse_policy("") == Policy(source="notify.yaml")
    policy = parse_policy("grouping: {group_wait: 1m}\ninhibit: []\n")
    assert policy.grouping.group_wait_ns == 60 * NS
    assert policy.grouping.group_interval_ns == 5 * 60 * NS
    assert policy.inhibit == ()


@pytest.mark.parametrize(("text", "ns"), [
    ("30s", 30 * NS), ("5m", 300 * NS), ("4h", 4 * HOUR), ("1d", 24 * HOUR),
    ("1h30m", 90 * 60 * NS), ("250ms", NS // 4), (90, 90 * NS), ("0s", 0),
])
def test_durations(text: str | int, ns: int) -> None:
    assert parse_duration_ns(text) == ns


@pytest.mark.parametrize("text", ["", "4", "h", "4x", "1h 2", "-5m", "5m30"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration_ns(text)


def test_a_route_may_have_its_own_timing() -> None:
    policy = parse_policy("routes:\n  pager: {repeat_interval: 1h, group_by: [room_id]}\n")
    pager = policy.grouping_for("pager")
    assert pager.repeat_interval_ns == HOUR and pager.group_by == ("room_id",)
    assert pager.group_wait_ns == Grouping().group_wait_ns
    assert policy.grouping_for("other") == Grouping()


# ---------------------------------------------------------------------------
# Errors name file:line


def test_errors_name_file_line_and_path() -> None:
    errors = errors_of(
        "grouping:\n"                                               # 1
        "  group_wiat: 30s\n"                                       # 2
        "  group_interval: 5x\n"                                    # 3
        "mute_windows:\n"                                           # 4
        "  nights:\n"                                               # 5
        "    timezone: Europe/Berlinn\n"                            # 6
        "    times:\n"                                              # 7
        "      - {weekdays: [mon, fry], start: '25:00'}\n"          # 8
        "inhibit:\n"                                                # 9
        "  - {source: {level: '~(crit'}, target: {}}\n")            # 10
    assert "notify.yaml:2: grouping.group_wiat: Unknown field." in errors
    assert any(e.startswith("notify.yaml:3: grouping.group_interval: not a duration")
               for e in errors)
    assert any(e.startswith("notify.yaml:6: mute_windows.nights.timezone: unknown timezone")
               for e in errors)
    assert any(e.startswith("notify.yaml:8: mute_windows.nights.times.0.weekdays.1: not a "
                            "weekday") for e in errors)
    assert any(e.startswith("notify.yaml:8: mute_windows.nights.times.0.start:") for e in errors)
    assert any(e.startswith("notify.yaml:10: inhibit.0.source: level: bad regular expression")
               for e in errors)
    assert any(e.startswith("notify.yaml:10: inhibit.0.target:") for e in errors)


def test_cross_field_errors_point_at_the_route() -> None:
    errors = errors_of(
        "mute_windows:\n"
        "  weekend: {timezone: UTC, times: [{weekdays: [sat, sun]}]}\n"
        "routes:\n"
        "  mail: {mute: [nights], repeat_interval: 48h}\n")
    assert errors == [
        "notify.yaml:4: routes.mail: max_repeat_interval is shorter than repeat_interval",
        "notify.yaml:4: routes.mail: unknown mute window 'nights'",
    ]


def test_syntax_errors_and_duplicate_keys_have_lines() -> None:
    assert errors_of("grouping: [1\n")[0].startswith("notify.yaml:2:")
    assert errors_of("grouping:\n  group_wait: 1s\n  group_wait: 2s\n") == [
        "notify.yaml:3: duplicate key 'group_wait' (first at line 2)"]
    assert errors_of("- a\n") == ["notify.yaml:1: expected a mapping at the top level"]


def test_load_policy_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "notify.yaml"
    path.write_text("grouping:\n  repeat_backoff: 0.5\n")
    with pytest.raises(ConfigFileErrors, match=rf"^{path}:2: grouping.repeat_backoff: "):
        load_policy(path)


def test_an_empty_time_range_is_refused() -> None:
    errors = errors_of("mute_windows:\n  w:\n    timezone: UTC\n    times:\n"
                       "      - {start: '07:00', end: '07:00'}\n")
    assert errors == ["notify.yaml:5: mute_windows.w.times.0: start equals end; omit both "
                      "for the whole day"]


def test_unquoted_times_are_times_not_base_60_numbers() -> None:
    policy = parse_policy("mute_windows:\n  w:\n    timezone: UTC\n    times:\n"
                          "      - {start: 19:00, end: 07:00}\n")
    assert policy.mute_windows["w"].times == (TimeRange(frozenset(), 19 * 60, 7 * 60),)


# ---------------------------------------------------------------------------
# The heartbeat


def test_a_heartbeat_is_optional_and_its_url_may_come_from_the_environment() -> None:
    assert parse_policy("grouping: {}\n").heartbeat is None
    policy = parse_policy("heartbeat:\n  url: \"${PING}/hb\"\n  every: 30s\n", "n.yaml",
                          {"PING": "https://hc-ping.com/0f1e"})
    assert policy.heartbeat == Heartbeat("https://hc-ping.com/0f1e/hb", 30 * NS)
    assert "hc-ping" not in repr(policy.heartbeat)       # the URL is a credential
    assert parse_policy("heartbeat: {url: 'http://h:1/p'}\n").heartbeat == Heartbeat(
        "http://h:1/p", 60 * NS)


@pytest.mark.parametrize(("text", "expected"), [
    ("heartbeat:\n  url: ftp://h/p\n", "notify.yaml:2: heartbeat.url: must be an http(s) URL"),
    ("heartbeat:\n  url: http://h/p\n  every: 0.5s\n",
     "notify.yaml:3: heartbeat.every: must be at least 1s"),
    ("heartbeat:\n  url: http://h/p\n  evry: 1m\n",
     "notify.yaml:3: heartbeat.evry: Unknown field."),
    ("grouping: {}\nheartbeat:\n  url: \"${NOT_SET}\"\n",
     "notify.yaml:3: heartbeat.url: environment variable NOT_SET is not set"),
    ("heartbeat:\n  every: 1m\n", "notify.yaml:2: heartbeat.url: Missing data for required field."),
])
def test_heartbeat_mistakes_name_their_line(text: str, expected: str) -> None:
    with pytest.raises(ConfigFileErrors) as caught:
        parse_policy(text, "notify.yaml", {})
    assert [str(error) for error in caught.value.errors] == [expected]
