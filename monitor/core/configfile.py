"""The one reader of configuration files: YAML with the line of every value, and its errors.

Rule files, ``channels.yaml``, ``notify.yaml`` and ``reports.yaml`` are read
here, so each refuses the same things the same way: invalid YAML, a key given
twice (PyYAML silently keeps the last), an alias that refers to itself, a
nesting deeper than any real file. Every problem becomes a
:class:`ConfigFileError` naming ``file:line``, the key path and the message, so
``zrmon rules check`` and the process start-up print the same one line.

Secrets (webhook URLs, SMTP passwords) must not live in a committed file, so
string values may reference ``${NAME}`` or ``${NAME:-default}``. Expansion
happens per string scalar on the composed node tree, not on the raw text: a
value from the environment can never change the YAML structure (a quote or a
newline in a password stays inside that one string).

This module imports nothing of the project, so every layer may use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from monitor.core.errors import UsageError

KeyPath = tuple[Any, ...]

_REFERENCE = re.compile(r"\$(?:(\$)|\{([^}]*)\})")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_STR_TAG = "tag:yaml.org,2002:str"
_MAX_DEPTH = 50
_FAILED = object()     # a scalar YAML could not construct (already reported)


class ConfigFileError(UsageError):
    """One mistake: ``file:line: path: message``; line 0 means the file as a whole."""

    def __init__(self, file: object, line: int, path: str, message: str) -> None:
        super().__init__(str(file), line, path, message)
        self.file = str(file)
        self.line = line
        self.path = path
        self.message = message

    @property
    def field(self) -> str:
        """The dotted key path, under the name rule-file code reads it by."""
        return self.path

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        if self.path:
            return f"{where}: {self.path}: {self.message}"
        return f"{where}: {self.message}"


class ConfigFileErrors(UsageError):  # noqa: N818 -- a collection of errors, not one
    """Every mistake found in a file, so one run shows them all."""

    def __init__(self, errors: list[ConfigFileError]) -> None:
        super().__init__("\n".join(str(error) for error in errors))
        self.errors = list(errors)

    def __iter__(self) -> Iterator[ConfigFileError]:
        return iter(self.errors)

    def __len__(self) -> int:
        return len(self.errors)


def dotted(path: KeyPath) -> str:
    """``("rules", 0, "window")`` as ``rules.0.window``, the way errors name a key."""
    return ".".join(str(part) for part in path)


def expand_env(text: str, env: Mapping[str, str]) -> str:
    """``${NAME}``, ``${NAME:-default}`` (default when unset or empty) and ``$$`` for ``$``.

    Raises :class:`KeyError` naming the variable when one without a default
    is unset, and :class:`ValueError` for a malformed reference.
    """

    def substitute(match: re.Match[str]) -> str:
        if match.group(1):
            return "$"
        inner = match.group(2)
        name, has_default, default = inner.partition(":-")
        if not _NAME.match(name):
            raise ValueError(f"malformed reference ${{{inner}}}: expected ${{NAME}} "
                             "or ${NAME:-default}")
        value = env.get(name)
        if has_default:
            return value if value else default
        if value is None:
            raise KeyError(name)
        return value

    return _REFERENCE.sub(substitute, text)


def walk_messages(messages: object, path: KeyPath = (), *,
                  dict_steps: bool = False) -> Iterator[tuple[KeyPath, str]]:
    """marshmallow's nested error messages as ``(key path, message)`` pairs.

    ``_schema`` (a message about the level itself) is reported at its parent.
    With ``dict_steps``, the ``key``/``value`` level a Dict field adds under an
    entry is dropped, as it names no key of the file; HTTP bodies keep it
    because a payload may well have a field called ``value``.
    """
    if isinstance(messages, Mapping):
        for key, inner in messages.items():
            skip = key == "_schema" or (dict_steps and path and key in ("key", "value"))
            yield from walk_messages(inner, path if skip else (*path, key),
                                     dict_steps=dict_steps)
    elif isinstance(messages, list | tuple):
        for index, item in enumerate(messages):
            if isinstance(item, Mapping | list | tuple):
                yield from walk_messages(item, (*path, index), dict_steps=dict_steps)
            else:
                yield path, str(item)
    else:
        yield path, str(messages)


@dataclass
class Document:
    """The plain data of a YAML file, the lines of its keys and values, and what was wrong.

    ``problems`` are ``(key path, line, message)`` in line order; a caller that
    stops at the first problem takes ``problems[0]``, one that lists them all
    takes every one. ``failed`` holds the dotted paths of values YAML could not
    construct (None in ``data``), so a schema need not report them again.
    """

    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)
    value_lines: dict[KeyPath, int] = field(default_factory=dict)
    problems: list[tuple[KeyPath, int, str]] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)

    def line(self, path: KeyPath) -> int:
        """The line of the key (or list item) at ``path``, or of its nearest ancestor."""
        for end in range(len(path), -1, -1):
            found = self.lines.get(path[:end])
            if found is not None:
                return found
        return 0

    def value_line(self, path: KeyPath) -> int:
        """Where the value at ``path`` starts, or the deepest value along it that exists.

        A missing key is reported where its parent mapping starts, the first
        line a reader would add it to.
        """
        for end in range(len(path), -1, -1):
            found = self.value_lines.get(path[:end])
            if found is not None:
                return found
        return 0

    def errors(self, file: object) -> list[ConfigFileError]:
        """The problems as errors of ``file``."""
        return [ConfigFileError(file, line, dotted(where), message)
                for where, line, message in self.problems]


def parse_yaml(text: str, env: Mapping[str, str] | None = None) -> Document:
    """Parse ``text`` (safe YAML only), collecting problems instead of stopping at one.

    With ``env``, ``${NAME}`` in string values is filled from it; without,
    strings stay as written. ``19:00`` stays a string: YAML 1.1 would read it
    as the base-60 number 1140, which no file here means.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        return Document(data=None, problems=[((), _error_line(exc), _reason(exc))])
    document = Document(data=None)
    if root is not None:
        document.lines[()] = _line(root)
        document.data = _Builder(env, document).build(root, ())
        document.problems.sort(key=lambda problem: problem[1])
    return document


