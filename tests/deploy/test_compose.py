"""docker-compose.yml, checked structurally (no Docker engine here) against the repo and the app.

Each test reads the file the way Compose would and asserts something that would
otherwise only fail on a production host: a missing mount source, a variable the
operator was never told about, a healthcheck probing the wrong port, a setting the
application does not read.
"""

from __future__ import annotations

import re

import pytest
from support.deploy import (
    CONFIG_ENV,
    REPO,
    MissingVariableError,
    assert_mounts_sound,
    command,
    compose,
    dockerfile_env,
    env_example,
    environment,
    healthcheck_test,
    interpolate,
    mounts,
    parse_zrmon,
    probed_urls,
    services,
    strings,
    variables,
    zrmon_services,
)

from monitor.core.config import Config

LONG_RUNNING_RESTART = {"always", "unless-stopped"}
ONE_SHOT_RESTART = {"no", "on-failure"}
# The stack's own credentials: Compose must refuse to start without them, and the
# example file must not ship a value anyone could copy to production.
STACK_SECRETS = {"ZOOM_WEBHOOK_SECRET_TOKEN", "INFLUXDB_ADMIN_PASSWORD",
                 "ZRMON_INFLUX_PASSWORD", "GRAFANA_INFLUX_PASSWORD", "GRAFANA_ADMIN_PASSWORD"}


def _waited_for_by_exit_code() -> set[str]:
    """Services another one waits for with ``condition: service_completed_successfully``."""
    out = set()
    for spec in services().values():
        depends = spec.get("depends_on") or {}
        if isinstance(depends, dict):
            out |= {name for name, how in depends.items()
                    if (how or {}).get("condition") == "service_completed_successfully"}
    return out


def _channel_variables() -> set[str]:
    """``${NAME}`` used as a value in rules/channels.yaml, active or commented-out example.

    Only ``key: "…${NAME}…"`` counts: the file's header explains the syntax with a
    literal ``${NAME}`` that is no variable.
    """
    text = (REPO / "rules" / "channels.yaml").read_text(encoding="utf-8")
    return set(re.findall(r":\s*\"[^\"\n]*\$\{([A-Za-z_][A-Za-z0-9_]*)", text))


def test_the_stack_has_its_five_services() -> None:
    assert set(services()) == {"influxdb", "influx-setup", "receiver", "scheduler", "grafana"}
    assert set(zrmon_services()) == {"influx-setup", "receiver", "scheduler"}


@pytest.mark.parametrize("name", ["influxdb", "influx-setup", "receiver", "scheduler",
                                  "grafana"])
def test_every_service_has_image_or_build_restart_policy_and_healthcheck(name: str) -> None:
    spec = services()[name]
    assert spec.get("image") or spec.get("build"), f"{name}: neither image nor build"
    restart = str(spec.get("restart", ""))
    check = spec.get("healthcheck")
    assert check, f"{name}: no healthcheck"
    if name in _waited_for_by_exit_code():
        # A one-shot job has nothing to probe: its exit code is its health.
        assert restart.partition(":")[0] in ONE_SHOT_RESTART, f"{name}: restart {restart!r}"
        assert check == {"disable": True}, f"{name}: a one-shot job should disable the check"
        return
    assert restart in LONG_RUNNING_RESTART, f"{name}: restart {restart!r}"
    test = healthcheck_test(spec)
    assert test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, f"{name}: bad test {test!r}"
    assert {"interval", "timeout", "retries"} <= set(check), f"{name}: incomplete {check!r}"


def test_depends_on_names_real_services_and_setup_runs_first() -> None:
    names = set(services())
    for name, spec in services().items():
        for target in spec.get("depends_on") or {}:
            assert target in names, f"{name} depends on unknown service {target!r}"
    assert services()["influx-setup"]["depends_on"]["influxdb"]["condition"] == "service_healthy"
    for name in ("receiver", "scheduler"):
        condition = services()[name]["depends_on"]["influx-setup"]["condition"]
        assert condition == "service_completed_successfully", name


