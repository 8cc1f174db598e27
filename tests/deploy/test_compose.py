"""docker-compose.yml: valid against the Compose Specification schema, and coherent (every
dependency, volume, URL and `crm` command it names exists). No Docker engine runs here, so
this is what can be proven without `docker compose up`.

compose-spec.json beside this file is the Compose Specification JSON Schema as shipped on
PyPI in docker-compose 1.29.2 (compose/config/compose_spec.json, Apache-2.0, sha256
0dc04bd3...2bac). Later versions of the spec only add fields, so a file valid here is valid
there; the file therefore avoids fields newer than that schema (top-level ``name``,
``depends_on.required``, inline ``configs.content``).
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
import yaml

from crm.kernel.settings import Settings
from crm.platform.bootstrap import CONTEXTS, fed_by_bus
from tests.support.crm_cli import parse

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
SCHEMA = Path(__file__).with_name("compose-spec.json")
DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$")
INTERPOLATION = re.compile(r"\$\{(?P<var>[A-Z0-9_]+)(?::?-(?P<default>[^}]*))?\}")
URL_SCHEMES = {
    "CRM_EVENT_STORE": {"sqlite", "postgresql", "esdb", "kurrentdb"},
    "CRM_READ_STORE": {"sqlite", "mongodb"},
    "CRM_KEY_STORE": {"sqlite", "postgresql"},
    "CRM_BUS": {"kafka"},
}


@cache
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def schema_errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads(SCHEMA.read_text())
    # its $schema names draft 2019-09 by a non-canonical URL, which jsonschema cannot look up
    validator = jsonschema.Draft201909Validator(schema)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


def defaults(value: str) -> str:
    """``${VAR:-default}`` as compose resolves it with VAR unset; a variable without a
    default would make `docker compose up` depend on the caller's environment."""

    def default(m: re.Match[str]) -> str:
        assert m["default"] is not None, f"{m[0]} has no default"
        return m["default"]

    return INTERPOLATION.sub(default, value)


def crm_services() -> dict[str, dict[str, Any]]:
    return {
        name: s
        for name, s in compose()["services"].items()
        if s.get("image", "").startswith("crm-platform")
    }


def test_the_file_matches_the_compose_specification_schema() -> None:
    assert schema_errors(compose()) == []


def test_the_schema_check_catches_a_misspelt_field() -> None:
    broken = copy.deepcopy(compose())
    broken["services"]["customer"]["healthchek"] = broken["services"]["customer"]["healthcheck"]
    broken["services"]["sales"]["depends_on"]["kafka"]["condition"] = "service_ready"
    errors = schema_errors(broken)
    assert any("healthchek" in e for e in errors)
    assert any("service_ready" in e for e in errors)


def test_every_service_has_an_image_and_a_healthcheck_with_valid_durations() -> None:
    for name, service in compose()["services"].items():
        assert service.get("image"), name
        check = service.get("healthcheck", {})
        assert check.get("test"), name
        assert not check.get("disable"), name
        for field in ("interval", "timeout", "start_period"):
            assert DURATION.match(check[field]), f"{name}: {field}={check[field]!r}"


def test_dependencies_exist_and_are_awaited_healthy() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for target, condition in service.get("depends_on", {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            assert condition == {"condition": "service_healthy"}, name
            assert "healthcheck" in services[target], target


def test_named_volumes_are_declared_and_every_declared_volume_is_used() -> None:
    declared = set(compose()["volumes"])
    used = set()
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            assert not source.startswith((".", "/", "~")), f"{name}: bind mount {volume}"
            assert source in declared, f"{name}: volume {source} not declared"
            used.add(source)
    assert used == declared


def test_crm_services_build_a_stage_of_the_dockerfile() -> None:
    stages = re.findall(r"^FROM \S+ AS (\S+)$", (ROOT / "Dockerfile").read_text(), re.M)
    for name, service in crm_services().items():
        build = service["build"]
        assert (ROOT / build["context"] / "Dockerfile").is_file(), name
        assert build["target"] in stages, name
        assert service["read_only"] is True, name


def test_every_crm_command_exists_in_the_cli() -> None:
    for _name, service in crm_services().items():
        parse(service["command"])  # raises Refused with the reason


def test_every_context_has_an_api_a_relay_and_the_workers_its_projections_need() -> None:
    commands = {tuple(s["command"]) for s in crm_services().values()}
    assert ("serve", "console") in commands  # the web console, its own service
    for context in CONTEXTS:
        assert ("serve", context.name) in commands
        assert ("relay", context.name) in commands
        if fed_by_bus(context):  # projections fed by other contexts' topics
            assert ("worker", context.name) in commands


def test_crm_settings_are_known_and_their_urls_point_at_compose_services() -> None:
    services = compose()["services"]
    known = {f"CRM_{field.upper()}" for field in Settings.model_fields}
    stores = compose()["x-event-stores"]
    for name, service in crm_services().items():
        env = {k: defaults(str(v)) for k, v in service["environment"].items()}
        assert set(env) <= known, f"{name}: unknown settings {set(env) - known}"
        Settings.model_validate({k.removeprefix("CRM_").lower(): v for k, v in env.items()})
        assert env["CRM_EVENT_STORE"] == stores["kurrentdb"]
        urls = [*((k, env[k]) for k in URL_SCHEMES), ("CRM_EVENT_STORE", stores["postgresql"])]
        for key, url in urls:
            parts = urlsplit(url)
            assert parts.scheme in URL_SCHEMES[key], f"{name}: {key}={url}"
            assert parts.hostname in services, f"{name}: {key} names no service"
            assert parts.port, f"{name}: {key} has no port"


def test_mongodb_is_a_replica_set_the_read_store_url_names() -> None:
    mongo = compose()["services"]["mongo"]
    replica_set = mongo["command"][mongo["command"].index("--replSet") + 1]
    assert "--bind_ip_all" in mongo["command"]
    probe = " ".join(mongo["healthcheck"]["test"])
    assert f"_id: '{replica_set}'" in probe
    assert "rs.initiate" in probe
    for service in crm_services().values():
        url = urlsplit(service["environment"]["CRM_READ_STORE"])
        assert parse_qs(url.query)["replicaSet"] == [replica_set]


def test_kafka_runs_in_kraft_mode_and_advertises_the_address_the_crm_uses() -> None:
    env = compose()["services"]["kafka"]["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert not any("ZOOKEEPER" in k for k in env)
    advertised = dict(
        reversed(listener.split("://")) for listener in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    )
    bus = urlsplit(next(iter(crm_services().values()))["environment"]["CRM_BUS"])
    assert f"{bus.hostname}:{bus.port}" in advertised


def test_published_host_ports_do_not_collide() -> None:
    ports = [
        str(p).split(":")[0] for s in compose()["services"].values() for p in s.get("ports", [])
    ]
    assert len(ports) == len(set(ports))


@pytest.mark.parametrize("variable", ["CRM_EVENT_STORE", "CRM_SECRET", "CRM_LOG_LEVEL"])
def test_overridable_settings_have_defaults(variable: str) -> None:
    env = compose()["x-crm"]["environment"]
    assert INTERPOLATION.fullmatch(env[variable]), variable
    defaults(env[variable])
