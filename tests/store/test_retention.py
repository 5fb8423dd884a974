"""Retention policies, continuous queries and backfill against the real influxd."""

from __future__ import annotations

import time

import pytest

from monitor.cli import main
from monitor.core.config import Config, ConfigError
from monitor.datamodel.points import Point, encode_lines
from monitor.store.influx import InfluxClient
from monitor.store.retention import (
    apply_setup,
    backfill,
    chunks,
    continuous_queries,
    current_state,
    go_duration_seconds,
    plan_setup,
    prune_raw,
    shard_durations,
)

HOUR_NS = 3600 * 1_000_000_000
MIN_NS = 60 * 1_000_000_000


def _cq_queries(influx: InfluxClient) -> dict[str, str]:
    return {row["name"]: row["query"] for series in influx.query("SHOW CONTINUOUS QUERIES")
            if series.name == influx.database for row in series.rows()}


def test_setup_creates_policies_and_continuous_queries(config: Config,
                                                       influx: InfluxClient) -> None:
    apply_setup(influx, config)
    policies, _ = current_state(influx)
    # autogen holds incidents and events too: it lives as long as the rollups, and
    # raw readings are pruned after ZRMON_RAW_RETENTION (prune_raw).
    assert policies == {"autogen": 400 * 86400, "rollup": 400 * 86400}
    # Half-year shard groups for the rollups: a 90-day report reads one or two shards.
    assert shard_durations(influx)["rollup"] == 26 * 7 * 86400
    queries = _cq_queries(influx)
    assert len(queries) == 5
    five = [q for name, q in queries.items() if name.startswith("zrmon_sensor_5m_occupied_")]
    assert len(five) == 1
    assert "RESAMPLE EVERY 5m FOR 1h" in five[0]
    assert f"INTO {influx.database}.rollup.sensor_5m" in five[0]
    assert "WHERE people > 0" in five[0] and "GROUP BY time(5m), *" in five[0]
    hourly = [q for name, q in queries.items() if name.startswith("zrmon_sensor_1h_all_")]
    assert "RESAMPLE EVERY 15m FOR 3h" in hourly[0]
    assert "count(value) AS count" in hourly[0] and "sum(value) AS sum" in hourly[0]


def test_second_setup_changes_nothing(config: Config, influx: InfluxClient) -> None:
    assert apply_setup(influx, config)
    before = (current_state(influx), _cq_queries(influx))
    assert apply_setup(influx, config) == []
    assert (current_state(influx), _cq_queries(influx)) == before


def test_changed_durations_are_altered(config: Config, influx: InfluxClient) -> None:
    apply_setup(influx, config)
    changed = config.with_(raw_retention="14d", rollup_retention="INF")
    statements = apply_setup(influx, changed)
    assert [s.split(" ON ")[0] for s in statements] == [
        'ALTER RETENTION POLICY "autogen"', 'ALTER RETENTION POLICY "rollup"']
    assert current_state(influx)[0] == {"autogen": 0, "rollup": 0}


def test_prune_drops_old_raw_readings_and_keeps_incidents_and_recent_readings(
        config: Config, influx: InfluxClient) -> None:
    now = 1_793_527_200 * 10**9
    day = 86400 * 10**9
    old, recent = now - 31 * day, now - 29 * day
    influx.write(encode_lines([
        Point("sensor", {"room_id": "r", "sensor_type": "CO2"}, {"value": 900.0}, old),
        Point("sensor", {"room_id": "r", "sensor_type": "CO2"}, {"value": 700.0}, recent),
        Point("room_incident", {"room_id": "r", "alert_type": "3"},
              {"open": False, "duration_s": 60.0}, old),
    ]))
    assert prune_raw(influx, config, now) == f'DELETE FROM "sensor" WHERE time < {now - 30 * day}'
    [readings] = influx.query('SELECT "value" FROM "sensor"')
    assert [row[1] for row in readings.values] == [700.0]
    [incidents] = influx.query('SELECT "duration_s" FROM "room_incident"')
    assert len(incidents.values) == 1
    assert prune_raw(influx, config.with_(raw_retention="INF"), now) is None


