"""E-mail through real aiosmtpd servers: plain, STARTTLS + AUTH, implicit TLS, refusals."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from support.alerts import T0, make_alert, make_notification
from support.sinks import (
    SMTP_PASSWORD,
    SMTP_USER,
    StartSmtp,
    TlsFiles,
    free_port,
    server_tls_context,
)

from monitor.notify.channels.email import EmailChannel
from monitor.notify.channels.kind import build_senders
from monitor.notify.delivery import deliver_due
from monitor.notify.message import Notification
from monitor.notify.outbox import Outbox


def mail_channel(port: int, **options: object) -> EmailChannel:
    return EmailChannel("mail", "127.0.0.1", port, "zrmon@example.com",
                        ("facilities@example.com", "it@example.com"),
                        **options)  # type: ignore[arg-type]


def firing() -> Notification:
    return make_notification(make_alert(notify=("mail",)))


def attempt(tmp_path: Path, channel: EmailChannel) -> Outbox:
    outbox = Outbox.open(tmp_path / "state")
    outbox.enqueue([firing()], now=T0)
    deliver_due(outbox, build_senders({"mail": channel}), now=T0)
    return outbox


def test_plain_smtp_delivers_subject_and_body(tmp_path: Path, smtp_server: StartSmtp) -> None:
    sink = smtp_server()
    outbox = attempt(tmp_path, mail_channel(sink.port))
    assert outbox.failed() == [] and outbox.pending() == []
    [message] = sink.messages
    assert message["Subject"] == "[FIRING:1] co2-high — Everest"
    assert message["From"] == "zrmon@example.com"
    assert message["To"] == "facilities@example.com, it@example.com"
    assert message["Message-ID"] == f"<{firing().id}@example.com>"
    body = message.get_content()
    assert "Everest — critical: 1250 ppm (threshold above 1000 ppm)" in body
    assert sink.envelopes == [("zrmon@example.com",
                               ["facilities@example.com", "it@example.com"])]


def test_starttls_and_auth(tmp_path: Path, smtp_server: StartSmtp, tls_files: TlsFiles) -> None:
    sink = smtp_server(tls_context=server_tls_context(tls_files), require_starttls=True,
                       auth=True)
    channel = mail_channel(sink.port, starttls=True, username=SMTP_USER, password=SMTP_PASSWORD,
                           ca_file=str(tls_files.cert))
    outbox = attempt(tmp_path, channel)
    assert outbox.failed() == [] and outbox.pending() == []
    assert sink.logins == [SMTP_USER]
    assert sink.tls_sessions == [True]
    assert "1250 ppm" in sink.messages[0].get_content()


def test_wrong_password_is_a_permanent_failure(tmp_path: Path, smtp_server: StartSmtp,
                                               tls_files: TlsFiles) -> None:
    sink = smtp_server(tls_context=server_tls_context(tls_files), require_starttls=True,
                       auth=True)
    channel = mail_channel(sink.port, starttls=True, username=SMTP_USER, password="wrong",
                           ca_file=str(tls_files.cert))
    [failed] = attempt(tmp_path, channel).failed()
    assert failed.last_error is not None and failed.last_error.startswith("SMTP 535")
    assert sink.messages == []


def test_an_untrusted_certificate_is_refused(tmp_path: Path, smtp_server: StartSmtp,
                                             tls_files: TlsFiles) -> None:
    sink = smtp_server(tls_context=server_tls_context(tls_files), require_starttls=True,
                       auth=True)
    channel = mail_channel(sink.port, starttls=True, username=SMTP_USER, password=SMTP_PASSWORD)
    [failed] = attempt(tmp_path, channel).failed()       # system CAs do not know our cert
    assert failed.last_error is not None and failed.last_error.startswith("SMTP TLS")
    assert sink.logins == [] and sink.messages == []


def test_a_server_without_starttls_never_gets_the_credentials(tmp_path: Path,
                                                              smtp_server: StartSmtp) -> None:
    sink = smtp_server()
    channel = mail_channel(sink.port, starttls=True, username=SMTP_USER, password=SMTP_PASSWORD)
    [failed] = attempt(tmp_path, channel).failed()
    assert failed.last_error is not None and "STARTTLS" in failed.last_error
    assert sink.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_implicit_tls(tmp_path: Path, smtp_server: StartSmtp, tls_files: TlsFiles) -> None:
    # aiosmtpd only counts STARTTLS as TLS for AUTH, so it is told the (TLS) session will do.
    sink = smtp_server(ssl_context=server_tls_context(tls_files), auth=True,
                       auth_require_tls=False, password="ascii-password")
    channel = mail_channel(sink.port, ssl=True, username=SMTP_USER, password="ascii-password",
                           ca_file=str(tls_files.cert))
    outbox = attempt(tmp_path, channel)
    assert outbox.failed() == [] and outbox.pending() == []
    assert sink.logins == [SMTP_USER]
    assert len(sink.messages) == 1


def test_an_unreachable_server_is_retried(tmp_path: Path, smtp_server: StartSmtp) -> None:
    channel = mail_channel(free_port(), timeout_s=2.0)
    outbox = attempt(tmp_path, channel)
    [item] = outbox.pending()
    assert item.attempts == 1 and item.next_attempt_at == T0 + 10
    sink = smtp_server()
    senders = build_senders({"mail": dataclasses.replace(channel, port=sink.port)})
    assert deliver_due(outbox, senders, now=T0 + 10) == 1
    assert len(sink.messages) == 1
