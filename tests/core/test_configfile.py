"""The one configuration-file reader (monitor.core.configfile) every YAML file goes through."""

from __future__ import annotations

from monitor.core.configfile import ConfigFileError, ConfigFileErrors, parse_yaml, walk_messages


def test_lines_of_keys_items_and_values() -> None:
    document = parse_yaml("a:\n  b: 1\n  c:\n    - x\n    - y\n")
    assert document.data == {"a": {"b": 1, "c": ["x", "y"]}}
    assert document.line(("a", "c", 1)) == 5
    assert document.line(("a", "missing")) == 1          # nearest key that exists
    assert document.value_line(("a", "missing")) == 2    # where its parent mapping starts
    assert document.problems == []


def test_duplicate_keys_self_aliases_and_syntax_are_problems_at_their_lines() -> None:
    assert parse_yaml("a: 1\nb: 2\na: 3\n").problems == [
        (("a",), 3, "duplicate key 'a' (first at line 1)")]
    [(_, line, message)] = parse_yaml("a: [1\n").problems
    assert line == 2
    assert message.startswith("invalid YAML: ")
    assert parse_yaml("a: &x [*x]\n").problems[0][2] == "an alias refers to itself"


def test_env_only_when_asked_and_never_in_structure() -> None:
    text = "url: ${HOOK}\nother: '$$5'\n"
    assert parse_yaml(text).data == {"url": "${HOOK}", "other": "$$5"}
    assert parse_yaml(text, {"HOOK": "a'\nb: c"}).data == {"url": "a'\nb: c", "other": "$5"}
    [(path, line, message)] = parse_yaml(text, {}).problems
    assert (path, line) == (("url",), 1)
    assert message.startswith("environment variable HOOK is not set")


def test_clock_times_stay_strings() -> None:
    assert parse_yaml("from: 19:00\nn: 1.5\n").data == {"from": "19:00", "n": 1.5}


def test_one_error_shape() -> None:
    error = ConfigFileError("rules/a.yaml", 7, "rules.0.window", "duplicate key")
    assert str(error) == "rules/a.yaml:7: rules.0.window: duplicate key"
    assert str(ConfigFileError("x.yaml", 0, "", "cannot read")) == "x.yaml: cannot read"
    assert error.field == error.path
    assert str(ConfigFileErrors([error, error])).count("\n") == 1


def test_marshmallow_messages_flattened_once() -> None:
    messages = {"_schema": ["top"], "a": {"b": ["bad"], "m": {"x": {"value": ["v"]}}},
                "l": [{"c": ["d"]}]}
    assert list(walk_messages(messages)) == [
        ((), "top"), (("a", "b"), "bad"), (("a", "m", "x", "value"), "v"), (("l", 0, "c"), "d")]
    assert ("a", "m", "x") in dict(walk_messages(messages, dict_steps=True))