def test_a_short_rollup_retention_gets_shards_no_longer_than_itself(
        config: Config, influx: InfluxClient) -> None:
    apply_setup(influx, config)
    assert apply_setup(influx, config.with_(rollup_retention="30d")) == [
        f'ALTER RETENTION POLICY "autogen" ON "{influx.database}" DURATION 30d',
        f'ALTER RETENTION POLICY "rollup" ON "{influx.database}" DURATION 30d '
        f"SHARD DURATION {30 * 86400}s"]
    assert shard_durations(influx)["rollup"] == 30 * 86400


def test_changed_definitions_are_recreated_and_foreign_cqs_kept(
        config: Config, influx: InfluxClient) -> None:
    apply_setup(influx, config)
    old = ('CREATE CONTINUOUS QUERY "zrmon_sensor_5m_all_0000000000" ON "{db}" BEGIN '
           'SELECT mean("value") AS "mean" INTO "rollup"."sensor_5m" FROM "sensor" '
           'GROUP BY time(5m), * END')
    theirs = ('CREATE CONTINUOUS QUERY "their_cq" ON "{db}" BEGIN SELECT max("value") '
              'INTO "their_max" FROM "sensor" GROUP BY time(1h), * END')
    for statement in (old, theirs):
        influx.query(statement.format(db=influx.database), write=True)
    statements = apply_setup(influx, config)
    assert statements == [f'DROP CONTINUOUS QUERY "zrmon_sensor_5m_all_0000000000" '
                          f'ON "{influx.database}"']
    names = set(_cq_queries(influx))
    assert names == {cq.name for cq in continuous_queries(influx.database)} | {"their_cq"}


def test_plan_recreates_a_cq_whose_definition_changed() -> None:
    wanted = continuous_queries("db")
    existing = [cq.name for cq in wanted[1:]] + ["zrmon_sensor_5m_all_stale"]
    statements = plan_setup("db", "30d", "400d", {"autogen": 400 * 86400,
                                                  "rollup": 400 * 86400}, existing)
    assert statements == [wanted[0].statement,
                          'DROP CONTINUOUS QUERY "zrmon_sensor_5m_all_stale" ON "db"']


def test_go_durations() -> None:
    assert go_duration_seconds("720h0m0s") == 30 * 86400
    assert go_duration_seconds("0s") == 0
    assert go_duration_seconds("1h30m0s") == 5400


def test_chunks_cover_whole_hours() -> None:
    start, end = 10 * HOUR_NS + 5 * MIN_NS, 13 * HOUR_NS + 1
    assert list(chunks(start, end, 7200)) == [(10 * HOUR_NS, 12 * HOUR_NS),
                                              (12 * HOUR_NS, 14 * HOUR_NS)]


@pytest.mark.parametrize(("variable", "value"), [
    ("ZRMON_RAW_RETENTION", "30 days"), ("ZRMON_RAW_RETENTION", "30m"),
    ("ZRMON_ROLLUP_RETENTION", "-1d"), ("ZRMON_ROLLUP_RETENTION", "1y"),
])
def test_bad_retention_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Config.from_env({variable: value})
    assert caught.value.variable == variable


def test_retention_from_environment() -> None:
    config = Config.from_env({"ZRMON_RAW_RETENTION": "52w", "ZRMON_ROLLUP_RETENTION": "inf"})
    assert (config.raw_retention, config.rollup_retention) == ("52w", "inf")


def _seed(influx: InfluxClient, start: int) -> None:
    """Two hours of CO2 for one room, one reading a minute, occupied in known minutes.

    Hour 0: value = 400 + minute; people = 3 in minutes 0-29, 0 after.
    Hour 1: value = 1000 + minute; no people field (a device without a counter).
    """
    lines = []
    for minute in range(120):
        value = 400 + minute if minute < 60 else 1000 + (minute - 60)
        fields = f"value={float(value)}"
        if minute < 60:
            fields += f",people={3.0 if minute < 30 else 0.0}"
        lines.append(f"sensor,room_id=r1,room_name=Everest,sensor_type=CO2,building=HQ,"
                     f"floor=F1 {fields} {start + minute * MIN_NS}")
    influx.write("\n".join(lines).encode())


