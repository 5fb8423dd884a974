"""What the ingest benchmark sends: the secret, the rooms, the event shape, and progress lines.

The wrk load (bench/wrk_sensor.lua) and the lag probe send the same
``zoomroom.sensor_data`` events with 9 readings. Warm-up, saturation and paced
phase use room prefixes of their own (and each phase's probe a room of its own),
so (room, date_time) is distinct across the whole run.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from monitor.datamodel.measurements import SENSOR_EVENT
from monitor.datamodel.vocabulary import SENSOR_TYPES

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BIN = Path(sys.executable).parent

DB = "zoomrooms"
SECRET = "bench-secret-0123456789abcdef"
WEBHOOK_PATH = "/webhooks/zoom"
READINGS = len(SENSOR_TYPES)
ROOMS = 1000
LOAD_PREFIX = "bench-room-"
WARM_PREFIX = "warm-room-"
CHECK_PREFIX = "check-room-"
PACED_PREFIX = "paced-room-"
BASE_EPOCH = 1767225600          # 2026-01-01T00:00:00Z: readings at base + n seconds


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile; ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def finite(value: float | None, digits: int = 3) -> float | None:
    return None if value is None or math.isinf(value) else round(value, digits)


def iso(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sensor_event(room_id: str, epoch_s: int) -> bytes:
    """One event in the same shape the Lua script sends (used by the lag probe)."""
    stamp = iso(epoch_s)
    readings = [{"date_time": stamp, "sensor_type": kind, "sensor_value": f"{100 + i}.0"}
                for i, kind in enumerate(SENSOR_TYPES)]
    event = {"event": SENSOR_EVENT, "event_ts": epoch_s * 1000,
             "payload": {"account_id": "acct-bench",
                         "object": {"id": room_id, "room_name": "Lag Probe",
                                    "device_id": "dev-probe", "sensor_data": readings}}}
    return json.dumps(event, separators=(",", ":")).encode()
