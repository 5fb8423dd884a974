"""Read the deployment files the way Docker Compose, Docker and Grafana do, without them.

There is no Docker engine (nor Compose, nor Grafana) where the tests run, so these
helpers parse docker-compose.yml (and docker-compose.ha.yml), the Dockerfile,
.dockerignore, .env.example (and .env.ha.example), HAProxy's configuration and the
Grafana provisioning files with the same rules those tools apply — variable
interpolation, line continuations, ignore patterns — closely enough for the tests to
check what would actually be started.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from monitor.cli import build_parser
from monitor.core.config import Config

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
COMPOSE_HA = REPO / "docker-compose.ha.yml"
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
ENV_EXAMPLE = REPO / ".env.example"
ENV_HA_EXAMPLE = REPO / ".env.ha.example"
HAPROXY_CFG = REPO / "deploy" / "ha" / "haproxy.cfg"
PROVISIONING = REPO / "dashboards" / "provisioning"
DATASOURCE_YAML = PROVISIONING / "datasources" / "influxdb.yaml"
DASHBOARD_PROVIDER_YAML = PROVISIONING / "dashboards" / "zrmon.yaml"

# The shared data contract (docs/retention.md, docs/dashboards.md): every dashboard
# and the provisioned data source agree on this uid.
DATASOURCE_UID = "zrmon-influxdb"

# Compose: ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?err}, ${NAME?err},
# ${NAME:+alt}, ${NAME+alt}, $NAME; "$$" is a literal "$".
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)
# Grafana provisioning: $NAME or ${NAME}.
_GRAFANA_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


CONFIG_ENV = {spec.metadata["env"] for spec in fields(Config)}   # every setting's variable
class MissingVariableError(KeyError):
    """A ``${NAME:?…}`` whose variable is unset or empty: Compose refuses to start."""


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def compose(path: Path = COMPOSE) -> dict[str, Any]:
    data = load_yaml(path)
    assert isinstance(data, dict), f"{path.name} is not a mapping"
    return data


def services(path: Path = COMPOSE) -> dict[str, dict[str, Any]]:
    found = compose(path).get("services")
    assert isinstance(found, dict) and found, f"{path.name} has no services"
    return found


def zrmon_services(path: Path = COMPOSE) -> dict[str, dict[str, Any]]:
    """The services built from this repo's Dockerfile (their command is zrmon's argv)."""
    return {name: spec for name, spec in services(path).items() if "build" in spec}


def strings(node: Any) -> Iterator[str]:
    """Every key and scalar value of a parsed YAML document, as Compose interpolates them."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield str(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)
    elif isinstance(node, str):
        yield node


def variables(text: str) -> set[str]:
    return {match["braced"] or match["bare"] for match in _VARIABLE.finditer(text)
            if not match["escaped"]}


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's interpolation of one string; :class:`MissingVariableError` for ``:?``/``?``."""

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["bare"]
        value, op, arg = env.get(name), match["op"] or "", match["arg"] or ""
        present = value is not None and (value != "" or not op.startswith(":"))
        if op.endswith("-"):
            return value if present and value is not None else arg
        if op.endswith("?"):
            if not present or value is None:
                raise MissingVariableError(name)
            return value
        if op.endswith("+"):
            return arg if present else ""
        return value or ""

    return _VARIABLE.sub(substitute, text)


def grafana_variables(text: str) -> set[str]:
    return {braced or bare for braced, bare in _GRAFANA_VARIABLE.findall(text)}


def env_example(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    """``.env.example`` as Compose reads a ``.env`` file: KEY=VALUE lines, # comments."""
    out: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key), \
            f"{path.name}:{number}: not KEY=VALUE: {raw!r}"
        assert key not in out, f"{path.name}:{number}: {key} is set twice"
        out[key] = value
    return out


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's ``environment`` as a mapping (Compose allows a list of KEY=VALUE too)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.partition("=")[::2] for item in env)
    return {str(key): "" if value is None else str(value) for key, value in env.items()}


@dataclass(frozen=True)
class Mount:
    source: str
    target: str
    read_only: bool
    bind: bool


def mounts(service: Mapping[str, Any]) -> list[Mount]:
    out = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            parts = volume.split(":")
            source, target = parts[0], parts[1]
            read_only = len(parts) > 2 and "ro" in parts[2].split(",")
            bind = source.startswith((".", "/", "~"))
        else:
            source, target = volume["source"], volume["target"]
            read_only = bool(volume.get("read_only"))
            bind = volume.get("type") == "bind"
        out.append(Mount(source, target, read_only, bind))
    return out


def assert_mounts_sound(path: Path = COMPOSE) -> None:
    """Bind mounts come from this repo, read-only; every named volume is declared and used."""
    declared = set(compose(path).get("volumes") or {})
    found = services(path)
    for name, spec in found.items():
        for mount in mounts(spec):
            if mount.bind:
                source = (REPO / mount.source).resolve()
                assert source.exists(), f"{name}: bind mount source {mount.source} missing"
                assert source.is_relative_to(REPO), f"{name}: {mount.source} is outside the repo"
                assert mount.read_only, f"{name}: mount {mount.source} read-only, please"
            else:
                assert mount.source in declared, f"{name}: volume {mount.source} not declared"
    used = {m.source for spec in found.values() for m in mounts(spec) if not m.bind}
    assert declared == used, f"declared but unused volumes: {declared - used}"


