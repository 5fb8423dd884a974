"""``zrmon zoom rooms`` end to end against the fake, and its configuration errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from support.zoom import zoom_env

from monitor.cli import main
from monitor.zoom.fake import FakeZoom

ZOOM_VARIABLES = ("ZOOM_ACCOUNT_ID", "ZOOM_CLIENT_ID", "ZOOM_CLIENT_SECRET")


def _run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
         env: dict[str, str], *args: str) -> tuple[int, str, str]:
    for name in ZOOM_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = main(["zoom", "rooms", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_rooms_as_json(fake: FakeZoom, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                       capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(monkeypatch, capsys, zoom_env(fake, tmp_path), "--format", "json")
    assert code == 0
    rooms = json.loads(out)
    assert len(rooms) == 12
    first = next(r for r in rooms if r["id"] == fake.fleet.rooms[0].id)
    assert first["room_id"] == fake.fleet.rooms[0].room_id
    assert first["location_path"] == ["US", "California", "San Jose", "San Jose Campus", "HQ",
                                      "Floor 1"]
    assert (first["building"], first["floor"], first["status"]) == ("HQ", "Floor 1",
                                                                     "Available")
    assert [(d["type"], d["status"], d["app_version"]) for d in first["devices"]] == [
        ("Zoom Rooms Computer", "Online", "6.0.0 (5200)"), ("Controller", "Online",
                                                            "6.1.0 (5230)")]
    assert {r["building"] for r in rooms} == {"HQ", "Annex", "Spree"}
    assert "975193018" not in out and "1315-2376" not in out


def test_rooms_as_csv(fake: FakeZoom, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                      capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(monkeypatch, capsys, zoom_env(fake, tmp_path), "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 12
    offline = [r for r in rows if r["status"] == "Offline"]
    assert len(offline) == 3
    assert all(r["devices"] == "2" and r["devices_online"] == "1" for r in offline)
    berlin = [r for r in rows if r["building"] == "Spree"]
    assert berlin and all(r["location"].startswith("DE / Berlin / Berlin") for r in berlin)
    assert all("6.1.0 (5230)" in r["app_versions"] for r in rows)


def test_rooms_as_table(fake: FakeZoom, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(monkeypatch, capsys, zoom_env(fake, tmp_path))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ROOM", "STATUS", "LOCATION", "DEVICES"]
    assert lines[-1] == "12 rooms"
    room_1 = next(line for line in lines if line.startswith("Room 1 "))
    assert "US / California / San Jose / San Jose Campus / HQ / Floor 1" in room_1
    assert "Zoom Rooms Computer Online 6.0.0 (5200), Controller Online 6.1.0 (5230)" in room_1


@pytest.mark.parametrize("missing", ZOOM_VARIABLES)
def test_a_missing_credential_exits_2_naming_it(fake: FakeZoom, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str],
                                                missing: str) -> None:
    env = zoom_env(fake, tmp_path)
    del env[missing]
    code, out, err = _run(monkeypatch, capsys, env)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and missing in err
    assert fake.requests == []


def test_no_credentials_at_all_exit_2_naming_the_first(fake: FakeZoom, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    env = {k: v for k, v in zoom_env(fake, tmp_path).items() if k not in ZOOM_VARIABLES}
    code, _, err = _run(monkeypatch, capsys, env)
    assert code == 2
    assert "ZOOM_ACCOUNT_ID: is required to read the Zoom REST API" in err


def test_wrong_credentials_exit_2_with_zooms_reason_and_no_secret(
        fake: FakeZoom, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    env = zoom_env(fake, tmp_path, ZOOM_CLIENT_SECRET="typo-secret-123")
    code, out, err = _run(monkeypatch, capsys, env, "--format", "json")
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert "Invalid client_id or client_secret (invalid_client)" in err
    assert "typo-secret-123" not in err


def test_zoom_unavailable_exits_1(fake: FakeZoom, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    env = zoom_env(fake, tmp_path, ZRMON_ZOOM_DAILY_BUDGET="3")
    code, out, err = _run(monkeypatch, capsys, env)
    assert code == 1 and out == ""
    assert "ZRMON_ZOOM_DAILY_BUDGET" in err and err.count("\n") == 1
