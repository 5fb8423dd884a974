"""Helpers for Zoom API tests: a client of a :class:`FakeZoom` with quick test settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from monitor.core.config import Config
from monitor.zoom.client import ZoomApi, ZoomSettings
from monitor.zoom.fake import FakeZoom

# Fast retries so a test of five failures takes a fraction of a second.
QUICK = {"rate": 20.0, "backoff_s": 0.02, "backoff_max_s": 0.1, "max_attempts": 4}


def settings_for(fake: FakeZoom, **overrides: Any) -> ZoomSettings:
    values: dict[str, Any] = {"account_id": fake.fleet.account_id,
                              "client_id": fake.options.client_id,
                              "client_secret": fake.options.client_secret,
                              "api_url": fake.api_url, "oauth_url": fake.oauth_url, **QUICK}
    values.update(overrides)
    return ZoomSettings(**values)


def make_api(fake: FakeZoom, *, budget_path: Path | None = None, **overrides: Any) -> ZoomApi:
    return ZoomApi(settings_for(fake, **overrides), budget_path=budget_path)


def zoom_env(fake: FakeZoom, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment ``zrmon zoom …`` reads to talk to ``fake``."""
    return {"ZOOM_ACCOUNT_ID": fake.fleet.account_id, "ZOOM_CLIENT_ID": fake.options.client_id,
            "ZOOM_CLIENT_SECRET": fake.options.client_secret, "ZRMON_ZOOM_API_URL": fake.api_url,
            "ZRMON_ZOOM_OAUTH_URL": fake.oauth_url, "ZRMON_ZOOM_RATE": "20",
            "ZRMON_DATA_DIR": str(data_dir), **extra}


def config_for(fake: FakeZoom, data_dir: Path) -> Config:
    return Config.from_env(zoom_env(fake, data_dir))


def statuses(fake: FakeZoom) -> list[int]:
    return [r.status for r in fake.api_requests()]
