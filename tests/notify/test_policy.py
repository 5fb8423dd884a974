"""The notification policy's model: repeat back-off, per-channel routes and their mutes."""

from __future__ import annotations

from support.clocks import berlin_ns
from support.paths import REPO

from monitor.notify.policy import Grouping
from monitor.notify.policy_load import load_policy

NS = 1_000_000_000
HOUR = 3600 * NS


def test_repeats_back_off_and_are_capped() -> None:
    grouping = Grouping()
    delays = [grouping.repeat_delay_ns(n) // HOUR for n in range(6)]
    assert delays == [4, 8, 16, 24, 24, 24]
    assert grouping.repeat_delay_ns(10_000) == 24 * HOUR     # no float overflow
    assert Grouping(repeat_backoff=1.0).repeat_delay_ns(5) == 4 * HOUR


def test_channels_without_a_route_are_never_muted() -> None:
    policy = load_policy(REPO / "rules" / "notify.yaml")
    night = berlin_ns("2027-01-14 03:00")
    assert policy.muted("facilities-mail", night)
    assert not policy.muted("it-slack", night)
