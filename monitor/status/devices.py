"""Each room's devices for the status page, from the inventory file the registry sync writes.

Zoom's webhooks say nothing about a room's devices; ``GET /rooms/{id}/devices``
does, and each sync (:mod:`monitor.zoom.sync`) keeps the answer in
``state/zoom-inventory.json``. The page reads that file, not Zoom: a page view
never spends API budget. It is parsed again only when it changed. Where no
sync runs (a scheduler on its own volume) there is no file and no devices.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path

from monitor.core.atomicfile import StateFileError
from monitor.status.model import DeviceInfo

log = logging.getLogger("monitor.status")

Devices = Mapping[str, tuple[DeviceInfo, ...]]


class DeviceCache:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._lock = threading.Lock()
        self._signature: tuple[int, int] | None = None
        self._devices: Devices = {}

    def get(self) -> Devices:
        from monitor.zoom.inventory import inventory_path

        try:
            stat = inventory_path(self.state_dir).stat()
            signature = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            signature = (0, 0)
        with self._lock:
            if signature != self._signature:
                self._devices = _load(self.state_dir) if signature != (0, 0) else {}
                self._signature = signature
            return self._devices


def _load(state_dir: Path) -> Devices:
    """By both Zoom ids of each room: readings from before a sync may carry either."""
    from monitor.zoom.inventory import read_inventory

    try:
        _, rows = read_inventory(state_dir)
    except StateFileError as exc:
        log.warning("status page shows no devices: %s", exc)
        return {}
    out: dict[str, tuple[DeviceInfo, ...]] = {}
    for row in rows:
        devices = tuple(DeviceInfo(d.device_type, d.status, d.app_version) for d in row.devices)
        for room_id in (row.room.room_id, row.room.id):
            if room_id:
                out[room_id] = devices
    return out
