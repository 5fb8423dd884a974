"""Rule files (YAML) into :class:`~monitor.rules.model.Group`, every mistake located.

A rule file is edited by hand and checked by ``zrmon rules check`` before it
is deployed, so an error is only worth something if it names the file, the
line and the key to fix -- and if all of a file's mistakes come out in one
run instead of one per edit. Hence three steps, each with one job:

1. :func:`monitor.core.configfile.parse_yaml` turns the file into plain data plus a
   map from key path to line, noting YAML-level problems (duplicate keys).
2. marshmallow schemas, one per concept (group and rule in
   :mod:`monitor.rules.ruleschema`, levels in :mod:`monitor.rules.levelschema`,
   built from :mod:`monitor.rules.fieldtypes`), validate the plain data. Their
   nested error messages are keyed by the same paths, so each one finds its line.
3. Small builders here turn the validated data into the frozen model dataclasses.

This module does the reading: files and directories, located errors, builders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

from marshmallow import ValidationError

from monitor.core.configfile import (
    ConfigFileError,
    ConfigFileErrors,
    dotted,
    parse_yaml,
    walk_messages,
)
from monitor.rules.model import LEVELS, Aggregate, Group, Rule
from monitor.rules.ruleschema import KIND_KEYS, GroupSchema
from monitor.rules.schemabase import FieldPath, friendly

__all__ = [
    "CONFIG_FILES",
    "ConfigFileError",
    "ConfigFileErrors",
    "ParsedFile",
    "load_dir",
    "load_file",
    "parse_dir",
    "parse_file",
    "rule_files",
]

# Configuration that lives beside the rules but is not a rule group: notification
# channels (monitor.notify.channels.loader), policy (monitor.notify.policy_load) and scheduled
# reports (monitor.reports.schedule).
CONFIG_FILES = frozenset({"channels.yaml", "channels.yml", "notify.yaml", "notify.yml",
                          "reports.yaml", "reports.yml"})


@dataclass(frozen=True)
class ParsedFile:
    """A rule file as far as it could be read: data, lines, errors, and the group if clean.

    ``zrmon rules check`` needs more than a Group: it checks ``notify`` names
    against the channels, at their lines, even in a file with other errors.
    """

    path: Path
    data: Any                              # the plain YAML data (None if unreadable)
    lines: Mapping[FieldPath, int]         # key path → 1-based line of the key / list item
    group: Group | None                    # None when there are errors
    errors: tuple[ConfigFileError, ...]

    def line(self, path: FieldPath) -> int:
        """The line of the deepest key along ``path`` that exists."""
        for depth in range(len(path), -1, -1):
            if path[:depth] in self.lines:
                return self.lines[path[:depth]]
        return 1

    def error(self, path: FieldPath, message: str) -> ConfigFileError:
        return ConfigFileError(str(self.path), self.line(path), dotted(path), message)


def parse_file(path: Path) -> ParsedFile:
    """Read one rule file, collecting every error instead of stopping at the first."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return _unreadable(path, f"cannot read: {getattr(exc, 'strerror', None) or exc}")
    document = parse_yaml(text)
    if document.data is None and document.problems:
        _, line, message = document.problems[0]
        return _unreadable(path, message, line)
    data = document.data if document.data is not None else {}
    lines = {**document.lines, (): document.lines.get((), 1)}
    parsed = ParsedFile(path, data, lines, None, ())
    errors = document.errors(path)
    valid, schema_errors = _validate(parsed)
    # A value YAML could not construct is None to the schema: one error for it is enough.
    errors += [error for error in schema_errors if error.field not in document.failed]
    errors += _duplicate_rule_names(parsed)
    if errors:
        return replace(parsed, errors=tuple(sorted(errors, key=_order)))
    return replace(parsed, group=_build_group(parsed, valid))


def _unreadable(path: Path, message: str, line: int = 0) -> ParsedFile:
    return ParsedFile(path, None, {}, None, (ConfigFileError(str(path), line, "", message),))


def _order(error: ConfigFileError) -> tuple[int, str]:
    return error.line, error.field


def _validate(parsed: ParsedFile) -> tuple[dict[str, Any], list[ConfigFileError]]:
    try:
        return GroupSchema().load(parsed.data), []
    except ValidationError as exc:
        return {}, [parsed.error(path, friendly(message))
                    for path, message in walk_messages(exc.messages)]


