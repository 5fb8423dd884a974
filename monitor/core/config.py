"""Configuration, read once from the environment and passed in explicitly.

Every process (gunicorn workers, the writer, the CLI) builds a ``Config``
from the same variables, so there is one place that knows their names,
defaults and how a bad value is reported: exit code 2 and one line that
names the variable.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from monitor.core.errors import UsageError

MiB = 1024 * 1024
MAX_JSON_DEPTH = 255


class ConfigError(UsageError):
    """A missing or invalid setting; ``variable`` is the environment name to fix."""

    subject = "configuration error"

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(f"{variable}: {message}")
        self.variable = variable


@dataclass(frozen=True)
class Config:
    secret_token: str = field(default="", metadata={"env": "ZOOM_WEBHOOK_SECRET_TOKEN"})
    influx_url: str = field(default="http://127.0.0.1:8086", metadata={"env": "ZRMON_INFLUX_URL"})
    influx_db: str = field(default="zoomrooms", metadata={"env": "ZRMON_INFLUX_DB"})
    influx_token: str = field(default="", metadata={"env": "ZRMON_INFLUX_TOKEN"})
    influx_username: str = field(default="", metadata={"env": "ZRMON_INFLUX_USERNAME"})
    influx_password: str = field(default="", metadata={"env": "ZRMON_INFLUX_PASSWORD"})
    data_dir: Path = field(default=Path("./var"), metadata={"env": "ZRMON_DATA_DIR"})
    timestamp_window_s: int = field(default=300, metadata={"env": "ZRMON_TIMESTAMP_WINDOW_S"})
    retry_window_s: int = field(default=7200, metadata={"env": "ZRMON_RETRY_WINDOW_S"})
    max_body_bytes: int = field(default=1 * MiB, metadata={"env": "ZRMON_MAX_BODY_BYTES"})
    # What one parsed body may cost (monitor/webhooks/bounds.py, docs/ingest.md).
    max_json_depth: int = field(default=32, metadata={"env": "ZRMON_MAX_JSON_DEPTH"})
    max_json_items: int = field(default=5_000, metadata={"env": "ZRMON_MAX_JSON_ITEMS"})
    max_json_nodes: int = field(default=20_000, metadata={"env": "ZRMON_MAX_JSON_NODES"})
    max_string_bytes: int = field(default=65_536, metadata={"env": "ZRMON_MAX_STRING_BYTES"})
    # Secret rotation: Zoom's previous token is still accepted until this ISO-8601 time.
    previous_secret_token: str = field(default="",
                                       metadata={"env": "ZOOM_WEBHOOK_SECRET_TOKEN_PREVIOUS"})
    previous_secret_until: str = field(default="",
                                       metadata={"env": "ZRMON_PREVIOUS_SECRET_UNTIL"})
    spool_max_bytes: int = field(default=1024 * MiB, metadata={"env": "ZRMON_SPOOL_MAX_BYTES"})
    spool_segment_bytes: int = field(default=16 * MiB,
                                     metadata={"env": "ZRMON_SPOOL_SEGMENT_BYTES"})
    spool_fsync: bool = field(default=True, metadata={"env": "ZRMON_SPOOL_FSYNC"})
    # /readyz turns 503 below this much free space on the data directory's file system,
    # before a full disk makes deliveries fail (docs/ingest.md, "Disk").
    min_free_bytes: int = field(default=256 * MiB, metadata={"env": "ZRMON_MIN_FREE_BYTES"})
    store_visitor_pii: bool = field(default=False, metadata={"env": "ZRMON_STORE_VISITOR_PII"})
    hash_salt: str = field(default="", metadata={"env": "ZRMON_HASH_SALT"})
    writer_batch_events: int = field(default=2000, metadata={"env": "ZRMON_WRITER_BATCH_EVENTS"})
    writer_poll_s: float = field(default=0.05, metadata={"env": "ZRMON_WRITER_POLL_S"})
    writer_linger_s: float = field(default=0.2, metadata={"env": "ZRMON_WRITER_LINGER_S"})
    # How long the writer waits for one InfluxDB answer before it retries the batch.
    writer_timeout_s: float = field(default=30.0, metadata={"env": "ZRMON_WRITER_TIMEOUT_S"})
    dedupe_window_s: int = field(default=3 * 86400, metadata={"env": "ZRMON_DEDUPE_WINDOW_S"})
    rules_dir: Path = field(default=Path("rules"), metadata={"env": "ZRMON_RULES_DIR"})
    # False: `zrmon serve` only receives (another process, `zrmon scheduler`, evaluates).
    evaluate: bool = field(default=True, metadata={"env": "ZRMON_EVALUATE"})
    # How often the writer records the receiver's own counters (measurement zrmon_receiver).
    receiver_stats_s: float = field(default=60.0, metadata={"env": "ZRMON_RECEIVER_STATS_S"})
    # InfluxDB retention (``zrmon influx setup``, docs/retention.md): raw readings in
    # ``autogen``, the 5m/1h rollups in ``rollup``. InfluxQL durations, or INF.
    raw_retention: str = field(default="30d", metadata={"env": "ZRMON_RAW_RETENTION"})
    rollup_retention: str = field(default="400d", metadata={"env": "ZRMON_ROLLUP_RETENTION"})
    # Zoom REST API (docs/zoom-api.md): Server-to-Server OAuth credentials, all three or none.
    # The secret stays out of repr() so a logged Config never shows it.
    zoom_account_id: str = field(default="", metadata={"env": "ZOOM_ACCOUNT_ID"})
    zoom_client_id: str = field(default="", metadata={"env": "ZOOM_CLIENT_ID"})
    zoom_client_secret: str = field(default="", repr=False,
                                    metadata={"env": "ZOOM_CLIENT_SECRET"})
    zoom_api_url: str = field(default="https://api.zoom.us/v2",
                              metadata={"env": "ZRMON_ZOOM_API_URL"})
    zoom_oauth_url: str = field(default="https://zoom.us/oauth/token",
                                metadata={"env": "ZRMON_ZOOM_OAUTH_URL"})
    # Requests per second and per UTC day this monitor allows itself: every app on the
    # account shares Zoom's limits (Medium: 20/s on Pro), so the default stays well under.
    zoom_rate: float = field(default=5.0, metadata={"env": "ZRMON_ZOOM_RATE"})
    zoom_daily_budget: int = field(default=30_000, metadata={"env": "ZRMON_ZOOM_DAILY_BUDGET"})
    zoom_sync_interval: str = field(default="1h", metadata={"env": "ZRMON_ZOOM_SYNC_INTERVAL"})
    # How long Zoom must report an offline room available before reconciliation closes
    # its open offline incident (a lost clear); docs/zoom-api.md, "Registry sync".
    reconcile_grace: str = field(default="10m", metadata={"env": "ZRMON_RECONCILE_GRACE"})
    # Gap fill (docs/zoom-api.md, "Gap fill"): every interval ("off": never) the writer looks
    # back this far for a room's readings stopping longer than the minimum gap while it was
    # not offline, leaving out the last "settle" (Zoom may still retry those deliveries).
    zoom_gap_fill_interval: str = field(default="15m",
                                        metadata={"env": "ZRMON_ZOOM_GAP_FILL_INTERVAL"})
    zoom_gap_min: str = field(default="15m", metadata={"env": "ZRMON_ZOOM_GAP_MIN"})
    zoom_gap_lookback: str = field(default="7d", metadata={"env": "ZRMON_ZOOM_GAP_LOOKBACK"})
    zoom_gap_settle: str = field(default="2h", metadata={"env": "ZRMON_ZOOM_GAP_SETTLE"})
    # Shared state (docs/ha.md): empty keeps it in the state directory's SQLite files;
    # ``postgresql://…`` shares it between replicas. It may hold a password: not in repr().
    state_url: str = field(default="", repr=False, metadata={"env": "ZRMON_STATE_URL"})
    # This replica's name in the shared state (its spool offsets); default: an id made once
    # and kept in the data directory, beside the spool it names.
    replica: str = field(default="", metadata={"env": "ZRMON_REPLICA"})

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Config:
        """Defaults, then the environment, then explicit overrides (CLI flags)."""
        source = os.environ if env is None else env
        values: dict[str, Any] = {}
        for spec in fields(cls):
            name = spec.metadata["env"]
            raw = source.get(name)
            if raw is not None and raw != "":
                values[spec.name] = _coerce(name, spec.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        config = cls(**values)
        config.check()
        return config

    def to_env(self) -> dict[str, str]:
        """The same settings as environment variables, for the processes we start."""
        out = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            out[spec.metadata["env"]] = (("true" if value else "false")
                                         if isinstance(value, bool) else str(value))
        return out

    def with_(self, **changes: Any) -> Config:
        return replace(self, **changes)

    def check(self) -> None:
        parsed = urlparse(self.influx_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigError("ZRMON_INFLUX_URL", f"not an http(s) URL: {self.influx_url!r}")
        if not self.influx_db:
            raise ConfigError("ZRMON_INFLUX_DB", "must not be empty")
        if bool(self.influx_username) != bool(self.influx_password):
            raise ConfigError(
                "ZRMON_INFLUX_PASSWORD" if self.influx_username else "ZRMON_INFLUX_USERNAME",
                "username and password must be set together",
            )
        _check_retention("ZRMON_RAW_RETENTION", self.raw_retention)
        self.previous_secret_until_s()
        if self.max_json_depth > MAX_JSON_DEPTH:
            raise ConfigError("ZRMON_MAX_JSON_DEPTH", f"at most {MAX_JSON_DEPTH} (what orjson "
                                                      f"can write back), got {self.max_json_depth}")
        _check_retention("ZRMON_ROLLUP_RETENTION", self.rollup_retention)
        self._check_zoom()
        if self.state_url and urlparse(self.state_url).scheme not in ("postgresql", "postgres"):
            raise ConfigError("ZRMON_STATE_URL", "not a postgresql:// URL (leave it empty for "
                                                 "the state directory's SQLite files)")
        for spec in fields(self):
            value = getattr(self, spec.name)
            if isinstance(value, int | float) and not isinstance(value, bool) and value <= 0:
                raise ConfigError(spec.metadata["env"], f"must be positive, got {value}")

    def _check_zoom(self) -> None:
        """Partial credentials are a typo, not a choice: name the one that is missing."""
        credentials = self.zoom_credentials()
        if any(value for _, value in credentials):
            for variable, value in credentials:
                if not value:
                    raise ConfigError(variable, "is required with the other Zoom API "
                                                "credentials (ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, "
                                                "ZOOM_CLIENT_SECRET)")
        for variable, url in (("ZRMON_ZOOM_API_URL", self.zoom_api_url),
                              ("ZRMON_ZOOM_OAUTH_URL", self.zoom_oauth_url)):
            parsed = urlparse(url)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise ConfigError(variable, f"not an http(s) URL: {url!r}")
        self.zoom_sync_interval_s()
        self.reconcile_grace_s()
        self.zoom_gap_settings()

    def zoom_credentials(self) -> tuple[tuple[str, str], ...]:
        return (("ZOOM_ACCOUNT_ID", self.zoom_account_id),
                ("ZOOM_CLIENT_ID", self.zoom_client_id),
                ("ZOOM_CLIENT_SECRET", self.zoom_client_secret))

    @property
    def zoom_enabled(self) -> bool:
        """All three credentials set (``check`` refuses some but not all)."""
        return all(value for _, value in self.zoom_credentials())

    def require_zoom(self) -> None:
        for variable, value in self.zoom_credentials():
            if not value:
                raise ConfigError(variable, "is required to read the Zoom REST API "
                                            "(Server-to-Server OAuth app, docs/zoom-api.md)")

    def zoom_sync_interval_s(self) -> float:
        from monitor.core.durations import seconds_or_duration

        try:
            seconds = seconds_or_duration(self.zoom_sync_interval)
        except ValueError as exc:
            raise ConfigError("ZRMON_ZOOM_SYNC_INTERVAL", str(exc)) from None
        if seconds < 1:
            raise ConfigError("ZRMON_ZOOM_SYNC_INTERVAL",
                              f"must be at least 1s, got {self.zoom_sync_interval!r}")
        return seconds

    def zoom_gap_settings(self) -> tuple[float | None, float, float, float]:
        """Gap fill's interval (None: off), minimum gap, look-back and settle, in seconds."""
        from monitor.core.durations import seconds_or_duration

        out: list[float] = []
        for variable, text in (("ZRMON_ZOOM_GAP_FILL_INTERVAL", self.zoom_gap_fill_interval),
                               ("ZRMON_ZOOM_GAP_MIN", self.zoom_gap_min),
                               ("ZRMON_ZOOM_GAP_LOOKBACK", self.zoom_gap_lookback),
                               ("ZRMON_ZOOM_GAP_SETTLE", self.zoom_gap_settle)):
            if variable == "ZRMON_ZOOM_GAP_FILL_INTERVAL" and text.strip().lower() == "off":
                out.append(0.0)
                continue
            try:
                out.append(seconds_or_duration(text))
            except ValueError as exc:
                raise ConfigError(variable, str(exc)) from None
        interval, minimum, lookback, settle = out
        if minimum < 1 or lookback <= minimum:
            raise ConfigError("ZRMON_ZOOM_GAP_LOOKBACK" if minimum >= 1 else "ZRMON_ZOOM_GAP_MIN",
                              "the minimum gap must be at least 1s and shorter than the "
                              "look-back")
        return (interval or None), minimum, lookback, settle

    def reconcile_grace_s(self) -> float:
        from monitor.core.durations import seconds_or_duration

        try:
            return seconds_or_duration(self.reconcile_grace)
        except ValueError as exc:
            raise ConfigError("ZRMON_RECONCILE_GRACE", str(exc)) from None

    def require_secret(self) -> None:
        if not self.secret_token:
            raise ConfigError("ZOOM_WEBHOOK_SECRET_TOKEN",
                              "is required to verify Zoom's signatures")

    def previous_secret_until_s(self) -> float | None:
        """End of the rotation overlap (Unix seconds); None without a previous token.

        A previous token without an end would stay valid forever once forgotten,
        so it is refused; so is a time without a zone, which reads differently
        on every host.
        """
        if not self.previous_secret_token:
            return None
        variable = "ZRMON_PREVIOUS_SECRET_UNTIL"
        if not self.previous_secret_until:
            raise ConfigError(variable, "is required with ZOOM_WEBHOOK_SECRET_TOKEN_PREVIOUS "
                                        "(when the previous token stops being accepted)")
        try:
            until = datetime.fromisoformat(self.previous_secret_until.strip())
        except ValueError:
            raise ConfigError(variable, f"not an ISO-8601 time: {self.previous_secret_until!r}"
                                        " (write e.g. 2026-12-03T12:00:00Z)") from None
        if until.tzinfo is None:
            raise ConfigError(variable,
                              f"needs a time zone, e.g. Z: {self.previous_secret_until!r}")
        return until.timestamp()

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"

    @property
    def state_dir(self) -> Path:
        return self.data_dir / "state"

    def replica_id(self) -> str:
        """``ZRMON_REPLICA``, or the id this data directory was given the first time asked."""
        if self.replica:
            return self.replica
        path = self.state_dir / "replica-id"
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            pass
        import secrets

        from monitor.core.atomicfile import create_exclusive

        self.state_dir.mkdir(parents=True, exist_ok=True)
        create_exclusive(path, f"{socket.gethostname()}-{secrets.token_hex(4)}\n".encode())
        return path.read_text().strip()      # the first process's id wins


