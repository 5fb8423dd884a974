"""Retention policies and rollups: raw readings for weeks, 5-minute and hourly rollups for a year.

Reports and long-range dashboards must not aggregate months of raw readings
(47 million points for 200 rooms over 90 days), so continuous queries keep
``"rollup"."sensor_5m"``, ``"rollup"."sensor_1h"`` and ``"rollup"."sensor_1d"`` up
to date, and raw data
can expire early. The contract other code relies on is in docs/retention.md.

Everything that builds InfluxQL here is pure; :func:`apply_setup` compares what
the server has with what it should have and changes only the difference, so
running setup twice changes nothing. InfluxDB 1.x cannot alter a continuous
query, so each one's name ends with a hash of its definition: a changed
definition is a new name, created before the old one is dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from monitor.core.config import Config, retention_seconds
from monitor.core.durations import duration_seconds
from monitor.core.timeutil import NS_PER_S
from monitor.datamodel.influxql import influxql_ident
from monitor.datamodel.measurements import SENSOR
from monitor.store.influx import InfluxClient

RAW_RP = "autogen"
ROLLUP_RP = "rollup"
ROLLUP_SHARD_S = 26 * 7 * 86400
SOURCE = SENSOR
CQ_PREFIX = "zrmon_"


# Aggregates of "value" written by the plain rollup query, and by the occupied one
# (readings whose "people" field > 0). Both write into the same points (same time
# and tags), which InfluxDB merges field by field.
TOTAL_FIELDS = ("mean", "min", "max", "sum", "count")
OCCUPIED_FIELDS = ("occupied_count", "occupied_sum", "occupied_mean", "occupied_min",
                   "occupied_max")


@dataclass(frozen=True)
class Rollup:
    """One rollup measurement and how its continuous queries re-aggregate late readings.

    ``RESAMPLE FOR`` is how late a reading may arrive and still be counted: the
    CQ recomputes every interval within that window each time it runs.
    """

    measurement: str
    interval: str          # GROUP BY time(...)
    every: str             # RESAMPLE EVERY
    lookback: str          # RESAMPLE FOR
    interval_s: int


ROLLUPS = (
    Rollup("sensor_5m", "5m", "5m", "1h", 300),
    Rollup("sensor_1h", "1h", "15m", "3h", 3600),
)


# The daily rollup is built from the hourly one, so it can count hours: a report over
# whole days reads 24 times fewer points for its sums, maxima and coverage.
DAILY = Rollup("sensor_1d", "1d", "1h", "2d", 86400)
DAILY_SOURCE = "sensor_1h"
DAILY_AGGREGATES = (
    ("sum", 'sum("sum")'), ("count", 'sum("count")'), ("min", 'min("min")'),
    ("max", 'max("max")'), ("hours", 'count("mean")'),
    ("occupied_sum", 'sum("occupied_sum")'), ("occupied_count", 'sum("occupied_count")'),
    ("occupied_max", 'max("occupied_max")'), ("occupied_hours", 'count("occupied_mean")'),
)


@dataclass(frozen=True)
class ContinuousQuery:
    name: str
    select: str            # the SELECT … INTO statement it runs
    statement: str         # CREATE CONTINUOUS QUERY …


def rollup_select(database: str, rollup: Rollup, *, occupied: bool,
                  time_filter: str = "") -> str:
    """``SELECT … INTO`` for one rollup; ``time_filter`` (``time >= …``) restricts a backfill."""
    names = OCCUPIED_FIELDS if occupied else TOTAL_FIELDS
    aggregates = ", ".join(f'{name.removeprefix("occupied_")}("value") AS {influxql_ident(name)}'
                           for name in names)
    db = influxql_ident(database)
    where = [c for c in ('"people" > 0' if occupied else "", time_filter) if c]
    where_sql = f" WHERE {' AND '.join(where)}" if where else ""
    return (f"SELECT {aggregates} INTO {db}.{influxql_ident(ROLLUP_RP)}."
            f"{influxql_ident(rollup.measurement)} FROM {db}.{influxql_ident(RAW_RP)}."
            f"{influxql_ident(SOURCE)}{where_sql} GROUP BY time({rollup.interval}), *")


def daily_select(database: str, time_filter: str = "") -> str:
    """``SELECT … INTO "rollup"."sensor_1d"`` from the hourly rollup (hours are counted)."""
    aggregates = ", ".join(f"{call} AS {influxql_ident(name)}" for name, call in DAILY_AGGREGATES)
    db, rp = influxql_ident(database), influxql_ident(ROLLUP_RP)
    where_sql = f" WHERE {time_filter}" if time_filter else ""
    return (f"SELECT {aggregates} INTO {db}.{rp}.{influxql_ident(DAILY.measurement)} "
            f"FROM {db}.{rp}.{influxql_ident(DAILY_SOURCE)}{where_sql} "
            f"GROUP BY time({DAILY.interval}), *")


def continuous_queries(database: str) -> list[ContinuousQuery]:
    """The CQs the database should have, named ``zrmon_<measurement>_<kind>_<hash>``."""
    selects = [(rollup, "occupied" if occupied else "all",
                rollup_select(database, rollup, occupied=occupied))
               for rollup in ROLLUPS for occupied in (False, True)]
    selects.append((DAILY, "all", daily_select(database)))
    out = []
    for rollup, kind, select in selects:
        resample = f"RESAMPLE EVERY {rollup.every} FOR {rollup.lookback}"
        digest = hashlib.sha256(f"{resample} {select}".encode()).hexdigest()[:10]
        name = f"{CQ_PREFIX}{rollup.measurement}_{kind}_{digest}"
        statement = (f"CREATE CONTINUOUS QUERY {influxql_ident(name)} ON "
                     f"{influxql_ident(database)} {resample} BEGIN {select} END")
        out.append(ContinuousQuery(name, select, statement))
    return out


def rp_duration(text: str) -> str:
    """Config text (``30d``, ``INF``) as InfluxQL: INF is spelt ``INF``."""
    return "INF" if retention_seconds(text) is None else text.strip()


def go_duration_seconds(text: str) -> int:
    """``720h0m0s`` (how SHOW RETENTION POLICIES prints) as seconds; ``0s`` means infinite."""
    return int(duration_seconds(text))


def rollup_shard_seconds(rollup_retention: str) -> int:
    """Shard groups of the rollup policy: half a year, or the retention if shorter.

    InfluxDB's default for a long policy is one shard a week, and a query pays
    per shard and series: a 90-day report over 13 weekly shards took 0.8 s per
    p95 query, over one shard 0.5 s (and sums 0.03 s against 0.016 s). The
    price is coarser expiry: a shard goes when all of it is past the retention.
    """
    retention = retention_seconds(rollup_retention)
    return ROLLUP_SHARD_S if retention is None else min(ROLLUP_SHARD_S, retention)


def plan_setup(database: str, raw_retention: str, rollup_retention: str,  # noqa: PLR0917
               policies: Mapping[str, int], cqs: Iterable[str],
               shards: Mapping[str, int] | None = None) -> list[str]:
    """The statements that bring the server from what it has to what it should have.

    ``policies`` maps existing retention policies to their duration in seconds
    (0 = infinite), ``shards`` to their shard group duration, ``cqs`` are the
    names of existing continuous queries. Empty when nothing needs to change.
    """
    db = influxql_ident(database)
    out: list[str] = []
    events = longest(raw_retention, rollup_retention)
    shard = rollup_shard_seconds(rollup_retention)
    for name, wanted in ((RAW_RP, events), (ROLLUP_RP, rollup_retention)):
        seconds = retention_seconds(wanted) or 0
        rp = influxql_ident(name)
        shard_sql = f" SHARD DURATION {shard}s" if name == ROLLUP_RP else ""
        if name not in policies:
            out.append(f"CREATE RETENTION POLICY {rp} ON {db} DURATION {rp_duration(wanted)} "
                       f"REPLICATION 1{shard_sql}")
            continue
        changes = ""
        if policies[name] != seconds:
            changes += f" DURATION {rp_duration(wanted)}"
        if shard_sql and shards is not None and shards.get(name) != shard:
            changes += shard_sql
        if changes:
            out.append(f"ALTER RETENTION POLICY {rp} ON {db}{changes}")
    wanted_cqs = continuous_queries(database)
    existing = set(cqs)
    out += [cq.statement for cq in wanted_cqs if cq.name not in existing]
    keep = {cq.name for cq in wanted_cqs}
    out += [f"DROP CONTINUOUS QUERY {influxql_ident(name)} ON {db}"
            for name in sorted(existing) if name.startswith(CQ_PREFIX) and name not in keep]
    return out


def longest(*durations: str) -> str:
    """The longest retention of several (INF beats everything)."""
    return max(durations, key=lambda text: retention_seconds(text) or float("inf"))


def prune_statement(raw_retention: str, now_ns: int) -> str | None:
    """``DELETE`` for raw readings older than the raw retention; None when kept forever.

    ``autogen`` also holds incidents, alerts, Zoom events and rule transitions,
    which the uptime report and the dashboards need for a year: so ``autogen``
    lives as long as the rollups, and raw readings (nearly all of the volume)
    are pruned by age. InfluxDB 1.x cannot give one measurement of a retention
    policy a shorter life, and moving readings to their own policy would put a
    policy name into every query of the rules, dashboards and status page.
    """
    seconds = retention_seconds(raw_retention)
    if seconds is None:
        return None
    return f"DELETE FROM {influxql_ident(SOURCE)} WHERE time < {now_ns - seconds * NS_PER_S}"


def prune_raw(client: InfluxClient, config: Config, now_ns: int) -> str | None:
    """Run :func:`prune_statement`; the statement run, if any."""
    statement = prune_statement(config.raw_retention, now_ns)
    if statement is not None:
        client.query(statement, write=True, epoch=None)
    return statement


def shard_durations(client: InfluxClient) -> dict[str, int]:
    """Retention policy → shard group duration in seconds."""
    db = influxql_ident(client.database)
    return {row["name"]: go_duration_seconds(row["shardGroupDuration"])
            for series in client.query(f"SHOW RETENTION POLICIES ON {db}", epoch=None)
            for row in series.rows()}


def current_state(client: InfluxClient) -> tuple[dict[str, int], list[str]]:
    """Retention policies (name → seconds) and the continuous queries of the client's database."""
    db = influxql_ident(client.database)
    policies = {row["name"]: go_duration_seconds(row["duration"])
                for series in client.query(f"SHOW RETENTION POLICIES ON {db}", epoch=None)
                for row in series.rows()}
    cqs = [row["name"] for series in client.query("SHOW CONTINUOUS QUERIES", epoch=None)
           if series.name == client.database for row in series.rows()]
    return policies, cqs


