"""HTTP delivery shared by the JSON channels (Slack, Teams, webhook) and the heartbeat.

One POST per attempt through the shared pool: a short timeout, no redirects
followed, the status code alone decides success, retry or give up, and error
texts never contain the channel URL — for Slack and Teams the URL *is* the
credential. The schema field :func:`http_url` is here too, so every kind
that posts accepts the same URLs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import urllib3
from marshmallow import fields

from monitor.notify.channels.kind import DeliveryError
from monitor.notify.message import Notification

HTTP_TIMEOUT = urllib3.Timeout(connect=5.0, read=10.0)
USER_AGENT = "zoom-rooms-monitor/1 (+notifications)"
_ERROR_BODY_CHARS = 200


def http_url() -> fields.Url:
    """A required ``url:`` key: http or https only (a host without a TLD is fine)."""
    return fields.Url(required=True, schemes={"http", "https"}, require_tld=False,
                      error_messages={"invalid": "must be an http(s) URL"})


class JsonPoster:
    """POST a JSON payload; the status code alone decides success, retry or give up."""

    def __init__(self, pool: urllib3.PoolManager, url: str,
                 payload: Callable[[Notification], dict[str, Any]],
                 headers: Mapping[str, str] | None = None, *,
                 idempotency_key: bool = False) -> None:
        self.pool = pool
        self.url = url
        self.payload = payload
        self.headers = dict(headers or {})
        self.idempotency_key = idempotency_key

    def __call__(self, notification: Notification) -> None:
        headers = dict(self.headers)
        if self.idempotency_key:
            headers["Idempotency-Key"] = notification.id
        post_json(self.pool, self.url, self.payload(notification), headers)


def post_json(pool: urllib3.PoolManager, url: str, payload: Mapping[str, Any],
              headers: Mapping[str, str] | None = None) -> None:
    """One POST of ``payload`` as JSON; :class:`DeliveryError` (URL redacted) unless 2xx.

    Shared by the JSON channels and the heartbeat, so both time out, refuse
    redirects and keep URLs out of errors the same way.
    """
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    sent = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
            **(headers or {})}

    def redact(message: str) -> str:
        return redact_url(message, url)

    try:
        response = pool.request("POST", url, body=body, headers=sent,
                                timeout=HTTP_TIMEOUT, retries=False, redirect=False)
    except urllib3.exceptions.HTTPError as exc:
        raise DeliveryError(redact(f"{type(exc).__name__}: {exc}")) from None
    _check_status(response.status, response.data, response.headers.get("Retry-After"), redact)


def redact_url(message: str, url: str) -> str:
    """Strip the URL's path and query (the secret part of Slack/Teams webhook URLs)."""
    parsed = urllib3.util.parse_url(url)
    for secret in (url, parsed.request_uri if parsed.path else ""):
        if secret and secret != "/":
            message = message.replace(secret, "<url>")
    return message


def _check_status(status: int, data: bytes, retry_after: str | None,
                  redact: Callable[[str], str]) -> None:
    if 200 <= status < 300:
        return
    detail = data[:_ERROR_BODY_CHARS].decode("utf-8", "replace").strip()
    message = redact(f"HTTP {status}" + (f": {' '.join(detail.split())}" if detail else ""))
    if status == 429 or status >= 500:
        raise DeliveryError(message, retry_after_s=_seconds(retry_after))
    # 4xx: the request itself is wrong (revoked webhook, bad token, payload refused);
    # 3xx: a webhook URL that redirects is misconfigured — never re-POST blindly.
    raise DeliveryError(message, permanent=True)


def _seconds(retry_after: str | None) -> float | None:
    """Retry-After in its delta-seconds form; the rare HTTP-date form is ignored."""
    if retry_after is None:
        return None
    try:
        value = float(retry_after.strip())
    except ValueError:
        return None
    return value if value >= 0 else None
