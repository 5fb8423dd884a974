"""REST sensor readings into the spool as webhook events, and waiting for the writer.

The backfill and the gap fill (:mod:`monitor.zoom.backfill`, :mod:`monitor.zoom.gapfill`)
turn every page of ``GET /rooms/{roomId}/sensor_data`` into webhook-shaped
``zoomroom.sensor_data`` events, one per device and time, passed through the receiver's
own intake (:func:`monitor.webhooks.intake.parse_body` and
:func:`~monitor.webhooks.intake.prepare`, as ``zrmon quarantine replay`` does) and
appended to the spool, fsync'd. The writer maps them like any delivery: same series,
same timestamps, so a reading that came by webhook and by REST is one point, and a page
spooled twice changes nothing (the writer also skips the second copy by its digest).
Readings already in InfluxDB are not spooled again (:meth:`SpoolSink.stored`).

Once the events are spooled, :func:`spool_positions` and :func:`wait_drained` tell when
the writer has committed everything this process appended, so the rollups can follow.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.core import jsonutil
from monitor.core.config import Config
from monitor.core.timeutil import NS_PER_S, TimeParseError, iso_to_ns
from monitor.datamodel.influxql import influxql_ident, influxql_string
from monitor.datamodel.measurements import SENSOR, SENSOR_EVENT
from monitor.store.influx import InfluxClient
from monitor.store.quarantine import Quarantine
from monitor.store.spool import ACTIVE, SEALED, SpoolAppender, list_segments
from monitor.store.state import read_offsets
from monitor.webhooks.bounds import limits_of
from monitor.webhooks.intake import Intake, Privacy, parse_body, prepare
from monitor.webhooks.privacy import load_salt
from monitor.zoom.models import Room


def sensor_events(account_id: str, room_id: str, room_name: str,
                  items: Iterable[Mapping[str, Any]], fallback_ms: int) -> list[dict[str, Any]]:
    """REST items as webhook events: one per (device, time), readings in the API's order.

    Grouping by device and time is what makes the people count ride on every reading of
    the same moment, as it does in Zoom's own deliveries. ``event_ts`` is the readings'
    time, so the same readings always make the same event (and the same digest).
    """
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for item in items:
        device = str(item.get("device_id") or "")
        stamp = str(item.get("date_time") or "")
        groups.setdefault((device, stamp), []).append(
            {"date_time": item.get("date_time"), "sensor_type": item.get("sensor_type"),
             "sensor_value": item.get("sensor_value")})
    events = []
    for (device, stamp), readings in groups.items():
        try:
            event_ms = iso_to_ns(stamp) // 1_000_000
        except TimeParseError:
            event_ms = fallback_ms          # its readings are refused by the intake anyway
        obj: dict[str, Any] = {"id": room_id, "room_name": room_name, "sensor_data": readings}
        if device:
            obj["device_id"] = device
        events.append({"event": SENSOR_EVENT, "event_ts": event_ms,
                       "payload": {"account_id": account_id, "object": obj}})
    return events


@dataclass(frozen=True)
class Target:
    """A room to read: the id the API takes, and the name its readings are tagged with."""

    id: str
    room_id: str
    name: str

    @classmethod
    def of(cls, room: Room) -> Target:
        return cls(room.id, room.room_id, room.name)


class SpoolSink:
    """Webhook-shaped events through the receiver's intake into the spool, durably.

    Readings the intake refuses go to the quarantine (keyed, so spooling the same page
    again replaces the entry instead of adding one), as they would from a delivery.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.privacy = Privacy(load_salt(config),
                               config.store_visitor_pii)
        self.limits = limits_of(config)
        self.spool = SpoolAppender(config.spool_dir, fsync=True,
                                   segment_bytes=config.spool_segment_bytes,
                                   max_bytes=config.spool_max_bytes)
        self.quarantine = Quarantine(config.quarantine_dir)
        self.influx = InfluxClient(config, timeout=60.0)
        self.events = 0
        self.readings = 0

    def stored(self, target: Target, low_s: int, high_s: int) -> set[tuple[str, int]]:
        """(sensor type, time) of the room's readings already in InfluxDB, under either id.

        A reading a webhook stored before the registry knew the room's place has no
        building/floor tags; written again now it would land in a second series (tags
        are part of a point's identity). So what is there already is left as it is,
        and the backfill only adds what is missing: one query per room and window.
        """
        ids = " OR ".join(f'"room_id" = {influxql_string(room_id)}'
                          for room_id in dict.fromkeys((target.id, target.room_id)) if room_id)
        series = self.influx.query(
            f'SELECT "value", "sensor_type" FROM {influxql_ident(SENSOR)} WHERE ({ids}) '
            f"AND time >= {low_s * NS_PER_S} AND time < {high_s * NS_PER_S}", epoch="ns")
        return {(str(row[2]), int(row[0])) for one in series for row in one.values}

    def put(self, target: Target, items: Sequence[Mapping[str, Any]], fallback_ms: int,
            stored: set[tuple[str, int]] | None = None) -> int:
        """Spool ``items`` not yet ``stored``; returns once they are on disk (the checkpoint
        may follow). A moment is skipped only when every reading of it is stored, so a
        spooled reading always rides with its moment's people count."""
        items = _missing(items, stored or set())
        for event in sensor_events(self.config.zoom_account_id, target.id, target.name, items,
                                   fallback_ms):
            body = jsonutil.dumps(event)
            parsed = parse_body(body, self.limits, self.privacy)
            intake = parsed if isinstance(parsed, Intake) else prepare(parsed, self.privacy)
            received_ns = time.time_ns()
            if intake.spool_payload is not None:
                self.spool.append(intake.spool_payload, received_ns)
                self.events += 1
            key = hashlib.blake2b(body, digest_size=16).digest()
            for n, entry in enumerate(intake.quarantine):
                self.quarantine.add(entry.body, event=intake.event, reason=entry.reason,
                                    errors=entry.errors, received_ns=received_ns,
                                    key=key + bytes([n % 256]))
        self.readings += len(items)
        return len(items)

    def close(self) -> None:
        self.spool.close()


