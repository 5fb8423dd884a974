"""Registry sync: rooms and locations from Zoom's REST API into the writer's registry.

Zoom's webhooks never say where a room is; ``GET /rooms`` does. A sync reads
every page of rooms and of locations, and the profile of each ``city`` (its
``basic.timezone``, which its buildings inherit), and appends them to the
spool as ONE ``zrmon.registry_snapshot`` record: the writer applies it in
spool order, atomically with its batch (:mod:`monitor.ingest.snapshot`), so
the registry keeps one owner and readings spooled after the snapshot carry
``building`` and ``floor``. A listing that fails part-way raises before
anything is spooled: a snapshot is always ``complete``, never a partial view
that would mark the unread rooms deleted.

Then one ``GET /rooms/{id}/devices`` per room feeds the inventory state file
(``state/zoom-inventory.json``) that the status page and ``zrmon zoom rooms
--cached`` read. The registry does not wait for it: the snapshot is spooled
first, so a devices call that fails costs the inventory, not the registry.

Running it twice changes nothing but the times: the second snapshot says the
same, reconciliation finds the incidents it opened already open.
See docs/zoom-api.md, "Registry sync".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.core import jsonutil
from monitor.core.config import Config
from monitor.ingest.snapshot import SNAPSHOT_EVENT
from monitor.store.lock import AlreadyRunningError, RoleLock
from monitor.store.spool import SpoolAppender
from monitor.zoom.client import ApiStats, ZoomApi
from monitor.zoom.errors import ZoomError, ZoomRequestError
from monitor.zoom.inventory import (
    InventoryRoom,
    inventory_document,
    inventory_path,
    location_path,
    read_inventory,
)
from monitor.zoom.models import Device, Location, Room
from monitor.zoom.onehost import OneHost

log = logging.getLogger("monitor.zoom.sync")

SYNC_ROLE = "zoom-sync"          # one syncing process per data directory (a role lock)
_CITY_TYPES = frozenset({"city", "cities"})
_NS_PER_MS = 1_000_000


@dataclass(frozen=True)
class Listing:
    """What one sync read: every room and location, and the cities' time zones."""

    rooms: tuple[Room, ...]
    locations: tuple[Location, ...]
    timezones: Mapping[str, str]          # city location id → IANA name


@dataclass(frozen=True)
class SyncResult:
    started_ns: int
    rooms: int
    locations: int
    timezones: int
    devices: int
    device_errors: int = 0               # rooms whose devices call Zoom refused (e.g. 404)

    def summary(self) -> str:
        more = f", devices of {self.device_errors} rooms not read" if self.device_errors else ""
        return (f"{self.rooms} rooms, {self.locations} locations ({self.timezones} time zones), "
                f"{self.devices} devices{more}")


def read_listing(api: ZoomApi) -> Listing:
    """All pages of rooms and locations, then each city's profile; raises on any failure."""
    rooms = tuple(sorted(api.rooms(), key=lambda room: room.id))
    locations = tuple(sorted(api.locations(), key=lambda location: location.id))
    timezones: dict[str, str] = {}
    for location in locations:
        if location.type.strip().lower() not in _CITY_TYPES:
            continue
        try:
            timezone = api.location(location.id).timezone
        except ZoomRequestError as exc:
            if exc.status != 404:       # removed since the listing: no time zone to keep
                raise
            continue
        if timezone:
            timezones[location.id] = timezone
    return Listing(rooms, locations, timezones)


def snapshot_event(listing: Listing, *, account_id: str, started_ns: int,
                   grace_s: float) -> dict[str, Any]:
    """The spool record :func:`monitor.ingest.snapshot.apply_snapshot` applies.

    Its time is the sync's START: anything a webhook said after that is newer than
    what the listing may have read, and wins.
    """
    rooms = [{"id": room.id, "room_id": room.room_id, "name": room.name,
              "location_id": room.location_id, "status": room.status}
             for room in listing.rooms if room.id]
    locations = [{"id": loc.id, "name": loc.name, "type": loc.type,
                  "parent_location_id": loc.parent_location_id,
                  "timezone": listing.timezones.get(loc.id, "")}
                 for loc in listing.locations if loc.id]
    return {"event": SNAPSHOT_EVENT, "event_ts": started_ns // _NS_PER_MS,
            "event_ts_ns": started_ns,
            "payload": {"account_id": account_id, "object": {
                "rooms": rooms, "locations": locations, "complete": True,
                "reconcile_grace_s": grace_s}}}


