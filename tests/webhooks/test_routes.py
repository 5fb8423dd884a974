"""The public listener, through Flask's test client: statuses, bodies, spool and quarantine."""

from __future__ import annotations

import json
import time

from flask.testing import FlaskClient
from support.events import SECRET, alert_event, encode, sensor_event, signed_headers

from monitor.core.config import Config
from monitor.store.quarantine import Quarantine
from monitor.store.spool import list_segments, read_records
from monitor.webhooks.signature import sign


def spooled(config: Config) -> list[dict]:
    out = []
    for segment in list_segments(config.spool_dir):
        out.extend(json.loads(r.payload) for r in read_records(segment, 0, 10_000))
    return out


def test_signed_sensor_event_is_spooled_and_acknowledged(post, config: Config) -> None:
    response = post(sensor_event())
    assert response.status_code == 200
    assert response.get_json() == {"status": "accepted"}
    [event] = spooled(config)
    assert event["payload"]["object"]["id"] == "room-1"
    assert len(event["payload"]["object"]["sensor_data"]) == 9


def test_unsigned_request_is_401_and_not_spooled(client: FlaskClient, config: Config) -> None:
    response = client.post("/webhooks/zoom", data=encode(sensor_event()),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 401
    assert "x-zm-signature" in response.get_json()["message"]
    assert spooled(config) == []
    assert Quarantine(config.quarantine_dir).count() == 0


def test_wrong_secret_is_401(client: FlaskClient) -> None:
    body = encode(sensor_event())
    response = client.post("/webhooks/zoom", data=body,
                           headers=signed_headers(body, secret="not-the-secret"))
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def test_tampered_body_is_401(client: FlaskClient) -> None:
    body = encode(sensor_event())
    headers = signed_headers(body)
    response = client.post("/webhooks/zoom", data=body.replace(b"812", b"999"), headers=headers)
    assert response.status_code == 401


def test_stale_timestamp_is_401_but_a_retry_within_two_hours_is_accepted(post) -> None:
    an_hour_ago = int(time.time()) - 3600
    assert post(sensor_event(), timestamp=an_hour_ago).status_code == 401
    assert post(sensor_event(), timestamp=an_hour_ago, retry=1).status_code == 200
    three_hours_ago = int(time.time()) - 3 * 3600
    assert post(sensor_event(), timestamp=three_hours_ago, retry=2).status_code == 401


def test_non_ascii_room_name_verifies_on_raw_bytes(post, config: Config) -> None:
    response = post(sensor_event(room_name="Salle Éverest — 会议室"))
    assert response.status_code == 200
    assert spooled(config)[0]["payload"]["object"]["room_name"] == "Salle Éverest — 会议室"


def test_url_validation_answers_the_challenge(post) -> None:
    import hashlib
    import hmac

    response = post({"event": "endpoint.url_validation", "event_ts": 1,
                     "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}})
    assert response.status_code == 200
    expected = hmac.new(SECRET.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert response.get_json() == {"plainToken": "qgg8vlvZRS6UYooatFL8Aw",
                                   "encryptedToken": expected}


def test_invalid_json_is_400_and_kept_in_quarantine(post, config: Config) -> None:
    response = post(b"{not json")
    assert response.status_code == 400
    assert "body" in response.get_json()["fields"]
    [item] = Quarantine(config.quarantine_dir).items()
    assert item.body == b"{not json"
    assert item.reason == "invalid_json"


def test_missing_room_id_is_422_naming_the_field_and_quarantined(post, config: Config) -> None:
    event = alert_event(1, 1793527200)
    del event["payload"]["object"]["id"]
    response = post(event)
    assert response.status_code == 422
    body = response.get_json()
    assert "payload.object.id" in body["fields"]
    assert "payload.object.id" in body["message"]
    [item] = Quarantine(config.quarantine_dir).items()
    assert item.id == body["quarantine_id"]
    assert "payload.object.id" in item.errors
    assert spooled(config) == []


def test_wrong_type_is_422_naming_the_field(post) -> None:
    event = alert_event(1, 1793527200)
    event["payload"]["object"]["alert_type"] = "offline"
    response = post(event)
    assert response.status_code == 422
    assert "payload.object.alert_type" in response.get_json()["fields"]


def test_one_bad_reading_does_not_lose_the_good_ones(post, config: Config) -> None:
    event = sensor_event()
    event["payload"]["object"]["sensor_data"][3]["sensor_value"] = "n/a"
    response = post(event)
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "partially_accepted"
    assert "payload.object.sensor_data.3.sensor_value" in body["rejected"]
    [event_spooled] = spooled(config)
    assert len(event_spooled["payload"]["object"]["sensor_data"]) == 8
    [item] = Quarantine(config.quarantine_dir).items()
    kept = json.loads(item.body)["payload"]["object"]["sensor_data"]
    assert kept == [{"date_time": "2026-11-01T10:00:00Z", "sensor_type": "VOC",
                     "sensor_value": "n/a"}]


def test_all_readings_bad_is_422(post, config: Config) -> None:
    event = sensor_event(readings=[{"date_time": "yesterday", "sensor_type": "CO2",
                                    "sensor_value": "800"}])
    response = post(event)
    assert response.status_code == 422
    assert "payload.object.sensor_data.0.date_time" in response.get_json()["fields"]
    assert Quarantine(config.quarantine_dir).count() == 1


def test_body_over_the_limit_is_413(config: Config) -> None:
    from monitor.runtime.app import create_app

    small = create_app(config.with_(max_body_bytes=2048)).test_client()
    body = encode(sensor_event(room_name="x" * 4000))
    response = small.post("/webhooks/zoom", data=body, headers=signed_headers(body))
    assert response.status_code == 413
    assert response.get_json()["fields"]["body"]


def test_unknown_event_is_accepted_for_zoom_event(post, config: Config) -> None:
    response = post({"event": "zoomroom.something_new", "event_ts": 1793527200000,
                     "payload": {"account_id": "a", "object": {"id": "room-9"}}})
    assert response.status_code == 200
    assert spooled(config)[0]["event"] == "zoomroom.something_new"


def test_full_spool_answers_503_so_zoom_retries(config: Config) -> None:
    from monitor.runtime.app import create_app

    tiny = create_app(config.with_(spool_max_bytes=1500)).test_client()
    statuses = []
    for minute in range(5):
        body = encode(sensor_event(when=f"2026-11-01T10:0{minute}:00Z"))
        statuses.append(tiny.post("/webhooks/zoom", data=body,
                                  headers=signed_headers(body)).status_code)
    assert statuses[0] == 200
    assert statuses[-1] == 503


def test_visitor_pii_is_pseudonymised_and_passcodes_dropped(post, config: Config) -> None:
    visitor = {"event": "visitor_management.checked_in", "event_ts": 1793527200000,
               "payload": {"account_id": "a", "operator": "op@example.com", "operator_id": "u1",
                           "object": {"visitor_email": "ada@example.com",
                                      "visitor_name": "Ada Lovelace", "host_name": "Grace",
                                      "invite_location_id": "loc-1", "host_id": "h",
                                      "host_email": "grace@example.com",
                                      "start_time": 1793527200000,
                                      "end_time": 1793530800000}}}
    third_party = {"event": "zoomroom.thirdparty_meeting_attempted", "event_ts": 1793527200000,
                   "payload": {"account_id": "a",
                               "object": {"room_id": "room-1", "join_url": "https://x/j/1?pwd=s",
                                          "passcode": "123456", "meeting_source_type": "teams",
                                          "join_time": "2026-11-01T10:00:00Z"}}}
    assert post(visitor).status_code == 200
    assert post(third_party).status_code == 200
    raw = b"".join(r.payload for s in list_segments(config.spool_dir)
                   for r in read_records(s, 0, 100))
    for secret in (b"ada@example.com", b"Ada Lovelace", b"123456", b"pwd=s"):
        assert secret not in raw


def test_healthz_and_readyz(client: FlaskClient, influx) -> None:
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()


def test_readyz_is_503_when_influxdb_is_unreachable(config: Config) -> None:
    from monitor.runtime.app import create_app

    down = create_app(config.with_(influx_url="http://127.0.0.1:9")).test_client()
    response = down.get("/readyz")
    assert response.status_code == 503
    assert "influxdb unreachable" in response.get_json()["problems"]


def test_public_listener_serves_nothing_else(client: FlaskClient) -> None:
    assert client.get("/metrics").status_code == 404
    assert client.get("/webhooks/zoom").status_code == 405
    assert client.get("/metrics").is_json


def test_signature_uses_zoom_format() -> None:
    assert sign(b"s", "1", b"{}") .startswith("v0=")
