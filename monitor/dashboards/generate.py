"""Build every dashboard and render it as the JSON committed under ``dashboards/``.

Rendering is deterministic (sorted keys, two-space indent, trailing newline),
so "is the committed JSON what the code generates?" is a string comparison.
"""

from __future__ import annotations

import json
from pathlib import Path

from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from monitor.dashboards import airquality, fleet, incidents, room
from monitor.dashboards.thresholds import load_limits


def build_all(rules_dir: Path) -> dict[str, dashboard_builders.Dashboard]:
    """File name → dashboard; the thresholds come from the rule files in ``rules_dir``."""
    limits = load_limits(rules_dir)
    return {
        "fleet-overview.json": fleet.build(limits),
        "room-detail.json": room.build(limits),
        "incidents-uptime.json": incidents.build(),
        "air-quality.json": airquality.build(limits),
    }


def render(board: dashboard_builders.Dashboard) -> str:
    return json.dumps(board.build(), cls=JSONEncoder, sort_keys=True, indent=2,
                      ensure_ascii=False) + "\n"


def generate(rules_dir: Path) -> dict[str, str]:
    return {name: render(board) for name, board in build_all(rules_dir).items()}


def stale(rules_dir: Path, out_dir: Path) -> list[str]:
    """Files under ``out_dir`` that differ from what the code generates (or are missing)."""
    out = []
    for name, text in generate(rules_dir).items():
        path = out_dir / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            out.append(name)
    return out


def write(rules_dir: Path, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in generate(rules_dir).items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
