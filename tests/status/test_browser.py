"""The status page in a real browser: headless Chromium against the admin listener.

Renders the seeded estate served by ``start_admin_server`` on a loopback port,
checks the DOM Chromium built lists every room, and that the screenshot shows
a page (many colours, the offline badge's red) rather than a blank or an error.
``ZRMON_UPDATE_SCREENSHOTS=1`` also copies the screenshot to
``docs/images/status-page.png`` for the README.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image
from support.estate import ROOMS, seed_estate
from support.paths import REPO

from monitor.core.config import Config
from monitor.runtime.adminserver import start_admin_server
from monitor.runtime.app import create_admin_app
from monitor.store.influx import InfluxClient
from monitor.store.influxd import free_port

CHROMIUM = Path("/usr/bin/chromium")
README_IMAGE = REPO / "docs" / "images" / "status-page.png"
OFFLINE_RED = (0xB4, 0x23, 0x18)          # --crit in the page's stylesheet

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Debian's chromium package is not installed")


@pytest.fixture
def page_url(config: Config, influx: InfluxClient) -> Iterator[str]:
    seed_estate(influx, time.time_ns())
    app = create_admin_app(config.with_(rules_dir=REPO / "rules"))
    port = free_port()
    server = start_admin_server(app, "127.0.0.1", port)
    yield f"http://127.0.0.1:{port}/"
    server.shutdown()
    server.server_close()


def chromium(tmp_path: Path, *args: str) -> str:
    """Run headless Chromium once with a private profile; its stdout."""
    home = tmp_path / "chromium-home"
    home.mkdir(exist_ok=True)
    command = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--no-first-run", "--disable-dev-shm-usage", "--window-size=1280,900",
               f"--user-data-dir={home / 'profile'}", *args]
    done = subprocess.run(command, env={**os.environ, "HOME": str(home)}, capture_output=True,
                          text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class RoomNames(HTMLParser):
    """Text of the ``th.room`` cells of the DOM Chromium rendered."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._inside = tag == "th" and dict(attrs).get("class") == "room"

    def handle_endtag(self, tag: str) -> None:
        self._inside = False

    def handle_data(self, data: str) -> None:
        if self._inside and data.strip():
            self.names.append(data.strip())


@pytest.mark.slow
def test_chromium_renders_the_seeded_rooms(page_url: str, tmp_path: Path) -> None:
    dom = chromium(tmp_path, "--dump-dom", page_url)
    parser = RoomNames()
    parser.feed(dom)
    assert sorted(parser.names) == sorted(room.name for room in ROOMS)
    assert parser.names[0] == "Denali"                        # the offline room comes first

    shot = tmp_path / "status-page.png"
    chromium(tmp_path, f"--screenshot={shot}", page_url)
    pixels = (image.imread(str(shot))[..., :3] * 255).round().astype(np.uint8)
    assert pixels.shape[:2] == (900, 1280)
    colours = np.unique(pixels.reshape(-1, 3), axis=0)
    assert len(colours) > 50, f"only {len(colours)} colours: a blank page?"
    red = np.all(pixels == np.array(OFFLINE_RED, dtype=np.uint8), axis=-1).sum()
    assert red > 200, "no offline badge in the screenshot"

    if os.environ.get("ZRMON_UPDATE_SCREENSHOTS") == "1":
        README_IMAGE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, README_IMAGE)