def read_devices(api: ZoomApi, rooms: Iterable[Room]) -> tuple[dict[str, tuple[Device, ...]],
                                                                 int]:
    """Each room's devices; a room Zoom answers 4xx for (deleted meanwhile) is left out."""
    found: dict[str, tuple[Device, ...]] = {}
    refused = 0
    for room in rooms:
        try:
            found[room.id] = tuple(api.devices(room.id))
        except ZoomRequestError as exc:
            refused += 1
            log.info("Zoom registry sync: devices of room %s not read: %s", room.id, exc)
    return found, refused


DEVICE_SHARE = 0.25   # of the daily budget, at most, for devices (one request per room)


def device_rooms_per_sync(config: Config) -> int:
    """How many rooms' devices one sync reads: at most a quarter of the day's budget.

    Listing rooms and locations costs one request per 300; devices cost one per room.
    Read for every room at every sync, 1,000 rooms hourly would take 24,000 of the
    default 30,000 requests a day, and 10,000 rooms more than the budget. So each sync
    refreshes the next rooms in turn (all of them, on a small account).
    """
    syncs_per_day = max(1.0, 86_400 / config.zoom_sync_interval_s())
    return max(1, int(config.zoom_daily_budget * DEVICE_SHARE / syncs_per_day))


def rotation(rooms: Sequence[Room], cursor: int, count: int) -> tuple[list[Room], int]:
    """The ``count`` rooms (by id) from ``cursor`` on, wrapping; and where the next starts."""
    ordered = sorted(rooms, key=lambda room: room.id)
    if not ordered:
        return [], 0
    start = cursor % len(ordered)
    if count >= len(ordered):
        return ordered, 0
    chosen = (ordered + ordered)[start:start + count]
    return chosen, (start + count) % len(ordered)


def previous_devices(state_dir: Path) -> tuple[dict[str, tuple[Device, ...]], int]:
    """Devices the last syncs read, and the rotation's cursor; nothing if unreadable."""
    from monitor.core.atomicfile import StateFileError
    from monitor.core.jsonutil import read_json_state

    try:
        _synced, rows = read_inventory(state_dir)
        document = read_json_state(inventory_path(state_dir), dict)
    except StateFileError as exc:
        log.warning("Zoom registry sync: %s; reading every room's devices again", exc)
        return {}, 0
    cursor = document.get("devices_cursor", 0) if isinstance(document, dict) else 0
    return ({row.room.id: row.devices for row in rows},
            cursor if isinstance(cursor, int) else 0)


class Syncer:
    """One client and one spool appender for repeated syncs of one data directory."""

    def __init__(self, config: Config, api: ZoomApi | None = None, *,
                 spool: SpoolAppender | None = None) -> None:
        self.config = config
        self.api = api or ZoomApi.from_config(config)
        self.spool = spool or SpoolAppender(config.spool_dir, fsync=config.spool_fsync,
                                            segment_bytes=config.spool_segment_bytes,
                                            max_bytes=config.spool_max_bytes)
        self._counted = ApiStats()

    def close(self) -> None:
        self.spool.close()
        self.api.close()

    def sync(self) -> SyncResult:
        """Read, spool the snapshot, then write the inventory; ZoomError when Zoom failed."""
        from monitor.core.metrics import ZOOM_SYNC_LAST_SUCCESS, ZOOM_SYNC_SEEN, ZOOM_SYNCS

        started_ns = time.time_ns()
        try:
            listing = read_listing(self.api)
            event = snapshot_event(listing, account_id=self.api.settings.account_id,
                                   started_ns=started_ns,
                                   grace_s=self.config.reconcile_grace_s())
            self.spool.append(jsonutil.dumps(event), time.time_ns())
            known, cursor = previous_devices(self.config.state_dir)
            chosen, cursor = rotation(listing.rooms, cursor, device_rooms_per_sync(self.config))
            devices, refused = read_devices(self.api, chosen)
            listed = {room.id for room in listing.rooms}
            merged = {room_id: found for room_id, found in known.items() if room_id in listed}
            merged.update(devices)
            self._write_inventory(listing, merged, started_ns, cursor)
        except Exception:
            ZOOM_SYNCS.labels(outcome="failed").inc()
            raise
        finally:
            self._count_requests()
        ZOOM_SYNCS.labels(outcome="ok").inc()
        ZOOM_SYNC_LAST_SUCCESS.set(started_ns / 1e9)
        ZOOM_SYNC_SEEN.labels(kind="rooms").set(len(listing.rooms))
        ZOOM_SYNC_SEEN.labels(kind="locations").set(len(listing.locations))
        return SyncResult(started_ns, len(listing.rooms), len(listing.locations),
                          len(listing.timezones), sum(len(d) for d in devices.values()),
                          refused)

    def _write_inventory(self, listing: Listing, devices: Mapping[str, tuple[Device, ...]],
                         started_ns: int, cursor: int) -> None:
        by_id = {location.id: location for location in listing.locations}
        rows = [InventoryRoom(room, location_path(room.location_id, by_id),
                              devices.get(room.id, ())) for room in listing.rooms]
        rows.sort(key=lambda r: (r.path_text, r.room.name, r.room.id))
        jsonutil.write_atomic(inventory_path(self.config.state_dir), inventory_document(
            rows, listing.locations, synced_ns=started_ns,
            account_id=self.api.settings.account_id, devices_cursor=cursor))

    def _count_requests(self) -> None:
        """The client's counters since the last sync, into ``zrmon_zoom_api_requests_total``."""
        from monitor.core.metrics import ZOOM_API_REQUESTS

        stats = self.api.stats
        for outcome, now, before in (
                ("answered", stats.requests, self._counted.requests),
                ("retried", stats.retries, self._counted.retries),
                ("throttled", stats.throttled, self._counted.throttled),
                ("token_renewed", stats.token_renewals, self._counted.token_renewals)):
            if now > before:
                ZOOM_API_REQUESTS.labels(outcome=outcome).inc(now - before)
        self._counted = ApiStats(stats.requests, stats.retries, stats.throttled,
                                 stats.token_renewals)


