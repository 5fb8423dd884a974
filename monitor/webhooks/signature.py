"""Zoom's webhook signature (v0) and its URL-validation challenge.

Zoom signs ``v0:{x-zm-request-timestamp}:{raw body}`` with HMAC-SHA256 and
the app's secret token. We hash the raw bytes exactly as received — never a
re-encoded JSON — so non-ASCII room names verify, and compare in constant
time. The timestamp bounds replay; a retry (``x-zoom-retry-num`` ≥ 1) may
carry the original timestamp for hours, so retries get a wider window.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass


class SignatureError(Exception):
    """Why a request is not from Zoom; the text goes into the 401 body."""


@dataclass(frozen=True)
class SignaturePolicy:
    secret: bytes
    window_s: int = 300
    retry_window_s: int = 7200


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
) -> None:
    if not signature:
        raise SignatureError("missing x-zm-signature header")
    if not timestamp:
        raise SignatureError("missing x-zm-request-timestamp header")
    try:
        sent_s = int(timestamp.strip())
        timestamp.encode("ascii")
    except (ValueError, UnicodeEncodeError) as exc:
        raise SignatureError("x-zm-request-timestamp is not Unix seconds") from exc
    expected = sign(policy.secret, timestamp.strip(), body)
    if not hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("utf-8")):
        raise SignatureError("signature does not match")
    window = policy.retry_window_s if _is_retry(retry_num) else policy.window_s
    if abs(now_s - sent_s) > window:
        raise SignatureError(f"timestamp outside the accepted window of {window}s")


def _is_retry(retry_num: str | None) -> bool:
    try:
        return retry_num is not None and int(retry_num) >= 1
    except ValueError:
        return False


def url_validation_response(secret: bytes, plain_token: str) -> dict[str, str]:
    encrypted = hmac.new(secret, plain_token.encode("utf-8"), hashlib.sha256).hexdigest()
    return {"plainToken": plain_token, "encryptedToken": encrypted}
