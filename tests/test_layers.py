"""The import contract in pyproject.toml holds, and it does catch an import against the flow."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow      # it starts processes

ROOT = Path(__file__).resolve().parents[1]


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the package found under ``tree`` (its pyproject, its monitor/)."""
    binary = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(binary), "--config", str(tree / "pyproject.toml"), "--no-cache"],
                          cwd=tree, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_package_keeps_its_layers() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_import_against_the_flow_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "monitor", tmp_path / "monitor",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    spool = tmp_path / "monitor" / "store" / "spool.py"
    spool.write_text(spool.read_text() + "\nfrom monitor.rules import model as _upward  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1
    assert "monitor.store.spool -> monitor.rules.model" in result.stdout
