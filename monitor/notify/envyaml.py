"""YAML with ``${ENV}`` expansion and the line of every value, for config files holding secrets.

Secrets (webhook URLs, SMTP passwords) must not live in a file that is
committed, so they are referenced as ``${NAME}`` or ``${NAME:-default}``.
Expansion happens per string scalar on the composed node tree, not on the
raw text: a value from the environment can never change the YAML structure
(a quote or a newline in a password stays inside that one string), and
every value keeps the line it came from so errors can say ``file:line``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

KeyPath = tuple[str | int, ...]

_REFERENCE = re.compile(r"\$(?:(\$)|\{([^}]*)\})")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_STR_TAG = "tag:yaml.org,2002:str"
_MAX_DEPTH = 50


class YamlEnvError(ValueError):
    """A problem at one line (1-based; 0 when the file as a whole is wrong)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


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


@dataclass
class Document:
    """The plain data of a YAML file plus, for every mapping key and item, its line."""

    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line(self, path: KeyPath) -> int:
        """The line of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            found = self.lines.get(path[:end])
            if found is not None:
                return found
        return 0


def load(text: str, env: Mapping[str, str]) -> Document:
    """Parse ``text`` (safe YAML only), expanding ``${ENV}`` in string values."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise YamlEnvError(line, f"invalid YAML: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise YamlEnvError(0, f"invalid YAML: {exc}") from exc
    document = Document(data=None)
    if root is not None:
        document.lines[()] = root.start_mark.line + 1
        document.data = _Builder(env, document.lines).build(root, ())
    return document


class _Builder:
    def __init__(self, env: Mapping[str, str], lines: dict[KeyPath, int]) -> None:
        self.env = env
        self.lines = lines
        self.constructor = SafeConstructor()

    def build(self, node: Node, path: KeyPath) -> Any:
        if len(path) > _MAX_DEPTH:
            raise YamlEnvError(node.start_mark.line + 1, "nested too deeply")
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            items = []
            for index, child in enumerate(node.value):
                self.lines[(*path, index)] = child.start_mark.line + 1
                items.append(self.build(child, (*path, index)))
            return items
        assert isinstance(node, ScalarNode)
        return self._scalar(node, path)

    def _mapping(self, node: MappingNode, path: KeyPath) -> dict[Any, Any]:
        self.constructor.flatten_mapping(node)      # resolves YAML merge keys (<<)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, ScalarNode):
                raise YamlEnvError(line, "mapping keys must be plain strings")
            key = self.constructor.construct_object(key_node)
            if not isinstance(key, str):
                key = str(key)
            if key in out:
                raise YamlEnvError(line, f"duplicate key {key!r}")
            self.lines[(*path, key)] = line
            out[key] = self.build(value_node, (*path, key))
        return out

    def _scalar(self, node: ScalarNode, path: KeyPath) -> Any:
        if node.tag != _STR_TAG:
            return self.constructor.construct_object(node)
        text = str(node.value)
        if "$" not in text:
            return text
        try:
            return expand_env(text, self.env)
        except KeyError as exc:
            where = ".".join(str(part) for part in path) or "value"
            raise YamlEnvError(node.start_mark.line + 1,
                               f"environment variable {exc.args[0]} is not set "
                               f"(needed by {where}; give a default with "
                               f"${{{exc.args[0]}:-default}})") from None
        except ValueError as exc:
            raise YamlEnvError(node.start_mark.line + 1, str(exc)) from None
