"""What landed in the store: drain the writer's spool, count points in InfluxDB."""

from __future__ import annotations

from monitor.store.influx import InfluxClient
from monitor.store.writer import Writer


def drain(writer: Writer) -> int:
    """Run the writer until the spool is empty; how many records it consumed."""
    total = 0
    while handled := writer.drain_once():
        total += handled
    return total


def readings(influx: InfluxClient) -> int:
    """How many sensor readings InfluxDB holds."""
    return count(influx, 'SELECT count("value") FROM "sensor"')


def count(influx: InfluxClient, query: str) -> int:
    series = influx.query(query)
    if not series or not series[0].values:
        return 0
    return int(series[0].values[0][1])
