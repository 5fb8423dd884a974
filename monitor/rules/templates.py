"""Annotation templates: what a rule's ``annotations`` may say, checked before deployment.

:func:`monitor.rules.evaluate.render` renders annotations leniently (an unknown
name becomes ""), so a misspelt name would silently vanish from every message.
The rule-file schemas therefore compile each template here and refuse names
that rendering will not provide, so the mistake is found by ``zrmon rules check``.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache

import jinja2
import jinja2.meta

# What an annotation template may use besides the rule's own label names: the
# context :func:`monitor.rules.evaluate.render` passes.
TEMPLATE_VARIABLES: dict[str, str] = {
    "value": "the rule's value for the room (number)",
    "threshold": "the level's condition as text, e.g. 'above 1000'",
    "level": "info / warning / critical",
    "since": "how long it has been pending, firing or silent, e.g. '12m'",
    "room_id": "Zoom Room id",
    "room_name": "Zoom Room name",
    "building": "building tag of the room, when known",
    "floor": "floor tag of the room, when known",
    "labels": "rule labels and room tags (mapping)",
}


@lru_cache(maxsize=1)
def template_environment() -> jinja2.Environment:
    """The environment annotations are compiled with; the notifier should render with it."""
    return jinja2.Environment(undefined=jinja2.StrictUndefined)


def template_problem(text: str) -> str | None:
    """Why ``text`` does not compile as a template, or None."""
    try:
        template_environment().from_string(text)     # compiling also finds unknown filters
    except jinja2.TemplateSyntaxError as exc:
        where = f" (template line {exc.lineno})" if exc.lineno > 1 else ""
        return f"template error: {exc.message}{where}"
    return None


def unknown_template_names(text: str, labels: Collection[str]) -> list[str]:
    """Names a compilable template uses that rendering will not provide."""
    env = template_environment()
    used = jinja2.meta.find_undeclared_variables(env.parse(text))
    return sorted(used - TEMPLATE_VARIABLES.keys() - env.globals.keys() - set(labels))

