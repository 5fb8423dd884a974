"""The tests' own rules hold: helpers come from tests/support, fixtures from conftest.py,
every test that starts a process says so with the ``slow`` marker, and the docs name
only modules that exist."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

from support.paths import REPO

TESTS = REPO / "tests"
PROCESS_CALLS = {"run", "Popen", "check_output", "check_call", "call"}


def module_paths() -> list[Path]:
    return sorted(p for p in TESTS.rglob("test_*.py") if "support" not in p.parts)


def imported(tree: ast.Module) -> list[tuple[str, int]]:
    """Each ``from X import`` (with its relative level) at any depth of a module."""
    return [(node.module or "", node.level) for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)]


def test_no_test_module_imports_another_or_conftest() -> None:
    offenders = []
    for path in module_paths():
        for module, level in imported(ast.parse(path.read_text())):
            leaf = module.rsplit(".", 1)[-1]
            if level or leaf == "conftest" or leaf.startswith("test_"):
                offenders.append(f"{path.relative_to(REPO)}: from {'.' * level}{module}")
    assert offenders == []


def test_helper_modules_live_in_tests_support() -> None:
    strays = [str(p.relative_to(REPO)) for p in TESTS.rglob("*.py")
              if p.name not in ("conftest.py", "__init__.py") and not p.name.startswith("test_")
              and p.parent != TESTS / "support"]
    assert strays == []


def starts_processes(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "subprocess"
                and node.func.attr in PROCESS_CALLS):
            return True
    return False


def marked_slow(source: str) -> bool:
    return "pytestmark = pytest.mark.slow" in source or "@pytest.mark.slow" in source


def test_every_test_module_that_starts_processes_is_marked_slow() -> None:
    unmarked = [str(p.relative_to(REPO)) for p in module_paths()
                if starts_processes(ast.parse(p.read_text())) and not marked_slow(p.read_text())]
    assert unmarked == []


def named_in_docs() -> list[tuple[str, str]]:
    """Every ``monitor.x.y`` and ``monitor/x/y.py`` the README and docs/ mention."""
    found = []
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = doc.read_text()
        found += [(doc.name, m.group(0)) for m in re.finditer(r"\bmonitor(?:\.\w+)+", text)]
        found += [(doc.name, m.group(1)) for m in re.finditer(r"`(monitor/[\w/]+(?:\.py)?)/?`",
                                                               text)]
    return found


def exists(reference: str) -> bool:
    if "/" in reference:
        return (REPO / reference).exists()
    parts = reference.split(".")
    for cut in range(len(parts), 0, -1):
        path = REPO.joinpath(*parts[:cut])
        if path.with_suffix(".py").exists() or (path / "__init__.py").exists():
            rest = parts[cut:]
            return not rest or hasattr(importlib.import_module(".".join(parts[:cut])), rest[0])
    return False


def test_the_docs_name_only_modules_and_names_that_exist() -> None:
    stale = [f"{doc}: {reference}" for doc, reference in named_in_docs() if not exists(reference)]
    assert stale == []
