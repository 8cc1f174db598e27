"""deploy/k8s: every overlay rendered and each manifest validated against the Kubernetes
schemas (kubernetes-validate, strict: unknown fields fail), then checked for what a schema
cannot see: Services that select pods, probes on real ports, resources, non-root pods,
an HPA and PDBs that target real workloads, NetworkPolicies that select real pods, settings
the CLI knows and URLs that reach the infrastructure.

No kustomize binary can be installed here: overlays are rendered by tests/support/kustomize.py
(the subset we use; it refuses anything else). ``test_renderer_agrees_with_kustomize`` compares
it with the real kustomize Go library when CRM_TEST_KUSTOMIZE_LIB names a libpykustomize.so.
Custom resources (Strimzi, MongoDB Community, CloudNativePG) have no schema in
kubernetes-validate: they are checked structurally, which does not prove an operator accepts
them.
"""

from __future__ import annotations

import copy
import ctypes
import json
import os
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from crm.kernel.observability import ObservabilitySettings
from crm.kernel.settings import Settings
from crm.platform.bootstrap import CONTEXTS, fed_by_bus
from tests.support.crm_cli import parse
from tests.support.kustomize import Manifest, UnsupportedKustomization, build

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ["dev", "prod"]
KUBERNETES_VERSIONS = ["1.31", "1.37"]
CUSTOM_RESOURCES = {"Kafka", "KafkaNodePool", "MongoDBCommunity", "Cluster"}
SECRET = "crm-secrets"
MONITORING_NAMESPACE = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
}


@cache
def rendered(target: str) -> tuple[Manifest, ...]:
    return tuple(build(K8S / target))


def overlay(name: str) -> tuple[Manifest, ...]:
    return rendered(f"overlays/{name}")


def of_kind(manifests: tuple[Manifest, ...], kind: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind]


def named(manifests: tuple[Manifest, ...], kind: str, name: str) -> Manifest:
    (found,) = [m for m in of_kind(manifests, kind) if m["metadata"]["name"] == name]
    return found


def pod_labels(deployment: Manifest) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if set(selector) - {"matchLabels"}:
        raise AssertionError(f"only matchLabels selectors are checked: {selector}")
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def containers(manifests: tuple[Manifest, ...]) -> Iterator[tuple[Manifest, dict[str, Any]]]:
    for d in of_kind(manifests, "Deployment"):
        for c in d["spec"]["template"]["spec"]["containers"]:
            yield d, c


def quantity(value: str | int) -> float:
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "": 1}
    number, unit = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(value)).groups()  # type: ignore[union-attr]
    return float(number) * units[unit]


def settings_of(manifests: tuple[Manifest, ...]) -> dict[str, str]:
    data: dict[str, str] = dict(named(manifests, "ConfigMap", "crm-config")["data"])
    for secret in of_kind(manifests, "Secret"):
        if secret["metadata"]["name"] == SECRET:
            data.update(secret["stringData"])
    return data


# -- the renderer -------------------------------------------------------------------------


def test_renderer_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(
        "resources: []\nconfigMapGenerator:\n  - name: x\n    literals: [a=b]\n"
    )
    with pytest.raises(UnsupportedKustomization, match="configMapGenerator"):
        build(tmp_path)


@pytest.mark.skipif(
    not os.environ.get("CRM_TEST_KUSTOMIZE_LIB"),
    reason="set CRM_TEST_KUSTOMIZE_LIB to a libpykustomize.so (PyPI pykustomize, Python>=3.14)",
)
@pytest.mark.parametrize("target", ["base", "overlays/dev", "overlays/prod", "infrastructure"])
def test_renderer_agrees_with_kustomize(target: str) -> None:
    lib = ctypes.CDLL(os.environ["CRM_TEST_KUSTOMIZE_LIB"])
    lib.pykustomize_build.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p]
    lib.pykustomize_last_error.restype = ctypes.c_char_p
    out = ctypes.c_char_p()
    assert lib.pykustomize_build(str(K8S / target).encode(), b"{}", ctypes.byref(out)) == 0, (
        lib.pykustomize_last_error()
    )
    real = [d for d in yaml.safe_load_all(out.value or b"") if d]

    def key(m: Manifest) -> str:
        return json.dumps(m, sort_keys=True)

    assert sorted(map(key, real)) == sorted(map(key, rendered(target)))


