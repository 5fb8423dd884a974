"""Real servers on 127.0.0.1 that capture what is sent to them: HTTP, SMTP, TLS files.

Nothing here mocks the network. Senders speak HTTP and SMTP to these
servers, and tests assert on what actually arrived. The fixtures that
start and stop them are in the ``conftest.py`` files.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import importlib
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

SMTP_USER = "zrmon"
SMTP_PASSWORD = "s3cret-pässword"


# ---------------------------------------------------------------------------
# HTTP


@dataclass(frozen=True)
class Captured:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpSink:
    """Captures every request; answers 200 unless told to fail the next ones.

    ``statuses[i]`` is the status ``requests[i]`` was answered with. After
    :meth:`hold`, requests are captured but answered only on :meth:`release`:
    a delivery kept in flight, e.g. while the sending process is killed.
    """

    server: ThreadingHTTPServer
    requests: list[Captured] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    failures: list[tuple[int, bytes, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    answering: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.answering.set()

    def hold(self) -> None:
        self.answering.clear()

    def release(self) -> None:
        self.answering.set()

    def delivered(self) -> list[Captured]:
        """Requests answered with a 2xx, in order."""
        with self.lock:
            return [r for r, status in zip(self.requests, self.statuses, strict=True)
                    if 200 <= status < 300]

    def url(self, path: str = "/hook") -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def fail_next(self, count: int, status: int = 500, body: bytes = b"",
                  headers: dict[str, str] | None = None) -> None:
        with self.lock:
            self.failures.extend([(status, body, headers or {})] * count)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Captured]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.01)
        raise AssertionError(f"expected {count} requests, got {len(self.requests)}")

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()

    def respond(self, request: Captured) -> tuple[int, bytes, dict[str, str]]:
        with self.lock:
            self.requests.append(request)
            answer = self.failures.pop(0) if self.failures else (200, b"ok", {})
            self.statuses.append(answer[0])
        self.answering.wait()
        return answer


def start_http_sink() -> HttpSink:
    ref: list[HttpSink] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(ref))
    server.daemon_threads = True
    ref.append(HttpSink(server))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    return ref[0]


def _handler(sink_ref: list[HttpSink]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            captured = Captured(self.command, self.path, dict(self.headers.items()), body)
            status, answer, headers = sink_ref[0].respond(captured)
            with contextlib.suppress(OSError):   # the sender may be gone (killed mid-request)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def free_port() -> int:
    """A port nothing listens on (aiosmtpd's Controller cannot bind port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---------------------------------------------------------------------------
# SMTP


@dataclass
class SmtpSink:
    """What an aiosmtpd server accepted: parsed messages, envelopes, logins."""

    port: int = 0
    password: str = SMTP_PASSWORD
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    tls_sessions: list[bool] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session,  # noqa: N802 (aiosmtpd's name)
                          envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) \
            else str(envelope.content).encode()
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        self.tls_sessions.append(session.ssl is not None)
        return "250 OK"

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope,
                     mechanism: str, auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        login = auth_data.login.decode()
        ok = login == SMTP_USER and auth_data.password.decode() == self.password
        if ok:
            self.logins.append(login)
        return AuthResult(success=ok, handled=False)


StartSmtp = Callable[..., SmtpSink]


@dataclass
class SmtpServers:
    """Starts aiosmtpd servers on demand and stops them all at the end of a test."""

    controllers: list[Controller] = field(default_factory=list)

    def start(self, **kwargs: Any) -> SmtpSink:
        """Keyword arguments go to aiosmtpd's Controller/SMTP.

        ``auth=True`` requires AUTH as ``SMTP_USER`` with ``password`` (default
        ``SMTP_PASSWORD``, which is deliberately not ASCII).
        """
        sink = SmtpSink(port=free_port(), password=kwargs.pop("password", SMTP_PASSWORD))
        if kwargs.pop("auth", False):
            kwargs.update(authenticator=sink.authenticate, auth_required=True)
        controller = Controller(sink, hostname="127.0.0.1", port=sink.port, **kwargs)
        controller.start()
        self.controllers.append(controller)
        return sink

    def stop_all(self) -> None:
        for controller in self.controllers:
            controller.stop()


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path


def make_tls_files(directory: Path) -> TlsFiles | None:
    """A self-signed certificate for 127.0.0.1: via ``cryptography``, else ``openssl req``."""
    files = TlsFiles(directory / "cert.pem", directory / "key.pem")
    if _cert_with_cryptography(files) or _cert_with_openssl(files):
        return files
    return None


def _cert_with_cryptography(files: TlsFiles) -> bool:
    try:
        x509: Any = importlib.import_module("cryptography.x509")
        hashes: Any = importlib.import_module("cryptography.hazmat.primitives.hashes")
        serialization: Any = importlib.import_module(
            "cryptography.hazmat.primitives.serialization")
        ec: Any = importlib.import_module("cryptography.hazmat.primitives.asymmetric.ec")
        oid: Any = importlib.import_module("cryptography.x509.oid")
    except ImportError:
        return False
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(oid.NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, True, True, False, False,
                                         False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    return True


def _cert_with_openssl(files: TlsFiles) -> bool:
    openssl = shutil.which("openssl")
    if openssl is None:
        return False
    with contextlib.suppress(subprocess.CalledProcessError, OSError):
        subprocess.run(
            [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
             "-keyout", str(files.key), "-out", str(files.cert)],
            check=True, capture_output=True, timeout=60)
        return True
    return False


def server_tls_context(files: TlsFiles) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(files.cert, files.key)
    return context