def apply_setup(client: InfluxClient, config: Config) -> list[str]:
    """Create the database, policies and CQs; the statements run (none on a second run)."""
    client.create_database()      # CREATE DATABASE is a no-op when it exists
    policies, cqs = current_state(client)
    statements = plan_setup(client.database, config.raw_retention, config.rollup_retention,
                            policies, cqs, shard_durations(client))
    for statement in statements:
        client.query(statement, write=True, epoch=None)
    return statements


# ---------------------------------------------------------------- backfill

def chunks(start_ns: int, end_ns: int, chunk_s: int) -> Iterator[tuple[int, int]]:
    """``[start, end)`` widened to whole hours and cut into ``chunk_s`` pieces.

    Widening means a backfill never writes a partial 1h (or 5m) bucket from
    half an hour of readings: every bucket it touches is recomputed whole.
    """
    hour = 3600 * NS_PER_S
    step = max(chunk_s // 3600, 1) * hour
    low = start_ns // hour * hour
    high = -(-end_ns // hour) * hour
    while low < high:
        yield low, min(low + step, high)
        low += step


def backfill_statements(database: str, start_ns: int, end_ns: int) -> list[str]:
    """The CQs' own SELECT … INTO, restricted to one time range (one chunk).

    The daily rollup is recomputed over the whole days the chunk touches, after
    the hourly one: a day split over two chunks is recomputed by each, and the
    later one sees all of its hours.
    """
    time_filter = f"time >= {start_ns} AND time < {end_ns}"
    day = DAILY.interval_s * NS_PER_S
    days = f"time >= {start_ns // day * day} AND time < {-(-end_ns // day) * day}"
    return [*(rollup_select(database, rollup, occupied=occupied, time_filter=time_filter)
              for rollup in ROLLUPS for occupied in (False, True)),
            daily_select(database, days)]


def backfill(client: InfluxClient, start_ns: int, end_ns: int, *, chunk_s: int = 86400,
             progress: Callable[[int], None] | None = None) -> int:
    """Recompute both rollups over a past range; the number of rollup points written.

    CQs only ever cover recent intervals, so history written late (a restored
    backup, the simulator, an outage of the CQ service) needs this.
    ``progress`` is called with the number of chunks done after each chunk.
    """
    written = 0
    for low, high in chunks(start_ns, end_ns, chunk_s):
        for statement in backfill_statements(client.database, low, high):
            for series in client.query(statement, write=True):
                written += sum(int(row.get("written") or 0) for row in series.rows())
        if progress is not None:
            progress(1)
    return written


def chunk_count(start_ns: int, end_ns: int, chunk_s: int) -> int:
    return sum(1 for _ in chunks(start_ns, end_ns, chunk_s))