# -- schemas ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("target", ["overlays/dev", "overlays/prod", "infrastructure"])
def test_every_manifest_matches_the_kubernetes_schema(target: str, version: str) -> None:
    checked = 0
    for manifest in rendered(target):
        if manifest["kind"] in CUSTOM_RESOURCES:
            continue
        kubernetes_validate.validate(manifest, version, strict=True)
        checked += 1
    assert checked >= 5


def test_the_schema_check_catches_a_misspelt_field() -> None:
    deployment = copy.deepcopy(of_kind(overlay("dev"), "Deployment")[0])
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


def test_custom_resources_are_structurally_sound() -> None:
    infra = rendered("infrastructure")
    secrets = {s["metadata"]["name"] for s in of_kind(infra, "Secret")}
    kafkas = {k["metadata"]["name"]: k for k in of_kind(infra, "Kafka")}
    (kafka,) = kafkas.values()
    assert kafka["apiVersion"] == "kafka.strimzi.io/v1beta2"
    assert kafka["metadata"]["annotations"]["strimzi.io/node-pools"] == "enabled"
    assert "zookeeper" not in kafka["spec"], "KRaft: no ZooKeeper"
    roles: set[str] = set()
    for pool in of_kind(infra, "KafkaNodePool"):
        assert pool["apiVersion"] == "kafka.strimzi.io/v1beta2"
        assert pool["metadata"]["labels"]["strimzi.io/cluster"] in kafkas
        roles |= set(pool["spec"]["roles"])
        assert pool["spec"]["replicas"] >= kafka["spec"]["kafka"]["config"]["min.insync.replicas"]
    assert roles == {"controller", "broker"}
    (mongo,) = of_kind(infra, "MongoDBCommunity")
    assert mongo["apiVersion"] == "mongodbcommunity.mongodb.com/v1"
    assert mongo["spec"]["type"] == "ReplicaSet"
    assert mongo["spec"]["members"] % 2 == 1
    for user in mongo["spec"]["users"]:
        assert user["passwordSecretRef"]["name"] in secrets
    (postgres,) = of_kind(infra, "Cluster")
    assert postgres["apiVersion"] == "postgresql.cnpg.io/v1"
    assert postgres["spec"]["bootstrap"]["initdb"]["secret"]["name"] in secrets


# -- coherence of each overlay ------------------------------------------------------------


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_context_has_an_api_with_a_service_and_a_relay(name: str) -> None:
    manifests = overlay(name)
    commands = {tuple(c["args"]) for _, c in containers(manifests)}
    services = {s["metadata"]["name"] for s in of_kind(manifests, "Service")}
    assert ("serve", "console") in commands
    assert "console" in services
    for context in CONTEXTS:
        assert ("serve", context.name) in commands
        assert context.name in services
        assert ("relay", context.name) in commands
    for context in CONTEXTS:
        if fed_by_bus(context):  # projections fed by other contexts' topics need a worker
            assert ("worker", context.name) in commands


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_crm_command_exists_in_the_cli(name: str) -> None:
    for _, container in containers(overlay(name)):
        parse(container["args"])


@pytest.mark.parametrize("name", OVERLAYS)
def test_services_select_pods_on_a_port_they_expose(name: str) -> None:
    manifests = overlay(name)
    for service in of_kind(manifests, "Service"):
        matches = [
            d
            for d in of_kind(manifests, "Deployment")
            if selects({"matchLabels": service["spec"]["selector"]}, pod_labels(d))
        ]
        assert len(matches) == 1, service["metadata"]["name"]
        ports = {
            p.get("name")
            for c in matches[0]["spec"]["template"]["spec"]["containers"]
            for p in c["ports"]
        }
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports


@pytest.mark.parametrize("name", OVERLAYS)
def test_probes_ask_ready_and_health_on_a_container_port(name: str) -> None:
    for deployment, c in containers(overlay(name)):
        ports = {p["name"] for p in c["ports"]} | {p["containerPort"] for p in c["ports"]}
        assert c["readinessProbe"]["httpGet"]["path"] == "/ready", deployment["metadata"]
        assert c["livenessProbe"]["httpGet"]["path"] == "/health", deployment["metadata"]
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            assert c[probe]["httpGet"]["port"] in ports
        port = next(p["containerPort"] for p in c["ports"] if p["name"] == "http")
        assert str(port) == settings_of(overlay(name))["CRM_PORT"]


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_container_has_requests_within_limits(name: str) -> None:
    for deployment, c in containers(overlay(name)):
        resources = c["resources"]
        for resource in ("cpu", "memory"):
            request = quantity(resources["requests"][resource])
            limit = quantity(resources["limits"][resource])
            assert 0 < request <= limit, (deployment["metadata"]["name"], resource)


@pytest.mark.parametrize("name", OVERLAYS)
def test_pods_run_as_the_image_user_on_a_read_only_root(name: str) -> None:
    image_user = re.search(r"^USER (\d+)", (ROOT / "Dockerfile").read_text(), re.M)
    assert image_user
    data_dir = settings_of(overlay(name))["CRM_DATA_DIR"]
    for deployment, c in containers(overlay(name)):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == int(image_user[1])
        assert pod["automountServiceAccountToken"] is False
        security = c["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        volumes = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
        assert mounts.get(data_dir) in volumes
        assert mounts.get("/tmp") in volumes


@pytest.mark.parametrize("name", OVERLAYS)
def test_relays_are_singletons(name: str) -> None:
    for deployment, c in containers(overlay(name)):
        if c["args"][0] == "relay":
            assert deployment["spec"]["replicas"] == 1
            assert deployment["spec"]["strategy"] == {"type": "Recreate"}


@pytest.mark.parametrize("name", OVERLAYS)
def test_the_autoscaler_targets_the_worker_and_stays_within_the_partitions(name: str) -> None:
    manifests = overlay(name)
    (hpa,) = of_kind(manifests, "HorizontalPodAutoscaler")
    target = hpa["spec"]["scaleTargetRef"]
    deployment = named(manifests, target["kind"], target["name"])
    assert deployment["spec"]["template"]["spec"]["containers"][0]["args"][0] == "worker"
    partitions = int(settings_of(manifests)["CRM_KAFKA_PARTITIONS"])
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"] <= partitions
    assert hpa["spec"]["minReplicas"] <= deployment["spec"]["replicas"]


@pytest.mark.parametrize("name", OVERLAYS)
def test_disruption_budgets_cover_apis_and_worker_and_never_block_a_drain(name: str) -> None:
    manifests = overlay(name)
    covered = set()
    for pdb in of_kind(manifests, "PodDisruptionBudget"):
        (deployment,) = [
            d for d in of_kind(manifests, "Deployment")
            if selects(pdb["spec"]["selector"], pod_labels(d))
        ]  # fmt: skip
        replicas = deployment["spec"]["replicas"]
        allowed = pdb["spec"].get("maxUnavailable", replicas - pdb["spec"].get("minAvailable", 0))
        assert allowed >= 1, pdb["metadata"]["name"]
        covered.add(deployment["metadata"]["name"])
    workers = {f"{c.name}-worker" for c in CONTEXTS if fed_by_bus(c)}
    assert covered == {c.name for c in CONTEXTS} | workers | {"console"}


@pytest.mark.parametrize("name", OVERLAYS)
def test_network_policies_deny_by_default_and_select_real_pods(name: str) -> None:
    manifests = overlay(name)
    policies = of_kind(manifests, "NetworkPolicy")
    deny = named(manifests, "NetworkPolicy", "default-deny")["spec"]
    assert deny["podSelector"] == {}
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny
    assert "egress" not in deny
    deployments = of_kind(manifests, "Deployment")
    for policy in policies:
        selected = [d for d in deployments if selects(policy["spec"]["podSelector"], pod_labels(d))]
        assert selected, policy["metadata"]["name"]
        for rule in policy["spec"].get("ingress", []):
            for port in rule["ports"]:
                for d in selected:
                    c = d["spec"]["template"]["spec"]["containers"][0]
                    assert port["port"] in {p["name"] for p in c["ports"]}

    def metrics_only(policy: Manifest) -> bool:
        """Ingress to the metrics port only, from the monitoring namespace only."""
        rules = policy["spec"].get("ingress", [])
        return bool(rules) and all(
            [p["port"] for p in rule["ports"]] == ["metrics"]
            and rule["from"] == [MONITORING_NAMESPACE]
            for rule in rules
        )

    ingress_open = {
        d["metadata"]["name"]
        for p in policies
        if p["spec"].get("ingress") and not metrics_only(p)
        for d in deployments
        if selects(p["spec"]["podSelector"], pod_labels(d))
    }
    assert ingress_open == {c.name for c in CONTEXTS} | {"console"}, (
        "only the HTTP APIs and the console take connections"
    )
    scraped = {
        d["metadata"]["name"]
        for p in policies
        if metrics_only(p)
        for d in deployments
        if selects(p["spec"]["podSelector"], pod_labels(d))
    }
    assert scraped == {d["metadata"]["name"] for d in deployments}, "Prometheus scrapes every pod"


@pytest.mark.parametrize("name", OVERLAYS)
def test_images_are_pinned_and_settings_are_known(name: str) -> None:
    manifests = overlay(name)
    for _, c in containers(manifests):
        image, _, tag = c["image"].rpartition(":")
        assert image.endswith("/crm-platform")
        assert tag not in {"", "latest"}
        refs = {next(iter(r)): next(iter(r.values()))["name"] for r in c["envFrom"]}
        assert refs == {"configMapRef": "crm-config", "secretRef": SECRET}
    fields = [*Settings.model_fields, *ObservabilitySettings.model_fields]
    known = {f"CRM_{field.upper()}" for field in fields}
    assert set(settings_of(manifests)) <= known
    values = {k[4:].lower(): v for k, v in settings_of(manifests).items()}
    Settings.model_validate(values)
    ObservabilitySettings.model_validate(values)


def test_prod_commits_no_secret_and_pins_a_release() -> None:
    assert of_kind(overlay("prod"), "Secret") == []
    assert SECRET in (K8S / "README.md").read_text()
    for _, c in containers(overlay("prod")):
        assert re.search(r":\d+\.\d+\.\d+$", c["image"]), c["image"]


def test_dev_urls_reach_services_of_the_infrastructure() -> None:
    infra = rendered("infrastructure")
    namespace = next(m["metadata"]["namespace"] for m in infra if "namespace" in m["metadata"])
    # the Services the operators create, by their documented naming
    services = {s["metadata"]["name"]: s for s in of_kind(infra, "Service")}
    reachable = {name: {int(p["port"]) for p in s["spec"]["ports"]} for name, s in services.items()}
    for kafka in of_kind(infra, "Kafka"):
        ports = {listener["port"] for listener in kafka["spec"]["kafka"]["listeners"]}
        reachable[f"{kafka['metadata']['name']}-kafka-bootstrap"] = ports
    for mongo in of_kind(infra, "MongoDBCommunity"):
        reachable[f"{mongo['metadata']['name']}-svc"] = {27017}
    for cluster in of_kind(infra, "Cluster"):
        reachable[f"{cluster['metadata']['name']}-rw"] = {5432}
    settings = settings_of(overlay("dev"))
    for key in ("CRM_EVENT_STORE", "CRM_READ_STORE", "CRM_KEY_STORE", "CRM_BUS"):
        url = urlsplit(settings[key])
        host, ns, svc = (url.hostname or "").split(".")
        assert (ns, svc) == (namespace, "svc"), key
        assert url.port in reachable.get(host, set()), f"{key}: {host}:{url.port}"
    mongo_name = of_kind(infra, "MongoDBCommunity")[0]["metadata"]["name"]
    assert f"replicaSet={mongo_name}" in settings["CRM_READ_STORE"]
