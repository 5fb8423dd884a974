"""The Zoom Rooms webhook catalog, distilled from the seed OpenAPI rendering.

The seed is a human-oriented text rendering of Zoom's OpenAPI document, not
the JSON itself, so the field trees are recovered from bullet indentation.
Doing that once, offline, and committing the result as ``catalog.json`` keeps
the receiver free of text parsing at runtime and makes every change in
Zoom's documentation show up as a reviewable diff. The schemas in
:mod:`monitor.webhooks.schemas` are checked against this catalog by tests.

Usage::

    python -m monitor.webhooks.catalog SEED_PATH > monitor/webhooks/catalog.json
"""

from __future__ import annotations

import json
import re
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from monitor.core.errors import UsageError

__all__ = ["SEED_NAME", "CatalogError", "build_catalog", "dumps", "load_catalog", "main"]

#: The seed the committed catalog was generated from; the default ``source``
#: so that regenerating from the same text gives a byte-identical catalog.
SEED_NAME = "000_80a4aee85056c77d.txt"

_EVENT_RE = re.compile(r"^POST (?P<name>\S+)\s*$")
_TAGS_RE = re.compile(r"^\s*• Tags:\s*(?P<tags>.+?)\s*$")  # the seed puts a NBSP after the colon
_BULLET_RE = re.compile(r"^(?P<indent> *)• (?P<name>[^\s(]+)(?P<required> \(required\))?\s*$")
_ITEMS_RE = re.compile(r"^ *Items:\s*$")
_TYPE_RE = re.compile(
    r"^(?P<type>[a-z]+)"
    r"(?:, format: (?P<format>[^,]+?))?"
    r"(?:, possible values: (?P<values>.+))?$"
)
# Zoom renders some enums as ``enum, a┃b┃c`` instead of ``string, possible values``.
_PIPE_ENUM_RE = re.compile(r"^enum, (?P<values>.+)$")
_QUOTED_RE = re.compile(r'"(?:[^"\\]|\\.)*"')
_DESCRIPTION_SEP = " — "


class CatalogError(UsageError):
    """The seed text does not have the shape this parser was written for.

    Raised instead of guessing, because a silently wrong catalog would make
    the schemas reject (or wave through) real events.
    """


def _parse_values(text: str) -> list[Any]:
    """Enum values as JSON would have them: quoted ones are strings, bare ones numbers."""
    if '"' in text:
        return [json.loads(token) for token in _QUOTED_RE.findall(text)]
    values: list[Any] = []
    for raw in text.split(","):
        token = raw.strip()
        if not token:
            continue
        try:
            values.append(int(token))
        except ValueError:
            try:
                values.append(float(token))
            except ValueError:
                values.append(token)
    return values


def _parse_type_line(line: str) -> dict[str, Any]:
    """Split ``type[, format: f][, possible values: ...] — description``.

    The description may itself contain em dashes (the alert enums explain
    each value with one), so only the first separator counts.
    """
    head, sep, description = line.strip().partition(_DESCRIPTION_SEP)
    head = head.strip()
    pipe = _PIPE_ENUM_RE.match(head)
    if pipe:
        # The values are words, so as JSON they are strings.
        return {
            "type": "string",
            "format": None,
            "enum": [v.strip() for v in pipe.group("values").split("┃") if v.strip()],
            "description": description.strip() if sep else None,
        }
    match = _TYPE_RE.match(head)
    if not match:
        raise CatalogError(f"unrecognised type line: {line.strip()!r}")
    values = match.group("values")
    return {
        "type": match.group("type"),
        "format": match.group("format"),
        "enum": _parse_values(values) if values is not None else None,
        "description": description.strip() if sep else None,
    }


