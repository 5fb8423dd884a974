"""Bounds on what one body may cost: the walk itself, then answers through the real app."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from support.events import QUESTIONNAIRE, encode, questionnaire, sensor_event, signed_headers

from monitor.core.config import Config, ConfigError
from monitor.runtime.app import create_app
from monitor.store.quarantine import Quarantine
from monitor.webhooks import bounds
from monitor.webhooks.bounds import Limits, check, within_by_size
from monitor.webhooks.catalog import load_catalog

SMALL = Limits(max_depth=4, max_items=3, max_nodes=10, max_string_bytes=8)
@pytest.mark.parametrize(("value", "limit", "field"), [
    ({"a": {"b": {"c": {"d": {}}}}}, bounds.MAX_DEPTH, "a.b.c.d"),
    ([[[[[1]]]]], bounds.MAX_DEPTH, "0.0.0.0"),
    ({"a": [1, 2, 3, 4]}, bounds.MAX_ITEMS, "a"),
    ({"a": 1, "b": 2, "c": 3, "d": 4}, bounds.MAX_ITEMS, ""),
    ({"a": [1, 2, 3], "b": [1, 2, 3], "c": [1, 2]}, bounds.MAX_NODES, "c"),
    ({"a": ["x", "123456789"]}, bounds.MAX_STRING, "a.1"),
    ({"a": "éééé5"}, bounds.MAX_STRING, "a"),
    ({"123456789": 1}, bounds.MAX_STRING, "123456789"),
    ("123456789", bounds.MAX_STRING, ""),
])
def test_each_bound_is_named_with_where_it_broke(value: Any, limit: str, field: str) -> None:
    exceeded = check(value, SMALL)
    assert exceeded is not None
    assert (exceeded.limit, exceeded.field) == (limit, field)


@pytest.mark.parametrize("value", [
    {"a": {"b": {"c": 1}}}, [1, 2, 3], {"a": [1, 2], "b": "12345678"}, "éé", 5, None,
    {"a": [[1, 2], [3]]},
])
def test_values_within_the_bounds_pass(value: Any) -> None:
    assert check(value, SMALL) is None


def test_depth_far_beyond_the_interpreter_stack_is_walked_iteratively() -> None:
    value: Any = 1
    for _ in range(5000):
        value = [value]
    exceeded = check(value, Limits(max_depth=10_000, max_nodes=10_000))
    assert exceeded is None
    assert check(value, Limits(max_depth=100)) is not None


def test_the_defaults_are_the_configuration_defaults() -> None:
    from monitor.webhooks.bounds import limits_of

    assert limits_of(Config()) == Limits()


def test_every_seed_example_is_far_inside_the_default_bounds() -> None:
    tight = Limits(max_depth=10, max_items=20, max_nodes=60, max_string_bytes=200)
    for name, spec in load_catalog()["events"].items():
        assert check(spec["example"], tight) is None, name


def test_small_bodies_are_proven_within_bounds_by_their_size() -> None:
    body = encode(sensor_event())
    assert within_by_size(body, Limits())
    assert not within_by_size(b"[" * 40 + b"]" * 40, Limits())
    assert not within_by_size(b" " * 200_000, Limits())


def test_the_790_kb_questionnaire_is_refused_quickly_and_quarantined(
        client: FlaskClient, config: Config) -> None:
    body = questionnaire(500, 500)
    assert len(body) > 750_000
    response = client.post("/webhooks/zoom", data=body, headers=signed_headers(body))
    assert response.status_code == 413
    answer = response.get_json()
    assert answer["error"] == "limit_exceeded"
    assert answer["limit"] == "max_json_nodes"
    assert answer["field"].startswith("payload.object.questionnaire_response")
    assert answer["field"] in answer["fields"]
    [item] = Quarantine(config.quarantine_dir).items()
    assert item.id == answer["quarantine_id"]
    assert item.reason == "limit_exceeded"
    assert item.event == QUESTIONNAIRE
    assert item.body == body


def test_a_body_at_the_bounds_full_of_errors_names_only_the_first_ones(
        client: FlaskClient, config: Config) -> None:
    body = questionnaire(40, 490)
    response = client.post("/webhooks/zoom", data=body, headers=signed_headers(body))
    assert response.status_code == 422
    fields = response.get_json()["fields"]
    assert len(fields) == 51
    assert fields["_truncated"] == ["more problems not shown; the first 50 are listed"]
    assert "payload.object.questionnaire_response.0.list.0.question_id" in fields
    [item] = Quarantine(config.quarantine_dir).items()
    assert json.loads(item.body) == json.loads(body)
    assert len(item.errors) == 51


def test_a_valid_body_at_the_bounds_is_accepted(client: FlaskClient) -> None:
    body = questionnaire(20, 240, {"question_id": "q", "reply_id": "r", "options": []})
    response = client.post("/webhooks/zoom", data=body, headers=signed_headers(body))
    assert response.status_code == 200, response.get_json()


def test_nesting_beyond_the_parser_names_the_depth_limit(client: FlaskClient,
                                                          config: Config) -> None:
    body = b'{"event":"zoomroom.created","x":' + b"[" * 2000 + b"]" * 2000 + b"}"
    response = client.post("/webhooks/zoom", data=body, headers=signed_headers(body))
    assert response.status_code == 413
    assert response.get_json()["limit"] == "max_json_depth"
    assert Quarantine(config.quarantine_dir).items()[0].body == body


def test_bounds_come_from_the_environment(config: Config) -> None:
    env = {**config.to_env(), "ZRMON_MAX_JSON_ITEMS": "2", "ZRMON_MAX_STRING_BYTES": "4"}
    strict = create_app(Config.from_env(env)).test_client()
    body = encode(sensor_event())
    response = strict.post("/webhooks/zoom", data=body, headers=signed_headers(body))
    assert response.status_code == 413
    assert response.get_json()["limit"] in ("max_json_items", "max_string_bytes")
    with pytest.raises(ConfigError, match="ZRMON_MAX_JSON_DEPTH"):
        Config.from_env({**config.to_env(), "ZRMON_MAX_JSON_DEPTH": "0"})


def test_an_over_limit_visitor_event_is_quarantined_without_its_pii(config: Config) -> None:
    strict = create_app(config.with_(max_json_items=3)).test_client()
    body = encode({"event": "visitor_management.checked_in", "event_ts": 1,
                   "payload": {"account_id": "a", "object": {
                       "visitor_email": "ada@example.com", "visitor_name": "Ada",
                       "passcode": "123456", "extra": [1, 2, 3, 4]}}})
    response = strict.post("/webhooks/zoom", data=body, headers=signed_headers(body))
    assert response.status_code == 413
    [item] = Quarantine(config.quarantine_dir).items()
    kept = json.loads(item.body)
    assert kept["payload"]["object"]["extra"] == [1, 2, 3, 4]
    for secret in (b"ada@example.com", b"123456", b"Ada\""):
        assert secret not in item.body


def test_a_pii_body_too_deep_to_write_back_keeps_only_its_errors(client: FlaskClient,
                                                                  config: Config) -> None:
    deep = b'{"a":' * 1010 + b"1" + b"}" * 1010
    body = (b'{"event":"visitor_management.checked_in","visitor_email":"ada@example.com","x":'
            + deep + b"}")
    response = client.post("/webhooks/zoom", data=body, headers=signed_headers(body))
    assert response.status_code == 413
    [item] = Quarantine(config.quarantine_dir).items()
    assert item.body == b""
    assert item.errors


def test_depth_is_capped_at_what_can_be_written_back(config: Config) -> None:
    with pytest.raises(ConfigError, match="ZRMON_MAX_JSON_DEPTH"):
        Config.from_env({**config.to_env(), "ZRMON_MAX_JSON_DEPTH": "256"})


def test_collection_is_held_off_while_any_body_is_checked() -> None:
    import gc
    import threading

    from monitor.webhooks.bounds import gc_paused

    assert gc.isenabled()
    inside, release = threading.Event(), threading.Event()

    def other_request() -> None:
        with gc_paused():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other_request)
    thread.start()
    inside.wait(10)
    with gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other request still holds it
    release.set()
    thread.join()
    assert gc.isenabled()


def test_a_body_over_a_bound_replays_once_the_bound_is_raised(client: FlaskClient,
                                                             config: Config) -> None:
    from monitor.runtime.replay import replay

    body = encode(sensor_event(readings=[{"date_time": "2026-11-01T10:00:00Z",
                                          "sensor_type": "CO2", "sensor_value": str(400 + i)}
                                         for i in range(12)]))
    strict = create_app(config.with_(max_json_items=10)).test_client()
    assert strict.post("/webhooks/zoom", data=body,
                       headers=signed_headers(body)).status_code == 413
    quarantine = Quarantine(config.quarantine_dir)
    assert replay(config.with_(max_json_items=10), quarantine, None)["replayed"] == []
    assert len(replay(config, quarantine, None)["replayed"]) == 1
    assert quarantine.count() == 0
