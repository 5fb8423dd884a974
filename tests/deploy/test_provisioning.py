"""Grafana provisioning (data source and dashboard provider), checked without Grafana.

What matters is that the files parse, say what the data contract says (uid
``zrmon-influxdb``, InfluxQL, the ``influxdb`` service), that every ``${VAR}`` they use
is set in the Grafana container, that the paths they name are where compose mounts
this repo's files, and that every dashboard JSON in the repo points at that uid.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from support.deploy import (
    DASHBOARD_PROVIDER_YAML,
    DATASOURCE_UID,
    DATASOURCE_YAML,
    PROVISIONING,
    REPO,
    environment,
    grafana_variables,
    load_yaml,
    mounts,
    services,
    strings,
)

# Grafana's own data sources, which a panel or annotation may use beside ours.
BUILTIN_UIDS = {"grafana", "-- Grafana --", "-- Mixed --", "-- Dashboard --"}


def _datasource() -> dict[str, Any]:
    document = load_yaml(DATASOURCE_YAML)
    assert document["apiVersion"] == 1
    (source,) = document["datasources"]
    assert isinstance(source, dict)
    return source


def test_data_source_follows_the_contract() -> None:
    source = _datasource()
    assert DATASOURCE_UID == "zrmon-influxdb"   # docs: the shared rollups contract
    assert source["uid"] == DATASOURCE_UID
    assert source["type"] == "influxdb"
    assert source["access"] == "proxy"
    assert source["jsonData"]["version"] == "InfluxQL"
    assert source["jsonData"]["dbName"] == "${ZRMON_INFLUX_DB}"
    assert "password" not in source, "the password belongs in secureJsonData (encrypted)"
    assert source["secureJsonData"]["password"].startswith("$")
    assert source["editable"] is False


def test_data_source_url_is_the_influxdb_service() -> None:
    url = urlparse(_datasource()["url"])
    assert url.scheme == "http"
    assert url.hostname in services()
    probe = services()[str(url.hostname)]["healthcheck"]["test"]
    assert any(f":{url.port}/" in part for part in probe), "not the port the service serves"


def test_every_variable_in_provisioning_is_set_in_the_grafana_container() -> None:
    grafana = environment(services()["grafana"])
    for path in sorted(PROVISIONING.rglob("*.yaml")):
        used = set().union(*(grafana_variables(text) for text in strings(load_yaml(path))))
        missing = used - set(grafana)
        assert not missing, f"{path.relative_to(REPO)} uses unset {sorted(missing)}"
    assert {"ZRMON_INFLUX_DB", "GRAFANA_INFLUX_USER", "GRAFANA_INFLUX_PASSWORD"} <= set(grafana)


def _mount_target(source: Path) -> str:
    found = [m.target for m in mounts(services()["grafana"])
             if m.bind and (REPO / m.source).resolve() == source.resolve()]
    assert len(found) == 1, f"{source.relative_to(REPO)} is not mounted into grafana once"
    return found[0]


def test_provisioning_directories_are_mounted_where_grafana_reads_them() -> None:
    assert _mount_target(DATASOURCE_YAML.parent) == "/etc/grafana/provisioning/datasources"
    assert _mount_target(DASHBOARD_PROVIDER_YAML.parent) == "/etc/grafana/provisioning/dashboards"


def test_dashboard_provider_reads_the_mounted_dashboards() -> None:
    document = load_yaml(DASHBOARD_PROVIDER_YAML)
    assert document["apiVersion"] == 1
    (provider,) = document["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == _mount_target(REPO / "dashboards")
    assert provider["allowUiUpdates"] is False, "the repo's JSON is the source of truth"


def _datasource_refs(node: Any) -> Iterator[Any]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource":
                yield value
            yield from _datasource_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _datasource_refs(item)


def _datasource_variables(dashboard: dict[str, Any]) -> set[str]:
    variables = (dashboard.get("templating") or {}).get("list") or []
    return {f"${{{v['name']}}}" for v in variables if v.get("type") == "datasource"} | {
        f"${v['name']}" for v in variables if v.get("type") == "datasource"}


def _problems(dashboard: dict[str, Any]) -> list[str]:
    allowed = {DATASOURCE_UID} | BUILTIN_UIDS | _datasource_variables(dashboard)
    problems, ours = [], 0
    for ref in _datasource_refs(dashboard):
        uid = ref.get("uid") if isinstance(ref, dict) else ref
        if ref is None or (isinstance(ref, dict) and uid is None and ref.get("type") is None):
            continue                     # "use the panel's/dashboard's default"
        if uid not in allowed:
            problems.append(f"data source {ref!r}")
        if isinstance(ref, dict) and ref.get("type") == "influxdb" and uid != DATASOURCE_UID \
                and uid not in _datasource_variables(dashboard):
            problems.append(f"influxdb data source with uid {uid!r}")
        ours += uid == DATASOURCE_UID
    if not ours:
        problems.append(f"no panel uses the {DATASOURCE_UID} data source")
    return problems


def test_every_dashboard_in_the_repo_uses_the_provisioned_data_source() -> None:
    # Whatever dashboards exist (the generator may not have written any yet): none may
    # point at a data source Grafana will not have.
    for path in sorted((REPO / "dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        dashboard = dashboard.get("dashboard", dashboard)   # API export wrapper
        problems = _problems(dashboard)
        assert not problems, f"{path.relative_to(REPO)}: {problems}"


def test_the_reference_check_rejects_a_foreign_data_source() -> None:
    good = {"panels": [{"datasource": {"type": "influxdb", "uid": DATASOURCE_UID}}]}
    assert _problems(good) == []
    foreign = {"panels": [{"datasource": {"type": "influxdb", "uid": "P951FEA4DE68E13C5"}}]}
    assert _problems(foreign)
    by_name = {"panels": [{"datasource": "InfluxDB"}]}
    assert _problems(by_name)


def test_the_dashboard_generator_targets_the_provisioned_uid() -> None:
    # The generator (monitor.dashboards) writes dashboards/*.json; what it produces from
    # the current code and rules must point at the data source provisioned here.
    from monitor.dashboards.generate import generate
    from monitor.dashboards.influxql import DATASOURCE_UID as GENERATOR_UID

    assert GENERATOR_UID == _datasource()["uid"] == DATASOURCE_UID
    generated = generate(REPO / "rules")
    assert generated, "the generator produced no dashboard"
    for name, text in generated.items():
        problems = _problems(json.loads(text))
        assert not problems, f"generated {name}: {problems}"
