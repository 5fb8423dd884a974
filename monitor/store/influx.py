"""A small client for the InfluxDB v1 HTTP API: ``/write``, ``/query``, ``/ping``.

Why not ``influxdb-client``: it speaks only the v2 API, which InfluxDB 1.x
lacks and InfluxDB 3 drops for queries. The v1 API is the one every
generation answers (2.x through its compatibility endpoints with a token),
so this is the only protocol the monitor speaks.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import urllib3

from monitor.core.config import Config
from monitor.core.errors import ServiceError


class InfluxError(ServiceError):
    """A request InfluxDB answered with an error, or could not be sent at all."""

    subject = "InfluxDB"

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def retryable(self) -> bool:
        """Outages and overload are worth retrying; a 4xx about the data is not."""
        return self.status is None or self.status >= 500 or self.status == 429

    @property
    def missing_database(self) -> bool:
        return self.status == 404 and "database not found" in str(self)


@dataclass(frozen=True)
class Series:
    name: str
    tags: dict[str, str]
    columns: list[str]
    values: list[list[Any]]

    def rows(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=False)) for row in self.values]


class CachedPing:
    """``InfluxClient.ping`` at most once a ``ttl_s``: a health checker polling hard must
    not load InfluxDB (``/readyz`` on the public and the admin listener)."""

    def __init__(self, influx: InfluxClient, ttl_s: float = 1.0) -> None:
        self.influx = influx
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._at: float | None = None
        self._ok = False

    def ok(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if self._at is None or now - self._at > self.ttl_s:
                self._ok, self._at = self.influx.ping(), now
            return self._ok


class InfluxClient:
    """One connection pool per process; create it after fork, never at import."""

    def __init__(self, config: Config, timeout: float = 10.0, maxsize: int = 4) -> None:
        self.base_url = config.influx_url.rstrip("/")
        self.database = config.influx_db
        self._timeout = urllib3.Timeout(connect=min(timeout, 3.0), read=timeout)
        headers = {}
        self._auth_params: dict[str, str] = {}
        if config.influx_token:
            headers["Authorization"] = f"Token {config.influx_token}"
        elif config.influx_username:
            self._auth_params = {"u": config.influx_username, "p": config.influx_password}
        self._http = urllib3.PoolManager(maxsize=maxsize, headers=headers, retries=False)

    def _request(self, method: str, path: str, fields: dict[str, str],
                 body: bytes | None = None) -> urllib3.BaseHTTPResponse:
        params = {**self._auth_params, **fields}
        try:
            if body is None:
                return self._http.request(method, self.base_url + path, fields=params,
                                          timeout=self._timeout)
            query = urlencode(params)
            return self._http.request(method, f"{self.base_url}{path}?{query}", body=body,
                                      timeout=self._timeout)
        except urllib3.exceptions.HTTPError as exc:
            raise InfluxError(f"InfluxDB unreachable at {self.base_url}: {exc}") from exc

    def ping(self) -> bool:
        """1.x and 2.x answer 204, 3.x answers 200 with a JSON body: any 2xx is alive."""
        try:
            return 200 <= self._request("GET", "/ping", {}).status < 300
        except InfluxError:
            return False

    def write(self, lines: bytes, precision: str = "ns") -> None:
        if not lines:
            return
        response = self._request("POST", "/write", {"db": self.database, "precision": precision},
                                 body=lines)
        if response.status != 204:
            raise InfluxError(_error_text(response), response.status)

    def query(self, q: str, *, epoch: str | None = "ms", write: bool = False,
              params: dict[str, Any] | None = None) -> list[Series]:
        """Run InfluxQL; statements that change data (DELETE, CREATE …) need ``write``."""
        fields = {"db": self.database, "q": q}
        if epoch:
            fields["epoch"] = epoch
        if params:
            fields["params"] = json.dumps(params)
        response = self._request("POST" if write else "GET", "/query", fields)
        if response.status != 200:
            raise InfluxError(_error_text(response), response.status)
        return _parse_results(response.data)

    def create_database(self) -> None:
        escaped = self.database.replace('"', '\\"')
        self.query(f'CREATE DATABASE "{escaped}"', write=True, epoch=None)


def _error_text(response: urllib3.BaseHTTPResponse) -> str:
    try:
        return str(json.loads(response.data).get("error", response.data[:500]))
    except (ValueError, AttributeError):
        return response.data[:500].decode("utf-8", "replace") or f"HTTP {response.status}"


def _parse_results(raw: bytes) -> list[Series]:
    document = json.loads(raw)
    out: list[Series] = []
    for result in document.get("results", []):
        if "error" in result:
            raise InfluxError(str(result["error"]), 400)
        for series in result.get("series", []):
            out.append(Series(series.get("name", ""), series.get("tags") or {},
                              series.get("columns", []), series.get("values", [])))
    return out