@dataclass
class SyncLoop:
    """The background thread of ``zrmon serve``'s writer (and of a ``zrmon scheduler`` on the
    writer's data directory): a sync at start, then one every ``ZRMON_ZOOM_SYNC_INTERVAL``.

    Only the holder of the ``zoom-sync`` role lock syncs, so a writer and a scheduler
    sharing a data directory never both spend the budget; the other one tries again
    each interval and takes over if the holder goes away. A failed sync is one log
    line and is tried again at the next interval: it never stops the process.
    """

    config: Config
    stop: threading.Event
    who: str = "writer"
    syncs: int = 0
    failures: int = 0
    _lock: RoleLock | None = field(default=None, repr=False)
    _syncer: Syncer | None = field(default=None, repr=False)
    _waiting_said: bool = field(default=False, repr=False)
    _hosts: OneHost = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._hosts = OneHost(self.config, SYNC_ROLE)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="zoom-sync", daemon=True)
        thread.start()
        return thread

    def run(self) -> None:
        interval = self.config.zoom_sync_interval_s()
        log.info("Zoom registry sync every %s (%s)", self.config.zoom_sync_interval, self.who)
        try:
            while not self.stop.is_set():
                if self._own_role():
                    self.once()
                if self.stop.wait(interval):
                    break
        finally:
            self.close()

    def close(self) -> None:
        if self._syncer is not None:
            self._syncer.close()
            self._syncer = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        self._hosts.close()

    def _own_role(self) -> bool:
        if self._lock is not None:
            return self._hosts.ours()
        try:
            self._lock = RoleLock(self.config.state_dir, SYNC_ROLE).acquire()
        except AlreadyRunningError as exc:
            if not self._waiting_said:
                log.info("Zoom registry sync left to the other process: %s", exc)
                self._waiting_said = True
            return False
        except OSError as exc:
            log.warning("Zoom registry sync: role lock not taken (next try in %s): %s",
                        self.config.zoom_sync_interval, exc)
            return False
        return self._hosts.ours()

    def once(self) -> SyncResult | None:
        """One sync; None when it failed (already logged, in one line)."""
        try:
            if self._syncer is None:
                self._syncer = Syncer(self.config)
            result = self._syncer.sync()
        except ZoomError as exc:
            self.failures += 1
            log.warning("Zoom registry sync failed (next try in %s): %s",
                        self.config.zoom_sync_interval, exc)
            return None
        except Exception as exc:   # a sync is never worth the writer: log and go on
            self.failures += 1
            log.error("Zoom registry sync failed (next try in %s): %s: %s",
                      self.config.zoom_sync_interval, type(exc).__name__, exc)
            return None
        self.syncs += 1
        log.info("Zoom registry sync: %s", result.summary())
        return result


def start_sync_loop(config: Config, stop: threading.Event, who: str) -> threading.Thread | None:
    """The loop's thread when all three Zoom credentials are set, else None."""
    if not config.zoom_enabled:
        return None
    return SyncLoop(config, stop, who).start()
