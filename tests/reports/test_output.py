"""``zrmon report`` end to end: HTML (rendered in headless Chromium), CSV and JSON agree."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support.airquality import EVEREST_CO2, EVEREST_PEOPLE, K2_CO2
from support.paths import RULES
from support.readings import T0, checkin, hourly_readings, incident, seed

from monitor.cli import main
from monitor.core.config import Config
from monitor.store.influx import InfluxClient

CHROMIUM = "/usr/bin/chromium"
RANGE = ["--from", "2026-10-01T08:00:00Z", "--to", "2026-10-01T20:00:00Z"]


@pytest.fixture
def seeded(config: Config, influx: InfluxClient) -> Config:
    seed(config, influx, [
        *hourly_readings("everest", "CO2", EVEREST_CO2, people=EVEREST_PEOPLE, name="Everest"),
        *hourly_readings("k2", "CO2", K2_CO2, name="K2", building="Annex"),
        *hourly_readings("fuji", "HUMIDITY", [25.0] * 2 + [45.0] * 10, name="Fuji"),
        checkin("k2", "checked_in", T0),
        incident("everest", "2026-10-01T07:40:00Z", "2026-10-01T08:27:00Z"),
        incident("k2", "2026-10-01T19:00:00Z", None, building="Annex"),
    ])
    return config


def _report(config: Config, *args: str) -> int:
    return main(["report", *args, "--influx-url", config.influx_url, "--influx-db",
                 config.influx_db, "--rules-dir", str(RULES)])


def test_csv_and_json_carry_the_same_numbers(seeded: Config, tmp_path: Path) -> None:
    for fmt in ("csv", "json"):
        assert _report(seeded, "air-quality", *RANGE, "--out", str(tmp_path / f"a.{fmt}")) == 0
    document = json.loads((tmp_path / "a.json").read_text())
    rows = list(csv.DictReader(io.StringIO((tmp_path / "a.csv").read_text())))
    assert list(rows[0]) == document["columns"]
    assert len(rows) == len(document["rows"])
    for from_csv, from_json in zip(rows, document["rows"], strict=True):
        assert from_csv == {k: "" if v is None else str(v) for k, v in from_json.items()}
    everest = [r for r in document["rows"] if r["room_id"] == "everest" and r["sensor"] == "CO2"]
    assert [(r["time"], r["within_co2_warning"], r["hours"]) for r in everest] == \
        [("all", 0.75, 12), ("occupied", 0.7, 10)]
    assert document["rows"][0]["level"] == "fleet"
    assert {g["key"]: g["label"] for g in document["guidance"]}["co2_info"] == "CO2 ≤ 800"


def test_building_filter(seeded: Config, capsys: pytest.CaptureFixture[str]) -> None:
    assert _report(seeded, "air-quality", *RANGE, "--building", "Annex", "--format",
                   "json") == 0
    document = json.loads(capsys.readouterr().out)
    assert {r["room_id"] for r in document["rows"] if r["level"] == "room"} == {"k2"}
    assert _report(seeded, "uptime", *RANGE, "--building", "Annex", "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["room_id"] for r in rows if r["level"] == "room"] == ["k2"]


def test_uptime_json(seeded: Config, capsys: pytest.CaptureFixture[str]) -> None:
    assert _report(seeded, "uptime", *RANGE, "--format", "json") == 0
    document = json.loads(capsys.readouterr().out)["rows"]
    rows = {r["room_id"]: r for r in document if r["level"] == "room"}
    assert rows["everest"]["downtime_s"] == 27 * 60 and rows["everest"]["mttr_s"] == 47 * 60
    assert rows["k2"]["open_at_end"] == 1 and rows["k2"]["downtime_s"] == 3600
    assert document[0]["level"] == "fleet" and document[0]["incidents"] == 2
    assert [(r["name"], r["incidents"]) for r in document if r["level"] == "building"] == \
        [("Annex", 1), ("HQ", 1)]


@pytest.mark.parametrize("args", [["--from", "October", "--to", "2026-11-01"],
                                  ["--from", "2026-11-01", "--to", "2026-10-01"]])
def test_bad_range_exits_2(config: Config, args: list[str],
                           capsys: pytest.CaptureFixture[str]) -> None:
    assert _report(config, "uptime", *args) == 2
    assert capsys.readouterr().err.startswith("zrmon: --from/--to:")


def test_missing_guidance_rule_exits_2(config: Config, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "rules").mkdir()
    code = main(["report", "air-quality", *RANGE, "--influx-url", config.influx_url,
                 "--influx-db", config.influx_db, "--rules-dir", str(tmp_path / "rules")])
    assert code == 2
    assert "co2-high" in capsys.readouterr().err


def _screenshot(html: Path, png: Path) -> np.ndarray:
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                    "--hide-scrollbars", f"--screenshot={png}", "--window-size=1200,1600",
                    html.as_uri()], check=True, capture_output=True, timeout=120)
    return np.asarray(Image.open(png).convert("RGB"))


@pytest.mark.slow
@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs chromium")
@pytest.mark.parametrize("kind", ["air-quality", "uptime"])
def test_html_renders_in_chromium(seeded: Config, tmp_path: Path, kind: str) -> None:
    html = tmp_path / f"{kind}.html"
    assert _report(seeded, kind, *RANGE, "--out", str(html)) == 0
    text = html.read_text()
    assert "<svg" in text and "<script" not in text and "http://" not in text.split("<svg")[0]
    pixels = _screenshot(html, tmp_path / f"{kind}.png")
    assert pixels.shape[:2] == (1600, 1200)
    colours = np.unique(pixels.reshape(-1, 3), axis=0)
    assert len(colours) > 50                        # text, table borders and a chart
    dark = (pixels.sum(axis=2) < 200).mean()
    assert 0.001 < dark < 0.5                        # some ink, not a black page
