"""Server-to-Server OAuth: account id, client id and secret → a bearer token.

Zoom issues no refresh token for this grant: the client asks for a new one
shortly before the old one expires, and once when Zoom answers 401 (a token
revoked early, e.g. because the app issued too many). The token and the
secret live only in this module's private attributes; nothing here logs,
formats or raises them.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from monitor.zoom.errors import ZoomAuthError, ZoomError

log = logging.getLogger("monitor.zoom")

# Renew this long before Zoom's expiry (or at half the lifetime for short-lived tokens),
# so a request in flight never carries a token that expires on the way.
RENEW_BEFORE_S = 300.0


@dataclass(frozen=True)
class Credentials:
    account_id: str
    client_id: str
    client_secret: str = field(repr=False)

    def basic_header(self) -> str:
        raw = f"{self.client_id}:{self.client_secret}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def redact(self, text: str) -> str:
        """Zoom's error text, with the secret cut out should it ever be echoed back."""
        return text.replace(self.client_secret, "***") if self.client_secret else text


class _Token:
    """A bearer token; its repr says when it expires, never what it is."""

    __slots__ = ("expires_at", "value")

    def __init__(self, value: str, expires_at: float) -> None:
        self.value = value
        self.expires_at = expires_at

    def __repr__(self) -> str:
        return f"<Zoom access token, expires at monotonic {self.expires_at:.0f}>"


# (method, url, headers, body) -> (status, JSON document or None); the client's transport.
Send = Callable[[str, str, dict[str, str], bytes], tuple[int, Any]]


class TokenSource:
    """Hands out a valid bearer token; thread-safe, one fetch at a time."""

    def __init__(self, credentials: Credentials, oauth_url: str, send: Send, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._credentials = credentials
        self._url = oauth_url
        self._send = send
        self._clock = clock
        self._lock = threading.Lock()
        self._token: _Token | None = None
        self.fetched = 0

    def __repr__(self) -> str:
        return f"<TokenSource {self._url} account {self._credentials.account_id}>"

    def bearer(self) -> str:
        """The ``Authorization`` header value to send now."""
        with self._lock:
            token = self._token
            if token is None or self._clock() >= token.expires_at:
                token = self._token = self._fetch()
            return "Bearer " + token.value

    def invalidate(self, bearer: str) -> None:
        """Zoom refused ``bearer``: the next :meth:`bearer` fetches a new one (once for all
        threads that held the same token)."""
        with self._lock:
            if self._token is not None and "Bearer " + self._token.value == bearer:
                self._token = None

    def _fetch(self) -> _Token:
        body = urlencode({"grant_type": "account_credentials",
                          "account_id": self._credentials.account_id}).encode()
        headers = {"Authorization": self._credentials.basic_header(),
                   "Content-Type": "application/x-www-form-urlencoded"}
        status, document = self._send("POST", self._url, headers, body)
        if status != 200 or not isinstance(document, dict) or "access_token" not in document:
            raise self._refusal(status, document)
        lifetime = float(document.get("expires_in") or 3600)
        self.fetched += 1
        log.info("Zoom API: new access token for account %s, valid %.0f s",
                 self._credentials.account_id, lifetime)
        renew_after = max(lifetime - RENEW_BEFORE_S, lifetime / 2)
        return _Token(str(document["access_token"]), self._clock() + renew_after)

    def _refusal(self, status: int, document: Any) -> ZoomError:
        reason, error = "", ""
        if isinstance(document, dict):
            reason = self._credentials.redact(str(document.get("reason")
                                                  or document.get("message") or ""))
            error = str(document.get("error") or document.get("code") or "")
        said = f"{reason} ({error})" if reason and error else reason or error or "no reason"
        if error == "invalid_client" or status == 401:
            return ZoomAuthError(f"Zoom refused the credentials ZOOM_CLIENT_ID/"
                                 f"ZOOM_CLIENT_SECRET: HTTP {status}: {said}")
        if status in (400, 403):
            return ZoomAuthError(f"Zoom refused the token request for ZOOM_ACCOUNT_ID "
                                 f"{self._credentials.account_id}: HTTP {status}: {said}")
        return ZoomError(f"Zoom's token endpoint answered HTTP {status}: {said}")
