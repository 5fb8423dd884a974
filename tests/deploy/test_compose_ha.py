"""docker-compose.ha.yml and its HAProxy configuration, checked structurally (no Docker here).

The HA stack (docs/ha.md) adds PostgreSQL for the shared state, runs two receivers
behind a proxy and two schedulers. Each test asserts something that would otherwise
only show on a production host: a replica without the shared state, two replicas on
one spool or one name, a proxy balancing over a receiver that does not exist, a
variable the operator was never told about.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

import pytest
from support.deploy import (
    COMPOSE_HA,
    CONFIG_ENV,
    ENV_HA_EXAMPLE,
    HAPROXY_CFG,
    REPO,
    MissingVariableError,
    assert_mounts_sound,
    command,
    compose,
    dockerfile_env,
    env_example,
    environment,
    haproxy_sections,
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

RECEIVERS = ("receiver-1", "receiver-2")
SCHEDULERS = ("scheduler-1", "scheduler-2")
REPLICAS = RECEIVERS + SCHEDULERS
LONG_RUNNING_RESTART = {"always", "unless-stopped"}
STACK_SECRETS = {"ZOOM_WEBHOOK_SECRET_TOKEN", "INFLUXDB_ADMIN_PASSWORD",
                 "ZRMON_INFLUX_PASSWORD", "GRAFANA_INFLUX_PASSWORD", "GRAFANA_ADMIN_PASSWORD",
                 "POSTGRES_PASSWORD",
                 # Generated per data directory on one machine; the replicas must share it.
                 "ZRMON_HASH_SALT"}
HAPROXY_CONFIG_PATH = "/usr/local/etc/haproxy/haproxy.cfg"


def _services() -> dict[str, dict[str, Any]]:
    return services(COMPOSE_HA)


def _example() -> dict[str, str]:
    """What the operator's .env holds: both example files, concatenated."""
    return {**env_example(), **env_example(ENV_HA_EXAMPLE)}


def _depends(name: str) -> dict[str, str]:
    depends = _services()[name].get("depends_on") or {}
    assert isinstance(depends, dict), f"{name}: depends_on as a list has no conditions"
    return {target: (how or {}).get("condition", "service_started")
            for target, how in depends.items()}


def _filled() -> dict[str, str]:
    """The example files with every required secret given a value of its own."""
    return {key: value or (f"x{key.lower()}" if key in STACK_SECRETS else value)
            for key, value in _example().items()}


def _resolved_env(name: str) -> dict[str, str]:
    """The service's environment as Compose would pass it, every secret filled in."""
    filled = _filled()
    return {key: interpolate(value, filled)
            for key, value in environment(_services()[name]).items()}


def _channel_variables() -> set[str]:
    text = (REPO / "rules" / "channels.yaml").read_text(encoding="utf-8")
    return set(re.findall(r":\s*\"[^\"\n]*\$\{([A-Za-z_][A-Za-z0-9_]*)", text))


def test_the_ha_stack_has_its_services() -> None:
    assert set(_services()) == {"postgres", "influxdb", "influx-setup", *RECEIVERS, "proxy",
                                *SCHEDULERS, "grafana"}
    assert set(zrmon_services(COMPOSE_HA)) == {"influx-setup", *REPLICAS}


@pytest.mark.parametrize("name", sorted(set(services(COMPOSE_HA)) - {"influx-setup"}))
def test_every_long_running_service_restarts_and_has_a_healthcheck(name: str) -> None:
    spec = _services()[name]
    assert spec.get("image") or spec.get("build"), f"{name}: neither image nor build"
    assert str(spec.get("restart", "")) in LONG_RUNNING_RESTART, name
    check = spec.get("healthcheck")
    assert check and not check.get("disable"), f"{name}: no healthcheck"
    test = healthcheck_test(spec)
    assert test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, f"{name}: bad test {test!r}"
    assert {"interval", "timeout", "retries"} <= set(check), f"{name}: incomplete {check!r}"


