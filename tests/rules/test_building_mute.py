"""A ``timezone: building`` mute window, through the real engine: InfluxDB in (readings and
the registry's ``zoom_room`` points), a webhook out, muted on the building's local clock.

Spree is in Berlin. The window mutes 19:00-07:00. At 19:30 in Berlin (17:30 or 18:30
UTC) the channel must hear nothing; at 07:30 the next morning (05:30 or 06:30 UTC) the
firing alert goes out. A UTC window would do the opposite, which the control test shows.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from support.readings import zoom_room_lines
from support.rulesdir import co2_rule, webhook_channel, write_rules_dir
from support.sinks import HttpSink

from monitor.core.config import Config
from monitor.datamodel.points import Point, encode_lines
from monitor.runtime.engine import Engine
from monitor.store.influx import InfluxClient

NS = 10**9
BERLIN = ZoneInfo("Europe/Berlin")
RULES = co2_rule(notify="hook", interval="1m", window="5m",
                 warning="{above: 1000, resolve_below: 900}")
POLICY = """\
grouping: {{group_by: [rule, building], group_wait: 1s, group_interval: 1s,
            repeat_interval: 1h, forget_after: 1d}}
mute_windows:
  nights:
    timezone: {zone}
    times: [{{start: "19:00", end: "07:00"}}]
routes:
  hook: {{mute: [nights]}}
"""


def _rules(tmp_path: Path, sink: HttpSink, zone: str) -> Path:
    return write_rules_dir(tmp_path / "rules", rules={"air.yaml": RULES},
                           channels=webhook_channel(sink.url()), notify=POLICY.format(zone=zone))


def _berlin_ns(day: datetime, hour: int, minute: int) -> int:
    return int(datetime.combine(day.date(), time(hour, minute), BERLIN).timestamp()) * NS


@pytest.fixture
def evening_and_morning(influx: InfluxClient) -> tuple[int, int]:
    """19:30 and the next 07:30 in Berlin, two days ago; Spree placed in Berlin; CO2 high."""
    day = datetime.now(BERLIN) - timedelta(days=2)
    evening, morning = _berlin_ns(day, 19, 30), _berlin_ns(day + timedelta(days=1), 7, 30)
    influx.write(zoom_room_lines(evening - 3600 * NS))
    influx.write(encode_lines(
        Point("sensor", {"room_id": "spree-1", "room_name": "Spree 1", "sensor_type": "CO2",
                         "building": "Spree", "floor": "F1"}, {"value": 1250.0}, at - 60 * NS)
        for at in (evening, morning)))
    return evening, morning


def _cycle(engine: Engine, at_ns: int) -> int:
    """Evaluate at ``at_ns``, let group_wait pass, and deliver: how many messages went out."""
    [group] = engine.groups
    engine.run_group(group, at_ns=at_ns)
    engine.tick(at_ns=at_ns + 2 * NS)
    return engine.deliver.run_once()


def test_a_building_window_mutes_on_the_buildings_clock(
        config: Config, tmp_path: Path, http_sink: HttpSink,
        evening_and_morning: tuple[int, int]) -> None:
    evening, morning = evening_and_morning
    engine = Engine.build(config, _rules(tmp_path, http_sink, "building"), env={})
    assert engine.zones is not None
    assert _cycle(engine, evening) == 0            # 19:30 in Berlin: muted
    assert engine.zones.zones == {"Spree": "Europe/Berlin"}
    assert http_sink.requests == []
    assert _cycle(engine, morning) == 1            # 07:30 in Berlin: the firing goes out
    [message] = http_sink.wait_for(1)
    body = message.json()
    assert (body["status"], body["alerts"][0]["room_id"]) == ("firing", "spree-1")


def test_the_same_window_in_utc_mutes_the_other_way(
        config: Config, tmp_path: Path, http_sink: HttpSink,
        evening_and_morning: tuple[int, int]) -> None:
    evening, _ = evening_and_morning
    engine = Engine.build(config, _rules(tmp_path, http_sink, "UTC"), env={})
    assert engine.zones is None                    # no window needs the registry
    assert _cycle(engine, evening) == 1            # 17:30/18:30 UTC: not muted in UTC
    assert http_sink.wait_for(1)[0].json()["status"] == "firing"
