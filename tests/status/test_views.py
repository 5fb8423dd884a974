"""``GET /`` and ``GET /status.json`` on the admin app, against a real influxd."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support.estate import ROOMS, seed_estate
from support.statuspage import Rows, admin

from monitor.core.config import Config
from monitor.datamodel.points import Point, encode_lines
from monitor.runtime.app import create_admin_app, create_app
from monitor.store.influx import InfluxClient
from monitor.store.influxd import free_port


@pytest.fixture
def seeded(config: Config, influx: InfluxClient) -> FlaskClient:
    seed_estate(influx, time.time_ns())
    return admin(config)


def test_the_page_lists_each_room_with_its_values_states_and_incidents(
        seeded: FlaskClient) -> None:
    response = seeded.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = Rows.of(response.get_data(as_text=True))
    assert set(page.rows) == {room.room_id for room in ROOMS}
    for room in ROOMS:
        assert room.name in page.rows[room.room_id]
    assert page.rows["rm-kilimanjaro"].split()[:4] == ["Kilimanjaro", "warning", "9", "1,150"]
    assert "co2-high · warning · 12 min" in page.rows["rm-kilimanjaro"]
    denali = page.rows["rm-denali"]
    assert denali.split()[:2] == ["Denali", "offline"]
    assert "room offline · 38 min" in denali and "47 min ago" in denali
    assert "room-offline · critical · 27 min" in denali
    assert "co2-sensor-silent · warning" in denali
    assert "humidity-out-of-range · pending" in page.rows["rm-matterhorn"]
    assert "low battery · 1 h 35 min" in page.rows["rm-eiger"]
    assert page.rows["rm-everest"].split()[:4] == ["Everest", "ok", "5", "640"]
    assert "co2-high" not in page.rows["rm-everest"]       # resolved hours ago


def test_the_page_orders_problems_first_and_summarises(seeded: FlaskClient) -> None:
    html = seeded.get("/").get_data(as_text=True)
    order = list(Rows.of(html).rows)
    assert order[0] == "rm-denali"                          # offline first
    assert order.index("rm-kilimanjaro") < order.index("rm-everest")
    assert html.index("Headquarters") < html.index("Annex")
    text = " ".join(" ".join(Rows.of(html).text).split())
    for expected in ("8 rooms", "1 offline now", "1 firing critical", "2 firing warning",
                     "1 firing info", "2 open incidents", "9 stale sensors"):
        assert expected in text, expected


def test_the_page_refreshes_itself_and_loads_nothing_else(seeded: FlaskClient) -> None:
    response = seeded.get("/")
    html = response.get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="30">' in html
    assert "<script" not in html and "<link" not in html and "src=" not in html
    assert response.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_the_json_twin(seeded: FlaskClient) -> None:
    response = seeded.get("/status.json")
    assert response.status_code == 200
    data = response.get_json()
    assert data["summary"]["rooms"] == 8 and data["summary"]["offline"] == 1
    rooms = {room["name"]: room for b in data["buildings"] for f in b["floors"]
             for room in f["rooms"]}
    assert rooms["Denali"]["status"] == "offline"
    assert rooms["Kilimanjaro"]["cells"]["CO2"] == {"text": "1,150", "level": "warning",
                                                    "stale": False, "age": "1 min"}
    assert rooms["Kilimanjaro"]["rules"][0]["rule"] == "air-quality/co2-high"


def test_no_data_yet_is_a_friendly_page(config: Config, influx: InfluxClient) -> None:
    for client in (admin(config), admin(config.with_(influx_db="never_created"))):
        response = client.get("/")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert "No readings yet — is the simulator running?" in html
        assert 'id="rooms"' not in html
        assert client.get("/status.json").get_json()["empty"] is True


def test_influxdb_unreachable_is_an_error_panel_not_a_crash(config: Config) -> None:
    down = admin(config.with_(influx_url=f"http://127.0.0.1:{free_port()}"))
    response = down.get("/")
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert "InfluxDB is unreachable" in html and 'id="influx-error"' in html
    assert '<meta http-equiv="refresh" content="30">' in html
    answer = down.get("/status.json")
    assert answer.status_code == 503
    assert answer.get_json()["error"] == "influxdb_unavailable"


def test_everything_is_escaped(config: Config, influx: InfluxClient) -> None:
    evil = '<script>alert("x")</script>'
    influx.write(encode_lines([Point(
        "sensor", {"room_id": "<b>id</b>", "room_name": evil, "building": "<i>B</i>",
                   "sensor_type": "<svg onload=alert(1)>"}, {"value": 1.0}, time.time_ns())]))
    html = admin(config).get("/").get_data(as_text=True)
    assert "<script" not in html and "<svg" not in html and "<b>id" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "&lt;i&gt;B&lt;/i&gt;" in html


def test_broken_rule_files_leave_values_uncoloured_with_a_notice(
        config: Config, influx: InfluxClient, tmp_path: Path) -> None:
    seed_estate(influx, time.time_ns())
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "broken.yaml").write_text("group: [\n")
    app: Flask = create_admin_app(config.with_(rules_dir=rules))
    response = app.test_client().get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Values are not coloured" in html and "broken.yaml" in html
    assert "Kilimanjaro" in html and "1,150" in html
    assert 'class="num lvl-none"' in html and 'class="num lvl-warning' not in html


def test_the_public_listener_never_serves_the_status_page(config: Config,
                                                          influx: InfluxClient) -> None:
    seed_estate(influx, time.time_ns())
    public = create_app(config).test_client()
    for path in ("/", "/status.json"):
        response = public.get(path)
        assert response.status_code == 404, path
        assert b"Kilimanjaro" not in response.data