def command(service: Mapping[str, Any]) -> list[str]:
    found = service.get("command")
    assert found, "no command"
    return list(found) if isinstance(found, list) else shlex.split(found)


def parse_zrmon(argv: list[str]) -> argparse.Namespace:
    """``zrmon`` argv through the real parser; an unknown command or flag fails the test."""
    try:
        return build_parser().parse_args(argv)
    except SystemExit as exc:
        raise AssertionError(f"`zrmon {shlex.join(argv)}` is not a valid zrmon command "
                             f"(argparse exit {exc.code})") from None


def healthcheck_test(service: Mapping[str, Any]) -> list[str]:
    check = service.get("healthcheck") or {}
    test = check.get("test")
    assert test, "no healthcheck test"
    if isinstance(test, str):
        return ["CMD-SHELL", test]
    return list(test)


_URL = re.compile(r"https?://(?P<host>[^/:'\"\s]+):(?P<port>\d+)(?P<path>/[^'\"\s)]*)")


def probed_urls(test: list[str]) -> list[tuple[str, int, str]]:
    """(host, port, path) of every URL a healthcheck command requests."""
    return [(m["host"], int(m["port"]), m["path"]) for part in test for m in _URL.finditer(part)]


# ------------------------------------------------------------------ HAProxy

def haproxy_sections(path: Path = HAPROXY_CFG) -> dict[str, list[list[str]]]:
    """HAProxy's configuration: ``"backend NAME"`` (etc.) to its lines, each split in words.

    A section starts at an unindented keyword line; comments and blank lines are dropped.
    """
    out: dict[str, list[list[str]]] = {}
    current: list[list[str]] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if not raw[0].isspace():
            assert line not in out, f"{path.name}:{number}: section {line!r} twice"
            current = out[line] = []
        else:
            assert current is not None, f"{path.name}:{number}: a setting outside a section"
            current.append(line.split())
    return out


# ------------------------------------------------------------------ Dockerfile

@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    stage: int          # -1 before the first FROM (global ARGs)
    line: int

    def exec_form(self) -> list[str] | None:
        """The JSON (exec) form's argv, or None for the shell form."""
        text = self.args.strip()
        if not text.startswith("["):
            return None
        value = json.loads(text)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), \
            f"Dockerfile:{self.line}: {self.keyword} is not a JSON list of strings"
        return value


def dockerfile() -> list[Instruction]:
    """Instructions with line continuations joined and comments dropped."""
    out: list[Instruction] = []
    stage, pending, start = -1, "", 0
    for number, raw in enumerate(DOCKERFILE.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        text = pending + line
        pending = ""
        keyword, _, args = text.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        out.append(Instruction(keyword, args.strip(), stage, start))
    assert not pending, "Dockerfile ends inside a line continuation"
    return out


def final_stage() -> list[Instruction]:
    instructions = dockerfile()
    last = max(i.stage for i in instructions)
    return [i for i in instructions if i.stage == last]


def dockerfile_env() -> dict[str, str]:
    """ENV of the final stage (``KEY=VALUE`` pairs, quotes removed)."""
    env: dict[str, str] = {}
    for instruction in final_stage():
        if instruction.keyword == "ENV":
            for pair in shlex.split(instruction.args):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def dockerfile_healthcheck() -> list[str]:
    """The final stage's HEALTHCHECK as a Compose-style test list (``["CMD", argv…]``)."""
    found = [i for i in final_stage() if i.keyword == "HEALTHCHECK"]
    assert len(found) == 1, "the Dockerfile should have exactly one HEALTHCHECK"
    _options, keyword, argv = found[0].args.partition("CMD")
    assert keyword, f"HEALTHCHECK without CMD: {found[0].args}"
    value = json.loads(argv)
    assert isinstance(value, list), "HEALTHCHECK CMD should use the exec (JSON) form"
    return ["CMD", *(str(part) for part in value)]


def dockerignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    index = 0
    pattern = pattern.strip("/")
    while index < len(pattern):
        if pattern.startswith("**/", index):
            out += "(?:.*/)?"
            index += 3
        elif pattern.startswith("**", index):
            out += ".*"
            index += 2
        elif pattern[index] == "*":
            out += "[^/]*"
            index += 1
        elif pattern[index] == "?":
            out += "[^/]"
            index += 1
        else:
            out += re.escape(pattern[index])
            index += 1
    return re.compile(out + r"\Z")


def docker_ignored(path: str) -> bool:
    """Whether .dockerignore keeps ``path`` (relative to the context) out of the build.

    A path is out when it or a parent directory matches; the last matching pattern
    wins and ``!pattern`` brings a path back, as in Docker.
    """
    parts = PurePosixPath(path).parts
    candidates = ["/".join(parts[:end]) for end in range(1, len(parts) + 1)]
    ignored = False
    for pattern in dockerignore_patterns():
        negate = pattern.startswith("!")
        regex = _pattern_regex(pattern[1:] if negate else pattern)
        if any(regex.match(candidate) for candidate in candidates):
            ignored = not negate
    return ignored
