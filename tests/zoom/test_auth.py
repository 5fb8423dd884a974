"""Server-to-Server OAuth against the fake's token endpoint: expiry, 401, wrong credentials,
and no secret or token anywhere it could leak."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from support.zoom import config_for, make_api, statuses

from monitor.zoom.client import ZoomApi
from monitor.zoom.errors import ZoomAuthError
from monitor.zoom.fake import FakeZoom
from monitor.zoom.fake_faults import Scripted

ApiFor = Callable[..., ZoomApi]


def test_token_renewed_before_it_expires_without_a_401(fake: FakeZoom, api_for: ApiFor) -> None:
    fake.options.token_lifetime_s = 2.0          # advertised as expires_in 2
    api = api_for(rate=10.0)
    for _ in range(25):                          # 2.5 s at 10/s
        api.location_structure()
    assert set(statuses(fake)) == {200}
    assert len(fake.token_requests()) >= 2
    assert len({r.token for r in fake.api_requests()}) == len(fake.token_requests())


def test_token_expiring_mid_run_is_renewed_and_the_listing_goes_on(fake: FakeZoom,
                                                                  api_for: ApiFor) -> None:
    fake.options.page_token_ttl_s = 1e9          # only the access token ages here
    api = api_for(page_size=40)
    room = fake.fleet.rooms[0]
    expected = fake.fleet.sensor_data(room, 1_790_000_000, 1_790_000_000 + 86_400)
    seen = []
    for reading in api.iter_sensor_data(room.id, "2026-09-21T12:53:20Z", "2026-09-22T12:53:20Z"):
        seen.append(reading)
        if len(seen) == 100:
            fake.advance(3601)                   # Zoom's hour is up mid-backfill
    assert len(seen) == len(expected) == len({r.key for r in seen})
    assert statuses(fake).count(401) == 1
    assert len(fake.token_requests()) == 2
    assert api.stats.token_renewals == 1


def test_token_revoked_early_by_zoom_is_renewed_on_each_401(fake: FakeZoom,
                                                           api_for: ApiFor) -> None:
    fake.options.token_lifetime_s = 0.8
    fake.options.expires_in = 3600               # Zoom says an hour, means less
    api = api_for(rate=10.0)
    results = [api.location_structure() for _ in range(20)]
    assert all(results)
    renewals = statuses(fake).count(401)
    assert renewals >= 1
    assert len(fake.token_requests()) == renewals + 1


def test_one_401_fetches_exactly_one_new_token(fake: FakeZoom, api_for: ApiFor) -> None:
    api = api_for()
    api.location_structure()
    fake.expire_tokens()
    assert api.location_structure() == ("country", "states", "city", "campus", "building",
                                        "floor")
    assert statuses(fake) == [200, 401, 200]
    assert len(fake.token_requests()) == 2


def test_a_second_401_is_an_error_not_a_loop(fake: FakeZoom, api_for: ApiFor) -> None:
    refused = Scripted(401, {"code": 124, "message": "Invalid access token."})
    fake.script(refused, refused, refused)
    api = api_for()
    with pytest.raises(ZoomAuthError, match="fresh access token was refused"):
        api.rooms()
    assert statuses(fake) == [401, 401]
    assert len(fake.token_requests()) == 2


@pytest.mark.parametrize("status", [400, 401])
def test_wrong_credentials_give_one_clear_line_without_the_secret(fake: FakeZoom,
                                                                  status: int) -> None:
    fake.options.bad_credentials_status = status
    api = make_api(fake, client_secret="wrong-secret-Ω")
    with pytest.raises(ZoomAuthError) as caught:
        api.rooms()
    message = str(caught.value)
    assert "\n" not in message
    assert "Invalid client_id or client_secret (invalid_client)" in message
    assert "ZOOM_CLIENT_SECRET" in message
    assert "wrong-secret" not in message
    assert fake.api_requests() == []             # no API call without a token
    assert len(fake.token_requests()) == 1       # a refusal is not retried


def test_wrong_account_id_names_the_variable(fake: FakeZoom) -> None:
    api = make_api(fake, account_id="not-this-account")
    with pytest.raises(ZoomAuthError, match=r"ZOOM_ACCOUNT_ID not-this-account.*Invalid account"):
        api.rooms()


def test_no_secret_or_token_in_logs_reprs_or_errors(fake: FakeZoom, tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    config = config_for(fake, tmp_path)
    secret = fake.options.client_secret
    fake.options.token_lifetime_s = 0.5
    fake.options.expires_in = 3600
    fake.options.error_rate = 0.2
    failures: list[str] = []
    with caplog.at_level(logging.DEBUG):
        api = ZoomApi.from_config(config)
        api.settings = replace(api.settings, backoff_s=0.01)
        for _ in range(15):
            api.rooms()
        fake.script(Scripted(401, {"code": 124, "message": "Invalid access token."}),
                    Scripted(401, {"code": 124, "message": "Invalid access token."}))
        try:
            api.rooms()
        except ZoomAuthError as exc:
            failures.append(str(exc))
        bad = make_api(fake, client_secret=secret + "-old")
        try:
            bad.rooms()
        except ZoomAuthError as exc:
            failures.append(str(exc))
        api.close()
    tokens = {r.token for r in fake.requests if r.token}
    assert len(tokens) >= 2
    texts = [record.getMessage() for record in caplog.records] + failures + [
        repr(api), repr(api.settings), repr(api.tokens), repr(config), str(api.stats),
        (tmp_path / "state" / "zoom-budget.json").read_text()]
    assert len(failures) == 2
    assert any("new access token" in text for text in texts)
    for text in texts:
        assert secret not in text
        for token in tokens:
            assert token not in text
