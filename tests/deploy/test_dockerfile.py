"""The Dockerfile and .dockerignore, checked against the repo and the real CLI parser."""

from __future__ import annotations

import shlex
from dataclasses import fields

from support.deploy import (
    REPO,
    docker_ignored,
    dockerfile,
    dockerfile_env,
    dockerfile_healthcheck,
    final_stage,
    parse_zrmon,
    probed_urls,
)

from monitor.core.config import Config

CONFIG_ENV = {spec.metadata["env"] for spec in fields(Config)}


def _one(keyword: str) -> list[str]:
    found = [i for i in final_stage() if i.keyword == keyword]
    assert len(found) == 1, f"the final stage should have exactly one {keyword}"
    argv = found[0].exec_form()
    assert argv is not None, f"{keyword} should use the exec (JSON) form: signals reach zrmon"
    return argv


def test_final_stage_runs_as_an_unprivileged_user() -> None:
    users = [i.args for i in final_stage() if i.keyword == "USER"]
    assert users, "no USER: the service would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), user


def test_entrypoint_and_default_command_are_the_receiver() -> None:
    assert _one("ENTRYPOINT") == ["zrmon"]
    args = parse_zrmon(_one("CMD"))
    assert args.command == "serve"
    assert args.host == "0.0.0.0"


def test_healthcheck_probes_readyz_where_the_default_command_listens() -> None:
    args = parse_zrmon(_one("CMD"))
    assert probed_urls(dockerfile_healthcheck()) == [("127.0.0.1", args.port, "/readyz")]


def test_the_package_is_installed_not_linked_to_the_source() -> None:
    runs = " ".join(i.args for i in dockerfile() if i.keyword == "RUN")
    words = shlex.split(runs.replace("&&", " ; "))
    installs = [n for n, word in enumerate(words) if word == "install" and n
                and words[n - 1].endswith("pip")]
    assert any(words[n + 1] == "." for n in installs), "no `pip install .`"
    assert "-e" not in words and "--editable" not in words


def test_the_data_dir_is_a_volume_and_every_setting_is_a_config_name() -> None:
    env = dockerfile_env()
    assert env["ZRMON_DATA_DIR"] == "/var/lib/zrmon"
    volumes = " ".join(i.args for i in final_stage() if i.keyword == "VOLUME")
    assert "/var/lib/zrmon" in volumes
    for name in env:
        if name.startswith(("ZRMON_", "ZOOM_")):
            assert name in CONFIG_ENV, f"ENV {name} is not a Config setting"
    assert "ZOOM_WEBHOOK_SECRET_TOKEN" not in env, "a secret baked into the image"


def _copies() -> list[tuple[list[str], str, bool]]:
    """(sources, destination, from another stage) of every COPY/ADD."""
    out = []
    for instruction in dockerfile():
        if instruction.keyword in ("COPY", "ADD"):
            words = shlex.split(instruction.args)
            from_stage = any(w.startswith("--from=") for w in words)
            paths = [w for w in words if not w.startswith("--")]
            out.append((paths[:-1], paths[-1], from_stage))
    return out


def test_rules_are_copied_to_the_rules_dir() -> None:
    rules_dir = dockerfile_env()["ZRMON_RULES_DIR"]
    assert (["rules"], rules_dir, False) in [(s, d.rstrip("/"), f) for s, d, f in _copies()]


def test_every_copied_path_exists_and_is_in_the_build_context() -> None:
    for sources, _, from_stage in _copies():
        if from_stage:
            continue
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source}: not in the repo"
            assert not docker_ignored(source), f"COPY {source}: excluded by .dockerignore"
    # The package's build reads these: pyproject names README.md as its readme.
    for needed in ("pyproject.toml", "README.md", "monitor/cli.py",
                   "monitor/webhooks/catalog.json", "rules/channels.yaml"):
        assert not docker_ignored(needed), needed


def test_dockerignore_keeps_secrets_state_and_caches_out() -> None:
    for path in (".env", ".env.production", ".git/config", ".venv/bin/python",
                 "var/spool/seg-1", "monitor/__pycache__/cli.cpython-311.pyc",
                 "tests/conftest.py", "zoom_rooms_monitor.egg-info/PKG-INFO"):
        assert docker_ignored(path), f"{path} would be sent to the Docker daemon"


def test_dockerignore_matching_follows_docker_rules() -> None:
    # A self-check of the matcher the other tests rely on.
    assert docker_ignored("monitor/store/__pycache__/x.pyc")
    assert not docker_ignored("monitor/store/influx.py")
    assert not docker_ignored("rules/tests/co2.yaml")
    assert docker_ignored("tests")
    assert not docker_ignored("monitor/tests_helpers.py")  # "tests" matches whole names only


def test_every_data_file_of_the_package_ships_in_the_image() -> None:
    # The image installs the package (not editable): a template or JSON file that is
    # not in package-data works from a checkout and is missing in the container.
    import fnmatch
    import tomllib

    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["monitor"]
    package = REPO / "monitor"
    data_files = [path.relative_to(package).as_posix() for path in package.rglob("*")
                  if path.is_file() and path.suffix not in (".py", ".pyc")
                  and "__pycache__" not in path.parts]
    assert data_files, "expected data files (catalog.json, py.typed)"
    missing = [name for name in data_files
               if not any(fnmatch.fnmatch(name, pattern) for pattern in patterns)]
    assert not missing, f"not in [tool.setuptools.package-data]: {missing}"
