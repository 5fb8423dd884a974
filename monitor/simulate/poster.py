"""Posting events to a receiver the way Zoom does: signed, retried, kept alive.

Each body is serialised once and signed like Zoom signs it (HMAC-SHA256 of
``v0:{timestamp}:{body}``, ``monitor.webhooks.signature.sign``). A small
thread pool shares one keep-alive connection pool, which is what lets a
backfill go as fast as the receiver acknowledges (its fsync per request is
the bottleneck, and concurrent requests share one flush).

Failures follow Zoom's own retry rules, with one addition for a tool a
person runs: a 401 stops everything at once with a sentence saying which
secret is wrong, instead of retrying a request that can never pass.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import urllib3

from monitor.core import jsonutil
from monitor.core.errors import ServiceError
from monitor.core.exitcodes import EXIT_USAGE
from monitor.webhooks.signature import sign

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_BACKOFF_S = 5.0
_SHOWN_REJECTIONS = 5


class PostError(ServiceError):
    """The receiver cannot take the events: the message says what to fix."""


class WrongSecretError(PostError):
    """401: the receiver refused our signature (the operator's secret is wrong)."""

    exit_code = EXIT_USAGE


@dataclass
class PostStats:
    posted: int = 0
    retries: int = 0
    rejected: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, *, posted: int = 0, retries: int = 0, rejected: int = 0) -> None:
        with self.lock:
            self.posted += posted
            self.retries += retries
            self.rejected += rejected


class Poster:
    """Signs and posts events to ``url``; ``post_many`` uses ``threads`` connections."""

    def __init__(self, url: str, secret: str, *, threads: int = 4, timeout_s: float = 10.0,
                 retry_for_s: float = 60.0, stop: threading.Event | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.url = url
        self.secret = secret.encode("utf-8")
        self.retry_for_s = retry_for_s
        self.stop = stop or threading.Event()
        self.clock = clock
        self.stats = PostStats()
        self._timeout = urllib3.Timeout(connect=min(timeout_s, 3.0), read=timeout_s)
        self._http = urllib3.PoolManager(maxsize=threads, block=True, retries=False)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="post")

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._http.clear()

    def post_many(self, events: Sequence[dict[str, Any]]) -> None:
        """Post concurrently; returns when all are acknowledged, raises the first failure."""
        for _ in self._pool.map(self.post, events):
            pass

    def post(self, event: dict[str, Any]) -> None:
        """One event until acknowledged; after a stop request, nothing more is sent."""
        if self.stop.is_set():
            return
        body = jsonutil.dumps(event)
        deadline = time.monotonic() + self.retry_for_s
        delay, attempt = 0.2, 0
        while True:
            status, text = self._send(body, attempt)
            if status == 200:
                self._accepted(event, text)
                return
            if status == 401:
                raise WrongSecretError(
                    f"{self.url} refused the signature (401: {_message(text)}): the secret "
                    "(--secret or ZOOM_WEBHOOK_SECRET_TOKEN) must be the receiver's")
            if status is not None and status not in RETRY_STATUSES:
                self._refused(event, status, text)
                return
            if self.stop.is_set() or time.monotonic() + delay > deadline:
                what = f"HTTP {status}: {_message(text)}" if status else text
                raise PostError(f"{self.url} did not accept events for "
                                f"{self.retry_for_s:.0f} s ({what})")
            self.stats.add(retries=1)
            self.stop.wait(delay)
            delay, attempt = min(MAX_BACKOFF_S, delay * 2), attempt + 1

    def _send(self, body: bytes, attempt: int) -> tuple[int | None, str]:
        """One request, signed now; ``(None, why)`` when there was no HTTP answer."""
        timestamp = str(int(self.clock()))
        headers = {"Content-Type": "application/json", "User-Agent": "zrmon-simulate",
                   "x-zm-request-timestamp": timestamp,
                   "x-zm-signature": sign(self.secret, timestamp, body)}
        if attempt:
            headers["x-zoom-retry-num"] = str(attempt)
        try:
            response = self._http.request("POST", self.url, body=body, headers=headers,
                                          timeout=self._timeout)
        except urllib3.exceptions.HTTPError as exc:
            return None, f"cannot connect: {exc}"
        return response.status, response.data.decode("utf-8", "replace")

    def _accepted(self, event: dict[str, Any], text: str) -> None:
        """200 is not always "stored": part of it may have been quarantined."""
        if _field(text, "status") not in ("accepted", None):
            self._refused(event, 200, text)
            return
        self.stats.add(posted=1)

    def _refused(self, event: dict[str, Any], status: int, text: str) -> None:
        """A simulator bug or a wrong URL: counted and shown, then the run goes on."""
        if status in (404, 405):
            raise PostError(f"{self.url} answered {status}: is it the receiver's "
                            "/webhooks/zoom URL?")
        self.stats.add(rejected=1)
        if self.stats.rejected <= _SHOWN_REJECTIONS:
            log.warning("receiver refused %s (HTTP %s): %s", event.get("event"), status,
                        text[:300])


def _field(text: str, key: str) -> str | None:
    try:
        data = jsonutil.loads(text)
    except ValueError:
        return None
    value = data.get(key) if isinstance(data, dict) else None
    return None if value is None else str(value)


def _message(text: str) -> str:
    return _field(text, "message") or text[:200] or "no body"


def ready_url(webhook_url: str) -> str:
    """``http://host:port/webhooks/zoom`` → ``http://host:port/readyz``."""
    parts = urlsplit(webhook_url)
    return urlunsplit((parts.scheme, parts.netloc, "/readyz", "", ""))


def wait_ready(webhook_url: str, timeout_s: float, stop: threading.Event) -> None:
    """Until the receiver's ``/readyz`` answers 200 (InfluxDB up, spool writable)."""
    url = ready_url(webhook_url)
    http = urllib3.PoolManager(retries=False)
    deadline = time.monotonic() + timeout_s
    why = "no answer"
    while not stop.is_set():
        try:
            response = http.request("GET", url, timeout=2.0)
            if response.status == 200:
                return
            why = f"HTTP {response.status}"
        except urllib3.exceptions.HTTPError as exc:
            why = str(exc)
        if time.monotonic() > deadline:
            raise PostError(f"{url} not ready after {timeout_s:.0f} s ({why})")
        stop.wait(0.5)