def test_build_context_and_dockerfile_exist() -> None:
    for name, spec in zrmon_services().items():
        build = spec["build"]
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile",
                                                                            "Dockerfile")
        assert (REPO / context).is_dir(), f"{name}: build context {context!r} missing"
        assert (REPO / context / dockerfile).is_file(), f"{name}: {dockerfile!r} missing"
    images = {spec["image"] for spec in zrmon_services().values()}
    assert len(images) == 1, f"the zrmon services should share one image, got {images}"


def test_bind_mount_sources_exist_and_named_volumes_are_declared() -> None:
    assert_mounts_sound()


def test_every_variable_compose_interpolates_is_in_env_example_and_back() -> None:
    used = set().union(*(variables(text) for text in strings(compose())))
    example = set(env_example())
    assert used - example == set(), f"not in .env.example: {sorted(used - example)}"
    assert example - used == set(), f".env.example sets unused: {sorted(example - used)}"


def test_stack_secrets_are_required_and_the_example_ships_none() -> None:
    example = env_example()
    for secret in STACK_SECRETS:
        assert example[secret] == "", f".env.example ships a value for {secret}"
    filled = {name: value or "x" for name, value in example.items()}
    for text in strings(compose()):
        interpolate(text, filled)            # everything resolves once secrets are set
    for secret in STACK_SECRETS:
        missing = {**filled, secret: ""}
        with pytest.raises(MissingVariableError) as raised:
            for text in strings(compose()):
                interpolate(text, missing)
        assert raised.value.args[0] == secret


def test_app_services_set_only_variables_the_app_reads() -> None:
    channel_secrets = _channel_variables()
    for name, spec in zrmon_services().items():
        for variable in environment(spec):
            if variable.startswith(("ZRMON_", "ZOOM_")):
                assert variable in CONFIG_ENV, f"{name}: {variable} is not a Config setting"
            else:
                assert variable in channel_secrets, \
                    f"{name}: {variable} is neither a Config setting nor a channel secret"
    scheduler = environment(services()["scheduler"])
    assert channel_secrets <= set(scheduler), \
        f"channel secrets not passed to the scheduler: {channel_secrets - set(scheduler)}"


def test_app_commands_are_real_zrmon_subcommands() -> None:
    expected = {"influx-setup": "influx", "receiver": "serve", "scheduler": "scheduler"}
    for name, spec in zrmon_services().items():
        argv = command(spec)
        args = parse_zrmon(argv)
        assert args.command == expected[name], f"{name}: runs `zrmon {args.command}`"
    assert parse_zrmon(command(services()["influx-setup"])).influx_command == "setup"


def _listening_port(name: str) -> int:
    args = parse_zrmon(command(services()[name]))
    return int(args.port if name == "receiver" else args.admin_port)


@pytest.mark.parametrize("name", ["receiver", "scheduler"])
def test_app_healthchecks_probe_readyz_where_the_command_listens(name: str) -> None:
    test = healthcheck_test(services()[name])
    assert test[0] == "CMD" and test[1] == "python", \
        f"{name}: the slim image has python, not curl: {test!r}"
    assert probed_urls(test) == [("127.0.0.1", _listening_port(name), "/readyz")]
    if name == "receiver":
        args = parse_zrmon(command(services()[name]))
        assert args.host == "0.0.0.0", "Zoom's requests come from outside the container"
        assert args.admin_host == "0.0.0.0", "/metrics is published (on the host's loopback)"


def test_healthchecks_of_the_other_services_probe_their_own_ports() -> None:
    influx = probed_urls(healthcheck_test(services()["influxdb"]))
    assert influx == [("influxdb", 8086, "/ping")]
    grafana = probed_urls(healthcheck_test(services()["grafana"]))
    assert grafana == [("127.0.0.1", 3000, "/api/health")]


def _app_config(name: str) -> Config:
    """The Config the service's process builds from its environment and its flags."""
    env = {k: v for k, v in environment(services()[name]).items() if "${" not in v}
    config = Config.from_env(env)
    args = parse_zrmon(command(services()[name]))
    return config.with_(evaluate=False) if getattr(args, "no_rules", False) else config