def _parse_fields(lines: list[str]) -> list[dict[str, Any]]:
    """Turn the indented bullet tree of one request body into flat dotted paths.

    Flat paths rather than a tree because every consumer (schema checks,
    docs, diffs) wants to look fields up by path.
    """
    fields: list[dict[str, Any]] = []
    # (bullet indent, prefix for children); an ``Items:`` line switches the
    # prefix of the array above it to ``path[]``.
    stack: list[tuple[int, str]] = []
    current: dict[str, Any] | None = None
    for line in lines:
        if not line.strip():
            continue
        bullet = _BULLET_RE.match(line)
        if bullet:
            indent = len(bullet.group("indent"))
            while stack and stack[-1][0] >= indent:
                stack.pop()
            name = bullet.group("name")
            path = f"{stack[-1][1]}.{name}" if stack else name
            current = {
                "path": path,
                "type": None,
                "format": None,
                "enum": None,
                "required": bullet.group("required") is not None,
                "description": None,
            }
            fields.append(current)
            stack.append((indent, path))
            continue
        if _ITEMS_RE.match(line):
            if not stack or current is None or current["type"] != "array":
                raise CatalogError(f"'Items:' outside an array near {line!r}")
            indent, path = stack[-1]
            stack[-1] = (indent, f"{path}[]")
            continue
        if current is None or current["type"] is not None:
            raise CatalogError(f"unexpected line in request body: {line.strip()!r}")
        current.update(_parse_type_line(line))
    for field in fields:
        if field["type"] is None:
            raise CatalogError(f"field without a type line: {field['path']!r}")
    return fields


def _parse_event(name: str, lines: list[str]) -> dict[str, Any]:
    """One ``POST <event>`` section: tag, request-body fields and example.

    The Responses section repeats the request body, so it is ignored.
    """
    tag: str | None = None
    body_start: int | None = None
    example_at: int | None = None
    for index, line in enumerate(lines):
        if line.startswith("Responses"):
            break
        tags = _TAGS_RE.match(line)
        if tags and tag is None:
            tag = tags.group("tags").strip()
        elif line.startswith("Request Body"):
            body_start = index + 1
        elif line.startswith("Example:"):
            example_at = index
            break
    if body_start is None or example_at is None:
        raise CatalogError(f"{name}: no request body or example")
    body = [line for line in lines[body_start:example_at] if not line.startswith("Content-Type:")]
    example_text = "\n".join(lines[example_at + 1 :]).lstrip()
    try:
        example, _ = json.JSONDecoder().raw_decode(example_text)
    except json.JSONDecodeError as exc:
        raise CatalogError(f"{name}: example is not JSON: {exc}") from exc
    return {"tag": tag, "fields": _parse_fields(body), "example": example}


def build_catalog(seed_text: str, source: str = SEED_NAME) -> dict[str, Any]:
    """Parse the seed rendering into ``{"source", "events": {name: {...}}}``.

    ``source`` only labels the output; it defaults to the committed seed's
    name so that the test comparing against ``catalog.json`` needs no path.
    """
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in seed_text.splitlines():
        match = _EVENT_RE.match(line)
        if match:
            name = match.group("name")
            if name in sections:
                raise CatalogError(f"event documented twice: {name}")
            current = sections[name] = []
        elif current is not None:
            current.append(line)
    if not sections:
        raise CatalogError("no 'POST <event>' sections found")
    events = {name: _parse_event(name, lines) for name, lines in sections.items()}
    return {"source": source, "events": events}


def load_catalog() -> dict[str, Any]:
    """The committed catalog, read as package data so it works from a wheel too."""
    text = resources.files("monitor.webhooks").joinpath("catalog.json").read_text("utf-8")
    catalog: dict[str, Any] = json.loads(text)
    return catalog


def dumps(catalog: dict[str, Any]) -> str:
    """The one canonical serialisation, so regenerating gives a clean diff."""
    return json.dumps(catalog, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """CLI entry: print the catalog for the seed named on the command line."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m monitor.webhooks.catalog SEED_PATH", file=sys.stderr)
        return 2
    seed = Path(args[0])
    try:
        catalog = build_catalog(seed.read_text(encoding="utf-8"), source=seed.name)
    except (OSError, CatalogError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    text = dumps(catalog)
    # Written as UTF-8 bytes: the descriptions hold em dashes and a C locale
    # would otherwise make the generated file depend on the shell it ran in.
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is not None:
        sys.stdout.flush()
        buffer.write(text.encode("utf-8"))
        buffer.flush()
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