def _missing(items: Sequence[Mapping[str, Any]],
             stored: set[tuple[str, int]]) -> list[Mapping[str, Any]]:
    if not stored:
        return list(items)
    moments: dict[str, list[Mapping[str, Any]]] = {}
    for item in items:
        moments.setdefault(str(item.get("date_time") or ""), []).append(item)
    kept: list[Mapping[str, Any]] = []
    for stamp, readings in moments.items():
        try:
            at_ns = iso_to_ns(stamp)
        except TimeParseError:
            kept.extend(readings)           # refused by the intake, into quarantine
            continue
        if any((str(r.get("sensor_type") or ""), at_ns) not in stored for r in readings):
            kept.extend(readings)
    return kept


def spool_positions(spool_dir: Path, pid: int | None = None) -> dict[str, int]:
    """This process's spool segments and their sizes: where its appends end so far.

    Only this process appends to segments named with its pid, so once the writer's
    committed offset for each reaches the size seen here, everything appended before
    this call has been stored.
    """
    pid = os.getpid() if pid is None else pid
    out: dict[str, int] = {}
    for segment in list_segments(spool_dir):
        if segment.pid != pid:
            continue
        try:
            out[segment.stem] = segment.path.stat().st_size
        except FileNotFoundError:
            sealed = segment.path.with_suffix(SEALED)
            if sealed.exists():
                out[segment.stem] = sealed.stat().st_size
    return out


def drained(config: Config, positions: Mapping[str, int]) -> bool:
    """The writer has committed every record up to ``positions`` (or dropped the segment,
    which it does only once it is drained and sealed)."""
    offsets = read_offsets(config)
    for stem, end in positions.items():
        if offsets.get(stem, 0) >= end:
            continue
        if (config.spool_dir / (stem + ACTIVE)).exists() or \
                (config.spool_dir / (stem + SEALED)).exists():
            return False
    return True


def wait_drained(config: Config, positions: Mapping[str, int], timeout_s: float, *,
                 stop: threading.Event | None = None, poll_s: float = 0.2) -> bool:
    """True once :func:`drained`; False after ``timeout_s`` (or when ``stop`` is set)."""
    deadline = time.monotonic() + timeout_s
    while not drained(config, positions):
        if time.monotonic() >= deadline or (stop is not None and stop.is_set()):
            return False
        if stop is not None:
            stop.wait(poll_s)
        else:
            time.sleep(poll_s)
    return True
