"""What every rule-file schema shares: refusing unknown keys, and messages at their path.

A typo such as ``thresold`` must never be silently ignored and leave a rule
that never fires, so every schema derives from :class:`StrictSchema`, which
names the unknown key and suggests the one meant. Checks that find several
problems collect them in :class:`Messages`, keyed by path so the loader can
put each one at its line; :func:`friendly` says marshmallow's stock messages
the way a rule author reads them.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, validates_schema

FieldPath = tuple[Any, ...]          # keys and list indexes from the document root

# marshmallow's stock messages, said the way a rule author reads them.
_FRIENDLY = {
    "Missing data for required field.": "required key is missing",
    "Field may not be null.": "must have a value",
    "Not a valid string.": "must be a string",
    "Not a valid integer.": "must be an integer",
    "Not a valid list.": "must be a list",
}


def friendly(message: str) -> str:
    """A marshmallow message in a rule author's words (unchanged when it has none)."""
    return _FRIENDLY.get(message, message)


class Messages:
    """Nested marshmallow-style messages built from paths, raised once."""

    def __init__(self) -> None:
        self.tree: dict[Any, Any] = {}

    def add(self, path: FieldPath, message: str) -> None:
        node = self.tree
        for key in path:
            node = node.setdefault(key, {})
        node.setdefault("_schema", []).append(message)

    def raise_if_any(self) -> None:
        if self.tree:
            raise ValidationError(self.tree)


class StrictSchema(Schema):
    """Refuses unknown keys itself, so that the message can suggest the key meant."""

    class Meta:
        unknown = EXCLUDE

    error_messages = {"type": "must be a mapping"}  # noqa: RUF012 -- marshmallow merges it

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _known_keys(self, data: Any, original: Any, **kwargs: Any) -> None:
        if not isinstance(original, Mapping):
            return
        known = [spec.data_key or name for name, spec in self.load_fields.items()]
        errors = Messages()
        for key in original:
            if key not in known:
                errors.add((key,), _unknown_key(key, known))
        errors.raise_if_any()


def _unknown_key(key: Any, known: list[str]) -> str:
    close = difflib.get_close_matches(str(key), known, n=1)
    if close:
        return f"unknown key; did you mean {close[0]!r}?"
    return f"unknown key (expected one of: {', '.join(known)})"
