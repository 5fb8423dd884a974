"""A mapped batch's points and deletes, sent to InfluxDB in order, with the write metrics.

Mapping yields points to write and, when an incident's start moved earlier, the
superseded row to delete. Within one event the delete goes first; across a batch
the points between two deletes go as one write.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from monitor.core.metrics import POINTS_WRITTEN, READINGS_WRITTEN, WRITE_LATENCY
from monitor.datamodel.influxql import influxql_string
from monitor.datamodel.measurements import SENSOR
from monitor.datamodel.points import Batch, Delete, LineEncoder, Point
from monitor.store.influx import InfluxClient


def ops(batch: Batch) -> list[Point | Delete]:
    # Deletes come from an incident whose start moved earlier; within one event they
    # remove the superseded row, so they go first.
    return [*batch.deletes, *batch.points]


class PointWriter:
    def __init__(self, influx: InfluxClient) -> None:
        self.influx = influx
        self.encoder = LineEncoder()

    def write(self, ops: Sequence[Point | Delete]) -> None:
        run: list[Point] = []
        for op in ops:
            if isinstance(op, Point):
                run.append(op)
                continue
            self._write_points(run)
            run = []
            self._delete(op)
        self._write_points(run)

    def _write_points(self, points: list[Point]) -> None:
        if not points:
            return
        started = time.perf_counter()
        self.influx.write(self.encoder.encode(points))
        WRITE_LATENCY.observe(time.perf_counter() - started)
        counts: dict[str, int] = {}
        for point in points:
            counts[point.measurement] = counts.get(point.measurement, 0) + 1
        for measurement, count in counts.items():
            POINTS_WRITTEN.labels(measurement).inc(count)
        READINGS_WRITTEN.inc(counts.get(SENSOR, 0))

    def _delete(self, op: Delete) -> None:
        where = " AND ".join(f'"{key}" = {influxql_string(value)}'
                             for key, value in sorted(op.tags.items())
                             if key in ("room_id", "alert_type", "component"))
        self.influx.query(
            f'DELETE FROM "{op.measurement}" WHERE {where} '
            f"AND time >= {op.time_ns} AND time <= {op.time_ns}", write=True, epoch=None)