def test_only_the_scheduler_evaluates_rules() -> None:
    # Receiving only is an explicit switch (ZRMON_EVALUATE=false or --no-rules): without
    # it `zrmon serve` would refuse to start for want of a rules directory.
    assert _app_config("receiver").evaluate is False
    assert environment(services()["receiver"])["ZRMON_EVALUATE"] == "false"
    assert _app_config("scheduler").evaluate is True
    assert "ZRMON_EVALUATE" not in environment(services()["scheduler"])
    scheduler = environment(services()["scheduler"])["ZRMON_RULES_DIR"]
    rules_mount = [m for m in mounts(services()["scheduler"]) if m.target == scheduler]
    assert rules_mount and rules_mount[0].source == "./rules" and rules_mount[0].read_only


def test_receiver_and_scheduler_keep_state_in_their_own_volumes() -> None:
    data_dir = dockerfile_env()["ZRMON_DATA_DIR"]
    volumes = {}
    for name in ("receiver", "scheduler"):
        found = [m for m in mounts(services()[name]) if m.target == data_dir]
        assert found and not found[0].bind, f"{name}: {data_dir} is not a named volume"
        volumes[name] = found[0].source
    assert volumes["receiver"] != volumes["scheduler"]


def _reference(value: str) -> str:
    names = variables(value)
    assert len(names) == 1, f"expected one ${{VAR}} in {value!r}"
    return names.pop()


def test_influxdb_has_auth_on_and_every_client_uses_the_user_made_for_it() -> None:
    influx = environment(services()["influxdb"])
    assert influx["INFLUXDB_HTTP_AUTH_ENABLED"] == "true"
    for name in ("receiver", "scheduler"):
        env = environment(services()[name])
        assert env["ZRMON_INFLUX_URL"] == "http://influxdb:8086"
        assert _reference(env["ZRMON_INFLUX_USERNAME"]) == _reference(influx["INFLUXDB_USER"])
        assert (_reference(env["ZRMON_INFLUX_PASSWORD"])
                == _reference(influx["INFLUXDB_USER_PASSWORD"]))
        assert _reference(env["ZRMON_INFLUX_DB"]) == _reference(influx["INFLUXDB_DB"])
    setup = environment(services()["influx-setup"])
    assert _reference(setup["ZRMON_INFLUX_USERNAME"]) == _reference(influx["INFLUXDB_ADMIN_USER"])
    assert (_reference(setup["ZRMON_INFLUX_PASSWORD"])
            == _reference(influx["INFLUXDB_ADMIN_PASSWORD"]))
    grafana = environment(services()["grafana"])
    assert (_reference(grafana["GRAFANA_INFLUX_PASSWORD"])
            == _reference(influx["INFLUXDB_READ_USER_PASSWORD"]))
    assert _reference(grafana["GRAFANA_INFLUX_USER"]) == _reference(influx["INFLUXDB_READ_USER"])
    for name, spec in services().items():
        if name not in ("influxdb", "influx-setup"):
            assert not any("INFLUXDB_ADMIN_PASSWORD" in text for text in strings(spec)), \
                f"{name} can see the InfluxDB admin password"


def test_images_are_pinned() -> None:
    example = env_example()
    for name, spec in services().items():
        image = interpolate(spec["image"], example)
        assert ":" in image and not image.endswith(":latest"), f"{name}: unpinned {image}"
    assert services()["influxdb"]["image"].startswith("influxdb:1.")


def test_only_the_webhook_and_grafana_ports_are_public() -> None:
    example = env_example()
    public = set()
    for name, spec in services().items():
        for port in spec.get("ports") or []:
            resolved = interpolate(str(port), example)
            parts = resolved.split(":")
            if len(parts) == 3:
                assert parts[0] == "127.0.0.1", f"{name}: {resolved}"
            else:
                public.add((name, int(parts[-1])))
    assert public == {("receiver", _listening_port("receiver")), ("grafana", 3000)}
    metrics = [str(p) for p in services()["receiver"]["ports"] if str(p).endswith(":9108")]
    assert metrics and interpolate(metrics[0], example).startswith("127.0.0.1:")


def test_every_setting_in_env_example_is_documented() -> None:
    guide = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    undocumented = sorted(name for name in env_example() if f"`{name}`" not in guide)
    assert not undocumented, f"docs/deploy.md does not explain {undocumented}"