def _duplicate_rule_names(parsed: ParsedFile) -> list[ConfigFileError]:
    """Checked on the raw data, so that it is reported even when a rule has other errors."""
    rules = parsed.data.get("rules") if isinstance(parsed.data, Mapping) else None
    if not isinstance(rules, list):
        return []
    first: dict[str, int] = {}
    errors = []
    for index, rule in enumerate(rules):
        name = rule.get("name") if isinstance(rule, Mapping) else None
        if not isinstance(name, str):
            continue
        where = ("rules", index, "name")
        if name in first:
            errors.append(parsed.error(where, f"duplicate rule name {name!r} "
                                              f"(first at line {first[name]})"))
        else:
            first[name] = parsed.line(where)
    return errors


def _build_group(parsed: ParsedFile, data: dict[str, Any]) -> Group:
    name = data["group"]
    rules = tuple(_build_rule(name, rule, f"{parsed.path}:{parsed.line(('rules', index))}")
                  for index, rule in enumerate(data["rules"]))
    return Group(name=name, interval_s=data["interval"], rules=rules,
                 source=f"{parsed.path}:{parsed.line(('group',))}")


def _build_rule(group: str, data: dict[str, Any], source: str) -> Rule:
    key = next(key for key in KIND_KEYS if key in data)
    sensor = data["sensor"] if key == "sensor" else None
    receiver = None
    if key in ("rate", "silent"):
        sensor, receiver = data[key].get("sensor"), data[key].get("receiver")
    levels = data["levels"]
    return Rule(
        group=group,
        name=data["name"],
        kind=KIND_KEYS[key],
        levels={level: levels[level] for level in LEVELS if level in levels},
        sensor=sensor,
        receiver=receiver,
        incident=data.get("incident"),
        aggregate=cast(Aggregate, data["aggregate"]),
        window_s=data["window"],
        for_s=data["for_"],
        keep_firing_for_s=data["keep_firing_for"],
        no_data=data.get("no_data"),
        where=dict(data["where"]),
        labels=dict(data["labels"]),
        annotations=dict(data["annotations"]),
        notify=tuple(data["notify"]),
        source=source,
    )


def load_file(path: Path) -> Group:
    """One rule file as a Group; :class:`ConfigFileErrors` lists everything wrong with it."""
    parsed = parse_file(path)
    if parsed.errors or parsed.group is None:
        raise ConfigFileErrors(list(parsed.errors))
    return parsed.group


def rule_files(directory: Path) -> list[Path]:
    """``*.yaml`` / ``*.yml`` under ``directory``: not the channels or notify policy files,
    nothing under a ``tests/`` folder (rule unit tests), nothing hidden."""
    found = []
    for path in sorted(directory.rglob("*")):
        parts = path.relative_to(directory).parts
        if (path.suffix in (".yaml", ".yml") and path.name not in CONFIG_FILES
                and "tests" not in parts[:-1] and not any(p.startswith(".") for p in parts)
                and path.is_file()):
            found.append(path)
    return found


def parse_dir(directory: Path) -> list[ParsedFile]:
    """Every rule file of a directory; a group name used twice is an error in the later file."""
    if not directory.is_dir():
        reason = "not a directory" if directory.exists() else "no such file or directory"
        return [_unreadable(directory, reason)]
    first: dict[str, str] = {}
    out = []
    for parsed in (parse_file(path) for path in rule_files(directory)):
        name = parsed.data.get("group") if isinstance(parsed.data, Mapping) else None
        if not isinstance(name, str):
            out.append(parsed)
        elif name in first:
            clash = parsed.error(("group",), f"group {name!r} is already defined in {first[name]}")
            out.append(replace(parsed, group=None,
                               errors=tuple(sorted((*parsed.errors, clash), key=_order))))
        else:
            first[name] = f"{parsed.path}:{parsed.line(('group',))}"
            out.append(parsed)
    return out


def load_dir(directory: Path) -> list[Group]:
    """All groups of a rules directory; :class:`ConfigFileErrors` lists every file's errors."""
    parsed = parse_dir(directory)
    errors = [error for one in parsed for error in one.errors]
    if errors:
        raise ConfigFileErrors(errors)
    return [one.group for one in parsed if one.group is not None]