def retention_seconds(text: str) -> int | None:
    """Seconds of an InfluxQL retention duration (``30d``, ``52w``, ``720h``); None for INF.

    The grammar is :mod:`monitor.core.durations`'; InfluxQL adds that a retention
    is one whole number of minutes, hours, days or weeks, as the text goes to
    ``CREATE RETENTION POLICY`` verbatim.
    """
    from monitor.core.durations import UNIT_S, duration_parts

    if text.strip().upper() == "INF":
        return None
    try:
        parts = duration_parts(text)
    except ValueError:
        parts = []
    if len(parts) != 1 or not parts[0][0].isdigit() or parts[0][1] not in {"w", "d", "h", "m"}:
        raise ValueError(f"not a retention duration: {text!r} (write e.g. 30d, 52w, 720h or INF)")
    amount, unit = parts[0]
    return int(amount) * int(UNIT_S[unit])


def _check_retention(variable: str, text: str) -> None:
    """InfluxDB refuses retention below one hour; say so before it does, naming the variable."""
    try:
        seconds = retention_seconds(text)
    except ValueError as exc:
        raise ConfigError(variable, str(exc)) from None
    if seconds is not None and seconds < 3600:
        raise ConfigError(variable, f"must be at least 1h (InfluxDB's minimum), got {text!r}")


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _coerce(name: str, kind: Any, raw: str) -> Any:
    kind = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    try:
        if kind == "bool":
            lowered = raw.strip().lower()
            if lowered in _TRUE | _FALSE:
                return lowered in _TRUE
            raise ValueError("expected true or false")
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "Path":
            return Path(raw)
    except ValueError as exc:
        raise ConfigError(name, f"invalid value {raw!r} ({exc})") from exc
    return raw
