"""Send one notification over one channel, and say whether a failure is worth retrying.

The outbox owns retries; a sender makes exactly one attempt and raises
:class:`DeliveryError` with ``permanent=True`` when repeating the same
request cannot help (a 4xx other than 429, an SMTP 5xx, a server that
refuses STARTTLS). Everything else — 5xx, 429, timeouts, refused
connections — is retried with back-off.

Error texts are stored and logged, so they never contain the channel URL:
for Slack and Teams the URL *is* the credential.
"""

from __future__ import annotations

import base64
import json
import logging
import smtplib
import ssl
from collections.abc import Callable, Mapping
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import urllib3

from monitor.notify import render
from monitor.notify.channels import (
    Channel,
    EmailChannel,
    LogChannel,
    SlackChannel,
    TeamsChannel,
    WebhookChannel,
)
from monitor.notify.message import Notification

log = logging.getLogger("monitor.notify")

HTTP_TIMEOUT = urllib3.Timeout(connect=5.0, read=10.0)
USER_AGENT = "zoom-rooms-monitor/1 (+notifications)"
_ERROR_BODY_CHARS = 200


class DeliveryError(Exception):
    """One failed attempt; ``retry_after_s`` is the server's own hint (HTTP 429/503)."""

    def __init__(self, message: str, *, permanent: bool = False,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after_s = retry_after_s


Sender = Callable[[Notification], None]
"""Delivers one notification or raises :class:`DeliveryError`."""


def build_senders(channels: Mapping[str, Channel], *,
                  http: urllib3.PoolManager | None = None) -> dict[str, Sender]:
    """A sender per channel; HTTP channels share one pool (made here, not at import)."""
    pool = http or urllib3.PoolManager(num_pools=8, maxsize=2, retries=False)
    return {name: _sender(channel, pool) for name, channel in channels.items()}


def _sender(channel: Channel, pool: urllib3.PoolManager) -> Sender:
    if isinstance(channel, SlackChannel):
        return JsonPoster(pool, channel.url, render.slack_payload)
    if isinstance(channel, TeamsChannel):
        card = channel.card
        return JsonPoster(pool, channel.url, lambda n: render.teams_payload(n, card))
    if isinstance(channel, WebhookChannel):
        return JsonPoster(pool, channel.url, render.webhook_payload, channel.headers,
                          idempotency_key=True)
    if isinstance(channel, EmailChannel):
        return EmailSender(channel)
    assert isinstance(channel, LogChannel)
    return LogSender()


class LogSender:
    """Problems at WARNING, resolves at INFO, so a quiet log level still shows what fires."""

    def __call__(self, notification: Notification) -> None:
        level = logging.INFO if notification.kind == "resolved" else logging.WARNING
        log.log(level, "%s", render.text(notification).rstrip("\n"),
                extra={"notification_id": notification.id, "channel": notification.channel})


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


class EmailSender:
    """One SMTP session per message: STARTTLS or implicit TLS, then AUTH, when configured."""

    def __init__(self, channel: EmailChannel) -> None:
        self.channel = channel

    def __call__(self, notification: Notification) -> None:
        message = email_message(notification, self.channel)
        try:
            refused = self._send(message)
        except smtplib.SMTPNotSupportedError as exc:      # e.g. no STARTTLS: never go plain
            raise DeliveryError(f"SMTP: {exc}", permanent=True) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(f"SMTP: all recipients refused: {exc.recipients}",
                                permanent=all(code >= 500 for code in codes)) from None
        except smtplib.SMTPResponseException as exc:
            reply = exc.smtp_error.decode("utf-8", "replace") \
                if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
            raise DeliveryError(f"SMTP {exc.smtp_code}: {reply}",
                                permanent=exc.smtp_code >= 500) from None
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(f"SMTP TLS: {exc.verify_message or exc}",
                                permanent=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP: {type(exc).__name__}: {exc}") from None
        if refused:
            log.warning("notification %s: some recipients refused: %s", notification.id,
                        refused)

    def _send(self, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
        channel = self.channel
        context = ssl.create_default_context(cafile=channel.ca_file)
        client: smtplib.SMTP
        if channel.ssl:
            client = smtplib.SMTP_SSL(channel.host, channel.port, timeout=channel.timeout_s,
                                      context=context)
        else:
            client = smtplib.SMTP(channel.host, channel.port, timeout=channel.timeout_s)
        with client:
            if channel.starttls:
                client.starttls(context=context)
            if channel.username:
                _login(client, channel.username, channel.password)
            return client.send_message(message)


def _login(client: smtplib.SMTP, username: str, password: str) -> None:
    """``smtplib.login`` encodes credentials as ASCII; AUTH PLAIN is UTF-8 (RFC 4616)."""
    if (username + password).isascii():
        client.login(username, password)
        return
    client.ehlo_or_helo_if_needed()
    if "PLAIN" not in client.esmtp_features.get("auth", "").upper().split():
        raise smtplib.SMTPNotSupportedError(
            "non-ASCII credentials need AUTH PLAIN, which the server does not offer")
    token = base64.b64encode(f"\0{username}\0{password}".encode()).decode("ascii")
    code, reply = client.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)


def email_message(notification: Notification, channel: EmailChannel) -> EmailMessage:
    """Plain text; the Message-ID comes from the notification id so a resend is recognisable."""
    message = EmailMessage()
    message["Subject"] = render.title(notification)
    message["From"] = channel.from_addr
    message["To"] = ", ".join(channel.to)
    message["Date"] = formatdate(usegmt=True)
    domain = channel.from_addr.rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<{notification.id}@{domain}>"
    message["X-Zrmon-Notification-Id"] = notification.id
    message.set_content(render.text(notification))
    return message