def test_setup_is_a_one_shot_job_the_replicas_wait_for() -> None:
    setup = _services()["influx-setup"]
    assert str(setup["restart"]) == "no"
    assert setup["healthcheck"] == {"disable": True}
    assert parse_zrmon(command(setup)).influx_command == "setup"
    assert _depends("influx-setup") == {"influxdb": "service_healthy",
                                        "postgres": "service_healthy"}
    for name in REPLICAS:
        assert _depends(name)["influx-setup"] == "service_completed_successfully", name


def test_depends_on_names_real_services_and_postgres_comes_first() -> None:
    names = set(_services())
    for name in names:
        for target in _depends(name):
            assert target in names, f"{name} depends on unknown service {target!r}"
    for name in zrmon_services(COMPOSE_HA):
        assert _depends(name)["postgres"] == "service_healthy", name
    assert set(_depends("proxy")) == set(RECEIVERS)
    assert _depends("grafana") == {"influxdb": "service_healthy"}


def test_postgres_is_the_official_image_with_a_volume_and_a_tcp_readiness_check() -> None:
    postgres = _services()["postgres"]
    assert postgres["image"] == "postgres:16"
    (data,) = mounts(postgres)
    assert data.target == "/var/lib/postgresql/data" and not data.bind
    test = healthcheck_test(postgres)
    assert test[:2] == ["CMD", "pg_isready"]
    # Over TCP: the image's first-start initialisation serves the socket only.
    assert test[test.index("-h") + 1] == "127.0.0.1"
    env = environment(postgres)
    assert variables(env["POSTGRES_PASSWORD"]) == {"POSTGRES_PASSWORD"}
    for flag, variable in (("-U", "POSTGRES_USER"), ("-d", "POSTGRES_DB")):
        assert variables(test[test.index(flag) + 1]) == variables(env[variable]) == {variable}


def test_every_zrmon_service_shares_the_one_postgres_state() -> None:
    postgres = _resolved_env("postgres")
    urls = set()
    for name in zrmon_services(COMPOSE_HA):
        env = _resolved_env(name)
        assert "ZRMON_STATE_URL" in env, f"{name}: no ZRMON_STATE_URL"
        url = urlparse(env["ZRMON_STATE_URL"])
        assert url.scheme == "postgresql" and url.hostname == "postgres" and url.port == 5432
        assert (url.username, url.password, url.path) == (
            postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"],
            "/" + postgres["POSTGRES_DB"]), name
        assert Config.from_env(env).state_url == env["ZRMON_STATE_URL"]
        urls.add(env["ZRMON_STATE_URL"])
    assert len(urls) == 1


def test_each_replica_has_its_own_name_and_data_volume() -> None:
    data_dir = dockerfile_env()["ZRMON_DATA_DIR"]
    names: dict[str, str] = {}
    volumes: dict[str, str] = {}
    for name in REPLICAS:
        names[name] = environment(_services()[name]).get("ZRMON_REPLICA", "")
        assert names[name] and "${" not in names[name], f"{name}: no fixed ZRMON_REPLICA"
        found = [m for m in mounts(_services()[name]) if m.target == data_dir]
        assert found and not found[0].bind, f"{name}: {data_dir} is not a named volume"
        volumes[name] = found[0].source
    assert len(set(names.values())) == len(REPLICAS), f"replica names repeat: {names}"
    assert len(set(volumes.values())) == len(REPLICAS), f"volumes shared: {volumes}"
    assert names == {name: name for name in REPLICAS}


def test_receivers_share_the_hash_salt() -> None:
    salts = {_resolved_env(name)["ZRMON_HASH_SALT"] for name in RECEIVERS}
    assert len(salts) == 1 and "" not in salts


def test_bind_mount_sources_exist_and_named_volumes_are_declared() -> None:
    assert_mounts_sound(COMPOSE_HA)


