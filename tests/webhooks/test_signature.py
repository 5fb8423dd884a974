"""Signature checks with a rotated secret, and the settings that describe the overlap."""

from __future__ import annotations

import pytest
from support.events import SECRET, encode, sensor_event, signed_headers

from monitor.core.config import Config, ConfigError
from monitor.runtime.app import create_app
from monitor.webhooks.signature import SignatureError, SignaturePolicy, sign, verify

NOW = 1_793_527_200.0
OLD = b"old-token"
POLICY = SignaturePolicy(b"new-token", previous_secret=OLD, previous_until_s=NOW + 60)


def check(secret: bytes, *, now: float = NOW, stamp: float = NOW, retry: str | None = None,
          policy: SignaturePolicy = POLICY) -> str:
    body = b'{"event":"x"}'
    timestamp = str(int(stamp))
    return verify(policy, signature=sign(secret, timestamp, body), timestamp=timestamp,
                  body=body, now_s=now, retry_num=retry).token


def test_current_and_previous_tokens_during_the_overlap() -> None:
    assert check(b"new-token") == "current"
    assert check(OLD) == "previous"
    assert check(OLD, now=NOW + 60, stamp=NOW + 60) == "previous"


def test_previous_token_after_the_overlap_is_refused_with_its_own_reason() -> None:
    with pytest.raises(SignatureError) as info:
        check(OLD, now=NOW + 61, stamp=NOW + 61)
    assert info.value.reason == "previous_expired"
    assert check(b"new-token", now=NOW + 61, stamp=NOW + 61) == "current"


def test_without_a_previous_token_only_the_current_one_counts() -> None:
    with pytest.raises(SignatureError) as info:
        check(OLD, policy=SignaturePolicy(b"new-token"))
    assert info.value.reason == "mismatch"


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"signature": None}, "missing_signature"),
    ({"timestamp": ""}, "missing_timestamp"),
    ({"timestamp": "noon"}, "bad_timestamp"),
    ({"signature": "v0=00"}, "mismatch"),
])
def test_each_failure_has_a_reason(kwargs: dict[str, str | None], reason: str) -> None:
    body = b"{}"
    args: dict[str, str | None] = {"signature": sign(b"new-token", str(int(NOW)), body),
                                   "timestamp": str(int(NOW)), **kwargs}
    with pytest.raises(SignatureError) as info:
        verify(POLICY, signature=args["signature"], timestamp=args["timestamp"], body=body,
               now_s=NOW)
    assert info.value.reason == reason


def test_a_stale_stamp_reports_its_skew_but_a_retry_does_not() -> None:
    with pytest.raises(SignatureError) as info:
        check(b"new-token", now=NOW + 400)
    assert (info.value.reason, info.value.skew_s) == ("stale", 400)
    with pytest.raises(SignatureError) as retried:
        check(b"new-token", now=NOW + 8000, retry="1")
    assert retried.value.skew_s is None


@pytest.mark.parametrize(("until", "message"), [
    ("", "is required"),
    ("tomorrow", "not an ISO-8601 time"),
    ("2026-12-03T12:00:00", "needs a time zone"),
])
def test_overlap_settings_are_checked(config: Config, until: str, message: str) -> None:
    env = {**config.to_env(), "ZOOM_WEBHOOK_SECRET_TOKEN_PREVIOUS": "old",
           "ZRMON_PREVIOUS_SECRET_UNTIL": until}
    with pytest.raises(ConfigError, match=message) as info:
        Config.from_env(env)
    assert info.value.variable == "ZRMON_PREVIOUS_SECRET_UNTIL"


def test_rotation_through_the_app(config: Config) -> None:
    rotated = config.with_(previous_secret_token="old",
                           previous_secret_until="2999-01-01T00:00:00+01:00")
    client = create_app(rotated).test_client()
    body = encode(sensor_event())
    assert client.post("/webhooks/zoom", data=body,
                       headers=signed_headers(body, secret="old")).status_code == 200
    assert client.post("/webhooks/zoom", data=body,
                       headers=signed_headers(body, secret=SECRET)).status_code == 200
    expired = create_app(rotated.with_(previous_secret_until="2020-01-01T00:00:00Z"))
    response = expired.test_client().post("/webhooks/zoom", data=body,
                                          headers=signed_headers(body, secret="old"))
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
