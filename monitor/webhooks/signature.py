"""Zoom's webhook signature (v0) and its URL-validation challenge.

Zoom signs ``v0:{x-zm-request-timestamp}:{raw body}`` with HMAC-SHA256 and
the app's secret token. We hash the raw bytes exactly as received — never a
re-encoded JSON — so non-ASCII room names verify, and compare in constant
time. The timestamp bounds replay; a retry (``x-zoom-retry-num`` ≥ 1) may
carry the original timestamp for hours, so retries get a wider window.

Secret rotation: when an admin regenerates the token in Zoom's app settings,
deliveries already queued (and retries of old ones) are still signed with
the old one. The policy can hold that previous token until a set time; a
signature is tried with the current token, then with the previous one while
the overlap lasts. The URL-validation challenge is always answered with the
current token, which is what Zoom checks the endpoint against.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from monitor.core.errors import RejectedError


class SignatureError(RejectedError):
    """Why a request is not from Zoom; the text goes into the 401 body.

    ``reason`` is a short fixed word for the metrics label (bounded cardinality);
    ``skew_s`` is set when the signature matched but the timestamp was too far
    off, because that skew is exactly what an operator needs to see.
    """

    def __init__(self, message: str, reason: str, skew_s: float | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.skew_s = skew_s


@dataclass(frozen=True)
class Verified:
    """A request that passed: which token signed it, and the sender's clock against ours."""

    token: str  # "current" or "previous"
    skew_s: float  # our clock minus x-zm-request-timestamp
    retry: bool


@dataclass(frozen=True)
class SignaturePolicy:
    secret: bytes
    window_s: int = 300
    retry_window_s: int = 7200
    previous_secret: bytes = b""
    previous_until_s: float | None = None


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    message = b"v0:" + timestamp.encode("ascii") + b":" + body
    return "v0=" + hmac.new(secret, message, hashlib.sha256).hexdigest()


def verify(
    policy: SignaturePolicy,
    *,
    signature: str | None,
    timestamp: str | None,
    body: bytes,
    now_s: float,
    retry_num: str | None = None,
) -> Verified:
    if not signature:
        raise SignatureError("missing x-zm-signature header", "missing_signature")
    if not timestamp:
        raise SignatureError("missing x-zm-request-timestamp header", "missing_timestamp")
    try:
        sent_s = int(timestamp.strip())
        timestamp.encode("ascii")
    except (ValueError, UnicodeEncodeError) as exc:
        raise SignatureError("x-zm-request-timestamp is not Unix seconds",
                             "bad_timestamp") from exc
    given = signature.strip().encode("utf-8")
    token = _matching_token(policy, timestamp.strip(), body, given, now_s)
    retry = _is_retry(retry_num)
    window = policy.retry_window_s if retry else policy.window_s
    if abs(now_s - sent_s) > window:
        raise SignatureError(f"timestamp outside the accepted window of {window}s", "stale",
                             None if retry else now_s - sent_s)
    return Verified(token, now_s - sent_s, retry)


def _matching_token(
    policy: SignaturePolicy, timestamp: str, body: bytes, given: bytes, now_s: float
) -> str:
    """Which token signed the request; the previous one only counts until its end."""
    if hmac.compare_digest(sign(policy.secret, timestamp, body).encode("ascii"), given):
        return "current"
    if policy.previous_secret and hmac.compare_digest(
        sign(policy.previous_secret, timestamp, body).encode("ascii"), given
    ):
        if policy.previous_until_s is not None and now_s <= policy.previous_until_s:
            return "previous"
        raise SignatureError("signed with the previous secret token, no longer accepted",
                             "previous_expired")
    raise SignatureError("signature does not match", "mismatch")


def _is_retry(retry_num: str | None) -> bool:
    try:
        return retry_num is not None and int(retry_num) >= 1
    except ValueError:
        return False


def url_validation_response(secret: bytes, plain_token: str) -> dict[str, str]:
    encrypted = hmac.new(secret, plain_token.encode("utf-8"), hashlib.sha256).hexdigest()
    return {"plainToken": plain_token, "encryptedToken": encrypted}