def test_every_variable_is_in_the_example_files_and_the_ha_one_only_adds() -> None:
    used = set().union(*(variables(text) for text in strings(compose(COMPOSE_HA))))
    base, added = set(env_example()), set(env_example(ENV_HA_EXAMPLE))
    assert base & added == set(), f"set in both example files: {sorted(base & added)}"
    assert used - base - added == set(), f"in neither example file: {sorted(used - base - added)}"
    assert added - used == set(), f".env.ha.example sets unused: {sorted(added - used)}"


def test_stack_secrets_are_required_and_the_examples_ship_none() -> None:
    example = _example()
    for secret in STACK_SECRETS:
        assert example[secret] == "", f"an example file ships a value for {secret}"
    filled = {name: value or "x" for name, value in example.items()}
    for text in strings(compose(COMPOSE_HA)):
        interpolate(text, filled)
    for secret in STACK_SECRETS:
        missing = {**filled, secret: ""}
        with pytest.raises(MissingVariableError) as raised:
            for text in strings(compose(COMPOSE_HA)):
                interpolate(text, missing)
        assert raised.value.args[0] == secret


def test_app_services_set_only_variables_the_app_reads() -> None:
    channel_secrets = _channel_variables()
    for name, spec in zrmon_services(COMPOSE_HA).items():
        for variable in environment(spec):
            if variable.startswith(("ZRMON_", "ZOOM_")):
                assert variable in CONFIG_ENV, f"{name}: {variable} is not a Config setting"
            else:
                assert variable in channel_secrets, \
                    f"{name}: {variable} is neither a Config setting nor a channel secret"
    for name in SCHEDULERS:
        missing = channel_secrets - set(environment(_services()[name]))
        assert not missing, f"channel secrets not passed to {name}: {missing}"
        assert "ZOOM_WEBHOOK_SECRET_TOKEN" not in environment(_services()[name]), name
    for name in RECEIVERS:
        assert not channel_secrets & set(environment(_services()[name])), name


def _app_config(name: str) -> Config:
    config = Config.from_env(_resolved_env(name))
    args = parse_zrmon(command(_services()[name]))
    return config.with_(evaluate=False) if getattr(args, "no_rules", False) else config


def test_receivers_receive_only_and_schedulers_evaluate() -> None:
    for name in RECEIVERS:
        args = parse_zrmon(command(_services()[name]))
        assert args.command == "serve" and args.no_rules, f"{name}: not `serve --no-rules`"
        assert args.host == "0.0.0.0", "the proxy reaches it from another container"
        assert _app_config(name).evaluate is False
    for name in SCHEDULERS:
        assert parse_zrmon(command(_services()[name])).command == "scheduler", name
        config = _app_config(name)
        assert config.evaluate is True
        rules = [m for m in mounts(_services()[name]) if m.target == str(config.rules_dir)]
        assert rules and rules[0].source == "./rules" and rules[0].read_only, name


def _listening_port(name: str) -> int:
    args = parse_zrmon(command(_services()[name]))
    return int(args.port if args.command == "serve" else args.admin_port)


@pytest.mark.parametrize("name", REPLICAS)
def test_replica_healthchecks_probe_readyz_where_the_command_listens(name: str) -> None:
    test = healthcheck_test(_services()[name])
    assert test[0] == "CMD" and test[1] == "python", f"{name}: the slim image has no curl"
    assert probed_urls(test) == [("127.0.0.1", _listening_port(name), "/readyz")]


def _backends() -> dict[str, list[list[str]]]:
    return {section.split()[1]: lines for section, lines in haproxy_sections().items()
            if section.startswith("backend ")}


def test_the_proxy_runs_the_committed_haproxy_config() -> None:
    proxy = _services()["proxy"]
    (config,) = [m for m in mounts(proxy) if m.target == HAPROXY_CONFIG_PATH]
    assert config.bind and config.read_only
    assert (REPO / config.source).resolve() == HAPROXY_CFG