def _reason(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        return f"invalid YAML: {exc.problem or exc.context or 'syntax error'}"
    return f"invalid YAML: {exc}"


def _error_line(exc: yaml.YAMLError) -> int:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return int(mark.line) + 1 if mark is not None else 0


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1 if node.start_mark is not None else 1


class _Constructor(yaml.SafeLoader):
    """SafeLoader's scalars, but ``19:00`` a string rather than YAML 1.1's base-60 1140."""

    def construct_yaml_int(self, node: ScalarNode) -> Any:
        if isinstance(node.value, str) and ":" in node.value:
            return self.construct_scalar(node)
        return super().construct_yaml_int(node)

    def construct_yaml_float(self, node: ScalarNode) -> Any:
        if isinstance(node.value, str) and ":" in node.value:
            return self.construct_scalar(node)
        return super().construct_yaml_float(node)


_Constructor.add_constructor("tag:yaml.org,2002:int", _Constructor.construct_yaml_int)
_Constructor.add_constructor("tag:yaml.org,2002:float", _Constructor.construct_yaml_float)


class _Builder:
    """Plain Python data from a composed tree, noting lines and problems on the way."""

    def __init__(self, env: Mapping[str, str] | None, document: Document) -> None:
        self.env = env
        self.doc = document
        self.constructor = _Constructor("")
        self.open: set[int] = set()

    def problem(self, path: KeyPath, node: Node, message: str) -> None:
        self.doc.problems.append((path, _line(node), message))

    def build(self, node: Node, path: KeyPath) -> Any:
        self.doc.value_lines[path] = _line(node)
        if len(path) > _MAX_DEPTH:
            self.problem(path, node, "nested too deeply")
            return None
        if id(node) in self.open:
            self.problem(path, node, "an alias refers to itself")
            self.doc.failed.add(dotted(path))
            return None
        self.open.add(id(node))
        try:
            return self._node(node, path)
        finally:
            self.open.discard(id(node))

    def _node(self, node: Node, path: KeyPath) -> Any:
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            items = []
            for index, child in enumerate(node.value):
                self.doc.lines[(*path, index)] = _line(child)
                items.append(self.build(child, (*path, index)))
            return items
        value = self._scalar(node, path)
        if value is _FAILED:
            self.doc.failed.add(dotted(path))
            return None
        return value

    def _construct(self, node: Node, path: KeyPath, *, report: bool = True) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as exc:
            self.constructor.recursive_objects.pop(node, None)    # left behind on failure
            if report:
                self.problem(path, node, exc.problem or str(exc))
            return _FAILED

    def _scalar(self, node: Node, path: KeyPath) -> Any:
        value = self._construct(node, path)
        if self.env is None or node.tag != _STR_TAG or not isinstance(value, str) \
                or "$" not in value:
            return value
        try:
            return expand_env(value, self.env)
        except KeyError as exc:
            self.problem(path, node, f"environment variable {exc.args[0]} is not set "
                                     f"(needed by {dotted(path) or 'value'}; give a default "
                                     f"with ${{{exc.args[0]}:-default}})")
        except ValueError as exc:
            self.problem(path, node, str(exc))
        return _FAILED

    def _mapping(self, node: MappingNode, path: KeyPath) -> dict[Any, Any]:
        self._duplicates(node, path)
        try:
            self.constructor.flatten_mapping(node)     # YAML merge keys (<<: *anchor)
        except yaml.MarkedYAMLError as exc:
            self.problem(path, node, exc.problem or str(exc))
            return {}
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.problem(path, key_node, "keys must be plain names")
                continue
            key = self._construct(key_node, path)
            if key is _FAILED:
                continue
            here = (*path, key)
            self.doc.lines[here] = _line(key_node)
            out[key] = self.build(value_node, here)
        return out

    def _duplicates(self, node: MappingNode, path: KeyPath) -> None:
        """PyYAML keeps the last of two equal keys; a config file must not say it twice."""
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key = self._construct(key_node, path, report=False)     # _mapping reports it
            if key is _FAILED:
                continue
            if key in seen:
                self.problem((*path, key), key_node,
                             f"duplicate key {key!r} (first at line {seen[key]})")
            else:
                seen[key] = _line(key_node)
