"""Rule files written for a test, and the errors loading them reports, as (line, field, message)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from monitor.core.configfile import ConfigFileErrors
from monitor.rules.load import load_file
from monitor.rules.model import Rule


def write(tmp_path: Path, text: str, name: str = "group.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def errors(path: Path) -> list[tuple[int, str, str]]:
    """(line, field, message) of every error the file has; fails if it loads."""
    with pytest.raises(ConfigFileErrors) as caught:
        load_file(path)
    for error in caught.value:
        assert error.file == str(path)
    return [(error.line, error.field, error.message) for error in caught.value]


def where(path: Path) -> list[tuple[int, str]]:
    return [(line, field) for line, field, _ in errors(path)]


def one_rule(tmp_path: Path, body: str) -> Rule:
    """A group holding one rule whose keys (after ``- name: r``) are ``body``."""
    text = "group: g\nrules:\n  - name: r\n" + textwrap.indent(textwrap.dedent(body), "    ")
    group = load_file(write(tmp_path, text))
    assert len(group.rules) == 1
    return group.rules[0]


RULE_HEAD = "group: g\nrules:\n  - name: r\n"   # the rule item starts on line 3


def bad_rule(tmp_path: Path, body: str) -> list[tuple[int, str, str]]:
    text = RULE_HEAD + textwrap.indent(textwrap.dedent(body), "    ")
    return errors(write(tmp_path, text))
