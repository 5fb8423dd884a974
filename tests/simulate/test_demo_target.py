"""``make demo``'s wiring, read from ``make -n`` (the recipe as make would run it): the
simulator's Zoom API is up, and its settings exported, before the service starts; the
backfill runs once the first sync is in. A full run (embedded influxd on 8086, about
40 s) is described in docs/simulator.md."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from support.paths import REPO

pytestmark = pytest.mark.slow      # it starts processes


@pytest.fixture
def recipe(tmp_path: Path) -> str:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    # A copy of pyproject.toml older than the venv, so `venv` is up to date in the dry run.
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    os.utime(tmp_path / "pyproject.toml", (0, 0))
    done = subprocess.run([make, "-n", "-f", str(REPO / "Makefile"), "demo",
                           f"VENV={REPO / '.venv'}", "ZOOM_API_PORT=19999", "PORT=18888"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=30,
                          check=True)
    return re.sub(r"\\\n\s*", " ", done.stdout)     # one line per shell command


def _at(recipe: str, pattern: str) -> int:
    found = re.search(pattern, recipe)
    assert found is not None, f"{pattern!r} not in the demo recipe:\n{recipe}"
    return found.start()


def test_the_api_comes_first_then_the_service_then_sync_and_backfill(recipe: str) -> None:
    env = _at(recipe, r"zoom_env=\$\(\S+/zrmon simulate --api-port 19999 --print-api-env")
    exported = _at(recipe, r"export \$zoom_env")
    simulator = _at(recipe, r"zrmon simulate --url http://127\.0\.0\.1:18888/webhooks/zoom "
                            r"--wait-ready 60s\s+--api-port 19999 --rooms 20 --backfill 4h "
                            r"--api-history 1d")
    api_up = _at(recipe, r"create_connection\(\('127\.0\.0\.1', 19999\)")
    serve = _at(recipe, r"zrmon serve --host 127\.0\.0\.1 --port 18888")
    synced = _at(recipe, r"zrmon zoom rooms --cached")
    setup = _at(recipe, r"zrmon influx setup")
    backfill = _at(recipe, r"zrmon zoom backfill --from \$\(\( \$\(date \+%s\) - 86400 \)\)")
    assert env < exported < simulator < api_up < serve < synced < setup < backfill


def test_print_api_env_names_every_setting_the_service_needs() -> None:
    zrmon = REPO / ".venv" / "bin" / "zrmon"
    done = subprocess.run([str(zrmon), "simulate", "--api-port", "19999", "--print-api-env",
                           "--secret", "s"], capture_output=True, text=True, timeout=30,
                          check=True)
    env = dict(line.split("=", 1) for line in done.stdout.splitlines())
    assert set(env) == {"ZOOM_ACCOUNT_ID", "ZOOM_CLIENT_ID", "ZOOM_CLIENT_SECRET",
                        "ZRMON_ZOOM_API_URL", "ZRMON_ZOOM_OAUTH_URL"}
    assert env["ZRMON_ZOOM_API_URL"] == "http://127.0.0.1:19999/v2"
    assert env["ZRMON_ZOOM_OAUTH_URL"] == "http://127.0.0.1:19999/oauth/token"
    assert all(" " not in value for value in env.values())      # `export $zoom_env` splits
