"""Benchmark the reports: 90 days x 200 rooms x 9 sensors of 5-minute readings.

Seeds a private influxd, builds the rollups the way production does (raw
readings + ``zrmon influx backfill``), or with ``--seed rollup`` writes the
hourly rollup directly and builds the daily one from it (minutes instead of tens
of minutes at full size), adds
a year of incidents and check-ins for a tenth of the rooms, then runs
``zrmon report air-quality`` and ``zrmon report uptime`` as child processes and
prints JSON: seconds per report, each child's peak RSS, influxd's, points seeded.

    .venv/bin/python bench/reports.py                       # full size: 200 rooms, 90 days
    .venv/bin/python bench/reports.py --rooms 20 --days 14  # CI size, ~1 minute
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import urllib3

from monitor.core.config import Config
from monitor.core.timeutil import NS_PER_S
from monitor.store.influx import InfluxClient
from monitor.store.influxd import LocalInfluxd
from monitor.store.retention import apply_setup, backfill, daily_select

HOUR = 3600 * NS_PER_S
DAY = 86400 * NS_PER_S
STEP = 300 * NS_PER_S
SENSORS = {"CO2": (750.0, 350.0), "TEMPERATURE": (22.0, 3.0), "HUMIDITY": (45.0, 14.0),
           "VOC": (300.0, 250.0), "AQI": (40.0, 20.0), "PM25": (9.0, 7.0),
           "PM10": (20.0, 15.0), "AIR_PRESSURE": (1013.0, 8.0),
           "REAL_TIME_PEOPLE_COUNT": (3.0, 3.0)}
BATCH = 100_000


def _rooms(count: int) -> list[str]:
    return [f"room_id=r{i:04d},room_name=Room\\ {i:04d},building=B{i % 5},floor=F{i % 7}"
            for i in range(count)]


def _value(sensor: str, room: int, t: int) -> float:
    """Deterministic, daily-periodic values with a room-specific offset."""
    centre, spread = SENSORS[sensor]
    phase = (t // STEP) % 288 / 288 * 2 * math.pi
    return round(centre + spread * math.sin(phase + room * 0.37), 1)


def _people(room: int, t: int) -> float:
    hour = (t // HOUR) % 24
    return float((room + hour) % 4) if 8 <= hour < 18 else 0.0


def raw_lines(rooms: int, start: int, days: int) -> Iterator[bytes]:
    tags = _rooms(rooms)
    batch: list[str] = []
    for t in range(start, start + days * DAY, STEP):
        for room, room_tags in enumerate(tags):
            people = _people(room, t)
            for sensor in SENSORS:
                batch.append(f"sensor,{room_tags},sensor_type={sensor} "
                             f"value={_value(sensor, room, t)},people={people} {t}")
            if len(batch) >= BATCH:
                yield "\n".join(batch).encode()
                batch = []
    if batch:
        yield "\n".join(batch).encode()


def rollup_lines(rooms: int, start: int, days: int) -> Iterator[bytes]:
    """The hourly rollup as the CQs would write it, computed here (``--seed rollup``)."""
    tags = _rooms(rooms)
    batch: list[str] = []
    for hour in range(start, start + days * DAY, HOUR):
        for room, room_tags in enumerate(tags):
            occupied = [t for t in range(hour, hour + HOUR, STEP) if _people(room, t) > 0]
            for sensor in SENSORS:
                values = [_value(sensor, room, t) for t in range(hour, hour + HOUR, STEP)]
                fields = (f"mean={sum(values) / 12},min={min(values)},max={max(values)},"
                          f"sum={sum(values)},count=12i")
                if occupied:
                    occ = [_value(sensor, room, t) for t in occupied]
                    fields += (f",occupied_mean={sum(occ) / len(occ)},occupied_min={min(occ)},"
                               f"occupied_max={max(occ)},occupied_sum={sum(occ)},"
                               f"occupied_count={len(occ)}i")
                batch.append(f"sensor_1h,{room_tags},sensor_type={sensor} {fields} {hour}")
            if len(batch) >= BATCH:
                yield "\n".join(batch).encode()
                batch = []
    if batch:
        yield "\n".join(batch).encode()


def event_lines(rooms: int, end: int) -> Iterator[bytes]:
    """A year of incidents (one every ~2 days per room) and check-ins for 10 % of rooms."""
    lines = []
    for room in range(rooms):
        for n in range(182):
            start = end - 365 * DAY + n * 2 * DAY + (room * 7919 % 86400) * NS_PER_S
            length = (room * 31 + n * 17) % 7200 * NS_PER_S + 60 * NS_PER_S
            alert, component = (("room_offline", "zoom_rooms_computer") if n % 3 == 0
                                else ("audio_video_device_disconnected", "camera"))
            tags = (f"room_incident,room_id=r{room:04d},alert_type=3,alert_name={alert},"
                    f"component=1,component_name={component},building=B{room % 5},"
                    f"floor=F{room % 7}")
            last = n == 181 and room % 10 == 0
            fields = (f'room_name="Room {room:04d}",start_ms={start // 1_000_000}i,'
                      + ("open=true" if last else
                         f"open=false,end_ms={(start + length) // 1_000_000}i,"
                         f"duration_s={length / NS_PER_S}"))
            lines.append(f"{tags} {fields} {start}")
        if room % 10 == 0:
            for day in range(90):
                at = end - (day + 1) * DAY + 10 * HOUR
                for event, offset in (("checked_in", 0), ("checked_out", 45 * 60 * NS_PER_S)):
                    lines.append(f"zoom_event,event=zoomroom.{event},room_id=r{room:04d} "
                                 f'title="{event}" {at + offset}')
    yield "\n".join(lines).encode()


def _write(client: InfluxClient, chunks: Iterator[bytes], rp: str | None = None) -> int:
    """Write batches; ``rp`` targets another retention policy (InfluxClient writes autogen)."""
    http = urllib3.PoolManager()
    points = 0
    for chunk in chunks:
        if rp is None:
            client.write(chunk)
        else:
            response = http.request("POST", f"{client.base_url}/write?db={client.database}"
                                    f"&rp={rp}", body=chunk)
            if response.status != 204:
                raise SystemExit(f"write failed: {response.data[:300]!r}")
        points += chunk.count(b"\n") + 1
    return points


def _daily_from_hourly(client: InfluxClient, start: int, end: int) -> float:
    """Build ``sensor_1d`` from the directly seeded hourly rollup, as its CQ would."""
    began = time.perf_counter()
    for low in range(start, end, 10 * DAY):
        statement = daily_select(client.database,
                                 f"time >= {low} AND time < {min(low + 10 * DAY, end)}")
        client.query(statement, write=True)
    return round(time.perf_counter() - began, 1)


def _run_report(config: Config, kind: str, start: str, end: str, out: Path) -> dict[str, float]:
    """One ``zrmon report`` child: wall seconds and its own peak RSS (``wait4``)."""
    env = {**os.environ, **config.to_env()}
    began = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "monitor.cli", "report", kind,
                              "--from", start, "--to", end, "--out", str(out)], env=env,
                             stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - began
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{kind} failed: {child.stderr.read().decode() if child.stderr else ''}")
    return {"seconds": round(seconds, 3), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "bytes": out.stat().st_size}


def _influxd_peak_mb(server: LocalInfluxd) -> float | None:
    if server.process is None:
        return None
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def _iso(ns: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ns / NS_PER_S))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=200)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", choices=("raw", "rollup"), default="raw")
    args = parser.parse_args()
    end = time.time_ns() // (DAY) * DAY
    start = end - args.days * DAY
    with tempfile.TemporaryDirectory(prefix="zrmon-bench-reports-") as tmp, \
            LocalInfluxd(Path(tmp) / "influxd") as server:
        config = Config(influx_url=server.url, influx_db="bench", raw_retention="INF",
                        rollup_retention="INF", rules_dir=Path(__file__).parents[1] / "rules")
        client = InfluxClient(config, timeout=3600.0)
        apply_setup(client, config)
        result: dict[str, object] = {"rooms": args.rooms, "days": args.days, "seed": args.seed}
        began = time.perf_counter()
        if args.seed == "raw":
            result["raw_points"] = _write(client, raw_lines(args.rooms, start, args.days))
            result["seed_s"] = round(time.perf_counter() - began, 1)
            began = time.perf_counter()
            result["rollup_points"] = backfill(client, start, end, chunk_s=86400)
            result["backfill_s"] = round(time.perf_counter() - began, 1)
        else:
            result["rollup_points"] = _write(client, rollup_lines(args.rooms, start, args.days),
                                             rp="rollup")
            result["daily_rollup_s"] = _daily_from_hourly(client, start, end)
            result["raw_points_equivalent"] = args.rooms * args.days * 288 * len(SENSORS)
            result["seed_s"] = round(time.perf_counter() - began, 1)
        result["event_points"] = _write(client, event_lines(args.rooms, end))
        iso = [_iso(ns) for ns in (start, end)]
        year = _iso(end - 365 * DAY)
        result["air_quality"] = _run_report(config, "air-quality", *iso, Path(tmp) / "air.html")
        result["uptime"] = _run_report(config, "uptime", year, iso[1], Path(tmp) / "up.html")
        result["influxd_peak_rss_mb"] = _influxd_peak_mb(server)
        print(json.dumps(result))


if __name__ == "__main__":
    main()
