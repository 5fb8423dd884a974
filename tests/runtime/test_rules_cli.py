"""``zrmon rules check|eval`` and ``zrmon silence`` in-process, against real files and influxd."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.paths import RULES as REPO_RULES

from monitor.cli import main
from monitor.core.config import Config
from monitor.datamodel.points import Point, encode_lines
from monitor.store.influx import InfluxClient


@pytest.fixture
def env(config: Config, monkeypatch: pytest.MonkeyPatch) -> Config:
    for name, value in config.with_(rules_dir=REPO_RULES).to_env().items():
        monkeypatch.setenv(name, value)
    return config


def test_check_passes_on_the_defaults_and_fails_with_file_line(env: Config, tmp_path: Path,
                                                               capsys) -> None:
    assert main(["rules", "check"]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("group: g\nrules:\n  - name: x\n    sensor: CO2\n"
                   "    levels: {warning: {abov: 1}}\n")
    assert main(["rules", "check", str(bad)]) == 2
    assert f"{bad}:5:" in capsys.readouterr().err


def test_eval_prints_what_would_fire(env: Config, influx: InfluxClient, capsys) -> None:
    at = 1_793_527_200 * 10**9
    influx.write(encode_lines([Point("sensor", {"room_id": "r1", "room_name": "Everest",
                                                "sensor_type": "CO2"}, {"value": 1600.0},
                                     at - 60 * 10**9)]))
    assert main(["rules", "eval", "--at", "2026-11-01T10:00:00Z"]) == 0
    out = capsys.readouterr().out
    assert "air-quality/co2-high" in out
    assert "Everest" in out
    assert "critical" in out


def test_silence_add_list_expire(env: Config, capsys) -> None:
    assert main(["silence", "add", "rule=air-quality/co2-high", "building=HQ",
                 "--duration", "2h", "--comment", "window open"]) == 0
    silence_id = capsys.readouterr().out.strip()
    assert main(["silence", "list"]) == 0
    [listed] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert listed["matchers"] == {"rule": "air-quality/co2-high", "building": "HQ"}
    assert main(["silence", "expire", silence_id]) == 0
    assert main(["silence", "list"]) == 0
    assert capsys.readouterr().out.strip() == ""
    assert main(["silence", "add", "--duration", "2h", "nonsense"]) == 2