def test_the_proxy_balances_over_both_receivers_checked_by_readyz() -> None:
    backends = _backends()
    assert backends, "haproxy.cfg has no backend"
    for backend, lines in backends.items():
        servers = {line[1]: line[2] for line in lines if line[0] == "server"}
        assert servers == {name: f"{name}:{_listening_port(name)}" for name in RECEIVERS}, \
            f"backend {backend} balances over {servers}"
        assert all("check" in line for line in lines if line[0] == "server"), backend
        assert ["option", "httpchk"] in lines, backend
        assert ["http-check", "expect", "status", "200"] in lines, backend
    checked = {backend: next(line[line.index("uri") + 1] for line in lines
                             if line[:2] == ["http-check", "send"])
               for backend, lines in backends.items()}
    assert "/readyz" in checked.values(), f"no backend checks /readyz: {checked}"
    assert set(checked.values()) <= {"/readyz", "/healthz"}


def _frontend(name: str) -> list[list[str]]:
    return haproxy_sections()[f"frontend {name}"]


def test_the_proxy_forwards_post_webhooks_to_ready_receivers_first() -> None:
    webhooks = _frontend("webhooks")
    assert ["acl", "webhook", "path", "/webhooks/zoom"] in webhooks
    assert ["http-request", "deny", "deny_status", "405", "if", "webhook", "!METH_POST"] \
        in webhooks
    assert ["http-request", "deny", "deny_status", "404", "unless", "webhook", "or",
            "health"] in webhooks
    ready = [line for line in webhooks if line[0] == "use_backend"]
    assert ready == [["use_backend", "receivers_ready", "if", "{", "nbsrv(receivers_ready)",
                      "ge", "1", "}"]]
    (default,) = [line for line in webhooks if line[0] == "default_backend"]
    assert {"receivers_ready", default[1]} == set(_backends())


def test_the_proxy_publishes_the_port_its_frontend_binds() -> None:
    (bind,) = [line for line in _frontend("webhooks") if line[0] == "bind"]
    port = int(bind[1].rpartition(":")[2])
    (published,) = _services()["proxy"]["ports"]
    assert int(interpolate(str(published), _example()).split(":")[-1]) == port


def test_the_proxy_healthcheck_asks_its_monitor_uri() -> None:
    monitor = _frontend("monitor")
    (bind,) = [line for line in monitor if line[0] == "bind"]
    host, _, port = bind[1].rpartition(":")
    (uri,) = [line[1] for line in monitor if line[0] == "monitor-uri"]
    assert probed_urls(healthcheck_test(_services()["proxy"])) == [(host, int(port), uri)]
    assert any(line[:2] == ["monitor", "fail"] for line in monitor), \
        "the proxy should be unhealthy while no receiver is alive"


def test_images_are_pinned() -> None:
    example = _example()
    for name, spec in _services().items():
        image = interpolate(spec["image"], example)
        assert ":" in image and not image.endswith(":latest"), f"{name}: unpinned {image}"
    assert _services()["influxdb"]["image"].startswith("influxdb:1.")
    assert _services()["proxy"]["image"].startswith("haproxy:")
    images = {spec["image"] for spec in zrmon_services(COMPOSE_HA).values()}
    assert images == {compose()["x-zrmon-image"]["image"]}, "one image, as in the base file"


def test_only_the_proxy_and_grafana_are_public() -> None:
    example = _example()
    public, loopback = set(), set()
    for name, spec in _services().items():
        for port in spec.get("ports") or []:
            parts = interpolate(str(port), example).split(":")
            if len(parts) == 3:
                assert parts[0] == "127.0.0.1", f"{name}: {port}"
                loopback.add((name, int(parts[1])))
            else:
                public.add((name, int(parts[-1])))
    assert public == {("proxy", 8080), ("grafana", 3000)}
    assert {name for name, _ in loopback} == set(RECEIVERS), "metrics of each receiver"
    assert len({port for _, port in loopback}) == len(RECEIVERS), "metrics ports collide"


def test_every_setting_in_the_ha_example_is_documented() -> None:
    guide = (REPO / "docs" / "ha.md").read_text(encoding="utf-8")
    undocumented = sorted(name for name in env_example(ENV_HA_EXAMPLE)
                          if f"`{name}`" not in guide)
    assert not undocumented, f"docs/ha.md does not explain {undocumented}"
