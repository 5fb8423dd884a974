"""``type: email``: an SMTP server and recipients, and the plain-text message sent to them.

One SMTP session per message, STARTTLS or implicit TLS before any
credentials (the schema refuses credentials without TLS). Scheduled reports
are mailed through the same session handling (:meth:`EmailSender._send`).
"""

from __future__ import annotations

import base64
import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import urllib3
from marshmallow import ValidationError, fields, pre_load, validate, validates_schema

from monitor.notify import render
from monitor.notify.channels.kind import ChannelSchema, DeliveryError, Kind, Sender
from monitor.notify.message import Notification

log = logging.getLogger("monitor.notify")


@dataclass(frozen=True)
class EmailChannel:
    name: str
    host: str
    port: int
    from_addr: str
    to: tuple[str, ...]
    starttls: bool = False
    ssl: bool = False                     # implicit TLS (port 465)
    username: str = ""
    password: str = field(default="", repr=False)
    ca_file: str | None = None            # trust this CA bundle instead of the system's
    timeout_s: float = 15.0

    def sender(self, http: urllib3.PoolManager) -> Sender:
        return EmailSender(self)


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


class _EmailSchema(ChannelSchema):
    host = fields.String(required=True, validate=validate.Length(min=1))
    port = fields.Integer(load_default=None, validate=validate.Range(min=1, max=65535))
    starttls = fields.Boolean(load_default=False)
    ssl = fields.Boolean(load_default=False)
    username = fields.String(load_default="")
    password = fields.String(load_default="")
    from_addr = fields.Email(required=True, data_key="from")
    to = fields.List(fields.Email(), required=True, validate=validate.Length(min=1))
    ca_file = fields.String(load_default=None)
    timeout_s = fields.Float(load_default=15.0, data_key="timeout",
                             validate=validate.Range(min=0, min_inclusive=False))

    @pre_load
    def _single_recipient(self, data: Any, **_: Any) -> Any:
        """``to: a@example.com`` is as natural to write as a one-item list."""
        if isinstance(data, dict) and isinstance(data.get("to"), str):
            return {**data, "to": [data["to"]]}
        return data

    @validates_schema
    def _transport(self, data: dict[str, Any], **_: Any) -> None:
        if data["starttls"] and data["ssl"]:
            raise ValidationError("use either starttls (587) or ssl (465), not both", "ssl")
        if bool(data["username"]) != bool(data["password"]):
            raise ValidationError("username and password must be set together", "password")
        if data["username"] and not (data["starttls"] or data["ssl"]):
            raise ValidationError("refusing to send SMTP credentials in clear: "
                                  "set starttls: true or ssl: true", "username")


def _build(name: str, data: dict[str, Any]) -> EmailChannel:
    port = data["port"] or (465 if data["ssl"] else 587 if data["starttls"] else 25)
    return EmailChannel(name, data["host"], port, data["from_addr"], tuple(data["to"]),
                        starttls=data["starttls"], ssl=data["ssl"],
                        username=data["username"], password=data["password"],
                        ca_file=data["ca_file"], timeout_s=data["timeout_s"])


KIND = Kind(_EmailSchema, _build)
