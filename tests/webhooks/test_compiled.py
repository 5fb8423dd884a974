"""The compiled twins of every other catalog event match marshmallow, capped or not."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from support.webhook_bodies import (
    CATALOG,
    DELETE,
    HOT,
    messages,
    outcome,
    variants,
)

from monitor.webhooks.compiled import compiled_for
from monitor.webhooks.schemas import schema_for
from monitor.webhooks.validation import flatten_errors, validate_event

# ------------------------- compiled twins of every other event agree too


def _deep_variants(body: dict[str, Any]) -> list[Any]:
    """Like ``variants``, but also inside array items, and whole arrays replaced."""
    out: list[Any] = list(variants(body))
    paths: list[list[str | int]] = []

    def walk(node: Any, path: list[str | int]) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            if isinstance(value, dict | list):
                paths.append([*path, key])
                walk(value, [*path, key])

    walk(body, [])
    for path in paths:
        for replacement in (DELETE, None, [], [None], [{}], [1, "x"], {}, "x", 0):
            variant = copy.deepcopy(body)
            node = variant
            for part in path[:-1]:
                node = node[part]
            if replacement is DELETE:
                del node[path[-1]]
            else:
                node[path[-1]] = copy.deepcopy(replacement)
            out.append(variant)
    return out


def _filled(value: Any) -> Any:
    """The seed example with its placeholders replaced by plausible values."""
    if isinstance(value, dict):
        placeholder = ("", None)
        return {key: ("2024-06-19T00:00:00Z" if key.endswith(("_time", "_ts"))
                      and item in placeholder
                      else "x" if item in placeholder else _filled(item))
                for key, item in value.items()}
    if isinstance(value, list):
        return [_filled(item) for item in value] * 2
    return value


@pytest.mark.parametrize("event", sorted(set(CATALOG["events"]) - set(HOT)))
def test_compiled_twin_matches_the_marshmallow_schema(event: str) -> None:
    example = CATALOG["events"][event]["example"]
    filled = _filled(example)
    filled["event"] = event
    bodies: list[Any] = [[], "x", None, {}, 5]
    for base in (copy.deepcopy(example), filled):
        bodies.extend(_deep_variants(base))
    for body in bodies:
        fast = outcome(lambda body=body: validate_event(event, body))  # type: ignore[misc]
        slow = outcome(lambda body=body: schema_for(event).load(body))  # type: ignore[misc]
        assert fast == slow, body
    assert len(bodies) > 100


def test_every_catalog_event_but_the_hot_ones_is_compiled() -> None:
    assert all(compiled_for(event) is not None for event in CATALOG["events"]
               if event not in HOT)


def test_a_capped_walk_finds_the_first_errors_of_the_full_one() -> None:
    event = "workspace.reservation_questionnaire_response_created"
    body = _filled(CATALOG["events"][event]["example"])
    body["payload"]["object"]["questionnaire_response"] = [
        {"id": None, "list": [{} for _ in range(50)]} for _ in range(50)]
    full = flatten_errors(messages(lambda: validate_event(event, body)))
    capped = flatten_errors(messages(lambda: validate_event(event, body, max_errors=11)),
                            limit=10)
    assert len(full) == 50 * 101
    assert list(capped) == [*list(full)[:10], "_truncated"]
    assert capped["_truncated"] == ["more problems not shown; the first 10 are listed"]
