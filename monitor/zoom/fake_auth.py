"""The fake Zoom API's Server-to-Server OAuth: ``POST /oauth/token`` and bearer tokens.

A token is issued for the right client id and secret (HTTP Basic auth), grant type
``account_credentials`` and the fleet's account id; it lives ``token_lifetime_s``, which
may differ from the ``expires_in`` it advertises. An unknown or expired token gets 401
code 124. Kept apart from the server (:mod:`monitor.zoom.fake`) because it is the one
part a client's token handling (:mod:`monitor.zoom.auth`) is tested against.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable
from urllib.parse import parse_qs

from monitor.zoom.fake_faults import Answer, FakeOptions

SCOPE = ("zoom_rooms:read:list_rooms:admin zoom_rooms:read:room:admin "
         "zoom_rooms:read:list_locations:admin zoom_rooms:read:location:admin "
         "zoom_rooms:read:list_devices:admin zoom_rooms:read:sensor_data:admin")
BAD_CREDENTIALS = {"reason": "Invalid client_id or client_secret", "error": "invalid_client"}


class FakeTokens:
    """The tokens issued and when each expires, on the fake's clock ``now``; used under the
    server's lock."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._expiry: dict[str, float] = {}

    def issue(self, method: str, query: dict[str, str], headers: dict[str, str], body: bytes,
              *, options: FakeOptions, account_id: str) -> Answer:
        """The answer of ``/oauth/token`` for ``options``' credentials and ``account_id``."""
        if method != "POST":
            return 405, {}, {"reason": "Method not allowed", "error": "invalid_request"}
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        params = {**query, **form}
        if _basic(headers) != (options.client_id, options.client_secret):
            return options.bad_credentials_status, {}, dict(BAD_CREDENTIALS)
        if params.get("grant_type") != "account_credentials":
            return 400, {}, {"reason": "Unsupported grant type",
                             "error": "unsupported_grant_type"}
        if params.get("account_id") != account_id:
            return 400, {}, {"reason": "Invalid account_id", "error": "invalid_request"}
        value = "fake." + secrets.token_urlsafe(24)
        self._expiry[value] = self._now() + options.token_lifetime_s
        expires_in = options.expires_in or int(options.token_lifetime_s)
        return 200, {}, {"access_token": value, "token_type": "bearer",
                         "expires_in": expires_in, "scope": SCOPE}

    def refusal(self, token: str | None) -> Answer | None:
        """The 401 for a token that is unknown or expired; None for a valid one."""
        expires = self._expiry.get(token or "")
        if expires is None:
            return 401, {}, {"code": 124, "message": "Invalid access token."}
        if self._now() >= expires:
            return 401, {}, {"code": 124, "message": "Access token is expired."}
        return None

    def clear(self) -> None:
        self._expiry.clear()


def bearer(headers: dict[str, str]) -> str | None:
    """The bearer token of lower-cased ``headers``, if any."""
    value = headers.get("authorization", "")
    return value[7:] if value.lower().startswith("bearer ") else None


def _basic(headers: dict[str, str]) -> tuple[str, str] | None:
    value = headers.get("authorization", "")
    if not value.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(value[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password