def _rows(influx: InfluxClient, measurement: str) -> list[dict[str, object]]:
    series = influx.query(f'SELECT * FROM "rollup"."{measurement}" ORDER BY time')
    return series[0].rows() if series else []


def test_backfill_writes_exact_rollups(config: Config, influx: InfluxClient) -> None:
    apply_setup(influx, config)
    day = 24 * HOUR_NS
    start = (time.time_ns() - 3 * day) // day * day + 10 * HOUR_NS
    _seed(influx, start)
    written = backfill(influx, start, start + 2 * HOUR_NS, chunk_s=3600)
    # 5m: 24 all + 6 occupied; 1h: 2 all + 1 occupied; 1d: its day, once per 1h chunk.
    assert written == 24 + 6 + 2 + 1 + 2
    hourly = _rows(influx, "sensor_1h")
    assert [row["time"] for row in hourly] == [start // 1_000_000, (start + HOUR_NS) // 1_000_000]
    first, second = hourly
    assert (first["mean"], first["min"], first["max"], first["sum"], first["count"]) == \
        (429.5, 400, 459, sum(range(400, 460)), 60)
    assert (first["occupied_count"], first["occupied_sum"], first["occupied_mean"],
            first["occupied_min"], first["occupied_max"]) == \
        (30, sum(range(400, 430)), 414.5, 400, 429)
    assert (second["mean"], second["count"], second["occupied_count"]) == (1029.5, 60, None)
    assert (first["room_id"], first["room_name"], first["building"], first["floor"],
            first["sensor_type"]) == ("r1", "Everest", "HQ", "F1", "CO2")
    five = _rows(influx, "sensor_5m")
    assert len(five) == 24
    assert (five[5]["mean"], five[5]["sum"], five[5]["count"], five[5]["occupied_sum"]) == \
        (427.0, sum(range(425, 430)), 5, sum(range(425, 430)))
    assert five[6]["occupied_count"] is None and five[6]["count"] == 5
    [daily] = _rows(influx, "sensor_1d")
    assert daily["time"] == (start - 10 * HOUR_NS) // 1_000_000
    assert (daily["sum"], daily["count"], daily["min"], daily["max"], daily["hours"]) == \
        (sum(range(400, 460)) + sum(range(1000, 1060)), 120, 400, 1059, 2)
    assert (daily["occupied_sum"], daily["occupied_count"], daily["occupied_max"],
            daily["occupied_hours"]) == (sum(range(400, 430)), 30, 429, 1)
    assert backfill(influx, start, start + 2 * HOUR_NS) == written - 1   # one chunk: one day
    assert len(_rows(influx, "sensor_5m")) == 24


def _cli(config: Config, *args: str) -> int:
    return main([*args, "--influx-url", config.influx_url, "--influx-db", config.influx_db])


def test_cli_setup_and_backfill(config: Config, influx: InfluxClient,
                                capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(config, "influx", "setup") == 0
    assert "CREATE CONTINUOUS QUERY" in capsys.readouterr().out
    assert _cli(config, "influx", "setup") == 0
    assert capsys.readouterr().out == ""
    start = (time.time_ns() - 86400 * 1_000_000_000) // HOUR_NS * HOUR_NS
    _seed(influx, start)
    assert _cli(config, "influx", "backfill", "--last", "2d") == 0
    assert len(_rows(influx, "sensor_1h")) == 2


@pytest.mark.parametrize("args", [["--last", "soon"], ["--from", "yesterday"],
                                  ["--from", "2026-10-02", "--to", "2026-10-01"],
                                  ["--last", "7d", "--chunk", "5m"]])
def test_cli_backfill_refuses_bad_ranges(config: Config, args: list[str],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(config, "influx", "backfill", *args) == 2
    assert capsys.readouterr().err.startswith("zrmon: ")


def test_cli_bad_retention_exits_2(config: Config,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(config, "influx", "setup", "--raw-retention", "forever") == 2
    assert "ZRMON_RAW_RETENTION" in capsys.readouterr().err
