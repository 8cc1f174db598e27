"""deploy/k8s/monitoring: the PodMonitor, the alerts and the Grafana dashboard.

The Prometheus Operator's custom resources (PodMonitor, PrometheusRule) have no schema in
kubernetes-validate, so their structure is checked here against what the operator's CRDs
require (apiVersion, the fields used and their types), and against the platform itself: the
monitor selects every CRM pod of each overlay on a port those pods declare, and every metric
an alert or a panel queries is one the platform exports. Whether PromQL parses is not proved
(no PromQL parser is installed): brackets are balanced and the functions are known ones.
The dashboard's ConfigMap is validated against the Kubernetes schema and is what
dashboard.py generates."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from prometheus_client import REGISTRY

import crm.activities.application.webhook_delivery  # the webhook metrics
import crm.kernel.observability.metrics  # noqa: F401  (registers every crm_* metric)
from tests.deploy.test_kubernetes import K8S, named, of_kind, overlay, rendered
from tests.support.kustomize import Manifest

MONITORING = "monitoring"
ALERTS = {
    "CrmProjectionLagging",
    "CrmReactionLagging",
    "CrmDeadLetters",
    "CrmWebhookDeadLetters",
    "CrmRelayStalled",
    "CrmRelayPublishFailing",
    "CrmKafkaConsumerLag",
    "CrmHighErrorRate",
    "CrmCommandConflictsHigh",
    "CrmSchedulerNotTicking",
    "CrmSchedulerTicksFailing",
}
FUNCTIONS = {"sum", "max", "rate", "increase", "histogram_quantile", "time", "by", "label_values"}
DURATION = re.compile(r"^\d+(ms|s|m|h|d)$")


def exported() -> set[str]:
    """Every series name the platform's metrics expose (counters' _total, histograms' parts)."""
    names: set[str] = set()
    for family in REGISTRY.collect():
        if not family.name.startswith("crm_"):
            continue
        suffixes = {
            "counter": ["_total"],
            "histogram": ["_bucket", "_count", "_sum"],
            "gauge": [""],
        }[family.type]
        names |= {family.name + s for s in suffixes}
    return names


def check_promql(expr: str) -> None:
    depth = 0
    for ch in expr:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        assert depth >= 0, expr
    assert depth == 0, expr
    assert expr.count("{") == expr.count("}"), expr
    assert expr.count("[") == expr.count("]"), expr
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    without_labels = re.sub(r"\{[^}]*\}", "", without_strings)
    without_groupings = re.sub(r"\b(by|on|without)\s*\([^)]*\)", "", without_labels)
    metrics = set(re.findall(r"\bcrm_[a-z_]+\b", without_groupings))
    assert metrics, f"queries no crm metric: {expr}"
    unknown = metrics - exported()
    assert not unknown, f"{expr}: not exported by the platform: {unknown}"
    calls = set(re.findall(r"\b([a-z_]+)\s*\(", without_groupings))
    assert calls <= FUNCTIONS, f"{expr}: {calls - FUNCTIONS}"


def test_the_pod_monitor_scrapes_every_crm_pod_on_its_metrics_port() -> None:
    (monitor,) = of_kind(rendered(MONITORING), "PodMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["namespace"] == "crm"
    spec = monitor["spec"]
    assert set(spec) == {"selector", "podMetricsEndpoints"}
    (endpoint,) = spec["podMetricsEndpoints"]
    assert endpoint["port"] == "metrics"
    assert endpoint["path"] == "/metrics"
    assert DURATION.match(endpoint["interval"])
    assert DURATION.match(endpoint["scrapeTimeout"])
    for relabel in endpoint["relabelings"]:
        assert set(relabel) <= {"sourceLabels", "targetLabel", "regex", "action", "replacement"}
        assert all(label.startswith("__meta_kubernetes_pod_") for label in relabel["sourceLabels"])
    selector = spec["selector"]["matchLabels"]
    for name in ("dev", "prod"):
        manifests = overlay(name)
        port = int(named(manifests, "ConfigMap", "crm-config")["data"]["CRM_METRICS_PORT"])
        for d in of_kind(manifests, "Deployment"):
            pod = d["spec"]["template"]
            assert all(pod["metadata"]["labels"].get(k) == v for k, v in selector.items())
            (container,) = pod["spec"]["containers"]
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            assert ports["metrics"] == port, d["metadata"]["name"]
            assert ports["metrics"] != ports["http"]


def test_the_metrics_port_is_not_behind_any_service() -> None:
    for name in ("dev", "prod"):
        for service in of_kind(overlay(name), "Service"):
            targets = {p.get("targetPort") for p in service["spec"]["ports"]}
            assert "metrics" not in targets
            assert 9464 not in targets


def rules() -> list[dict[str, Any]]:
    (rule,) = of_kind(rendered(MONITORING), "PrometheusRule")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert set(rule["spec"]) == {"groups"}
    found = []
    names = set()
    for group in rule["spec"]["groups"]:
        assert set(group) <= {"name", "interval", "rules"}
        assert group["name"] not in names
        names.add(group["name"])
        found += group["rules"]
    return found


def test_the_alerts_cover_what_ops_asked_for_and_query_real_metrics() -> None:
    alerts = rules()
    assert {a["alert"] for a in alerts} == ALERTS
    for alert in alerts:
        assert set(alert) <= {"alert", "expr", "for", "labels", "annotations"}, alert["alert"]
        assert re.fullmatch(r"Crm[A-Z][A-Za-z]+", alert["alert"])
        assert isinstance(alert["expr"], str)
        check_promql(alert["expr"])
        if "for" in alert:
            assert DURATION.match(alert["for"]), alert["alert"]
        assert alert["labels"]["severity"] in {"info", "warning", "critical"}
        assert set(alert["annotations"]) == {"summary", "description"}
        for text in alert["annotations"].values():
            labels = set(re.findall(r"\$labels\.([a-z_]+)", text))
            grouped = set().union(
                *(
                    {x.strip() for x in g.split(",")}
                    for g in re.findall(r"by \(([^)]*)\)", alert["expr"])
                )
            )
            assert labels <= grouped, f"{alert['alert']}: {labels - grouped} not kept by the expr"


def test_the_checks_catch_an_unknown_metric_and_unbalanced_brackets() -> None:
    with pytest.raises(AssertionError, match="not exported"):
        check_promql("rate(crm_nothing_total[5m]) > 0")
    with pytest.raises(AssertionError):
        check_promql("sum(rate(crm_commands_total[5m]) > 0")


def dashboard() -> tuple[Manifest, dict[str, Any]]:
    config = named(rendered(MONITORING), "ConfigMap", "crm-grafana-dashboard")
    (body,) = config["data"].values()
    return config, json.loads(body)


def test_the_dashboard_loads_in_grafana_and_queries_real_metrics() -> None:
    config, board = dashboard()
    assert config["metadata"]["labels"]["grafana_dashboard"] == "1"
    kubernetes_validate.validate(config, "1.31", strict=True)  # raises if it does not match
    assert board["uid"] == "crm-platform"
    assert isinstance(board["schemaVersion"], int)
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"] for v in board["templating"]["list"]}
    assert variables == {"datasource", "namespace"}
    queried: set[str] = set()
    for panel in board["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}"
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        for target in panel["targets"]:
            check_promql(target["expr"])
            assert 'namespace="$namespace"' in target["expr"]
            queried |= set(re.findall(r"\bcrm_[a-z_]+\b", target["expr"]))
    # nothing loads from outside hosts
    assert "http://" not in json.dumps(board)
    assert "https://" not in json.dumps(board)
    # the panels cover each family of metrics
    for family in ("http_requests", "commands", "follower_lag", "relay", "kafka", "scheduler"):
        assert any(family in name for name in queried), family


def test_the_committed_dashboard_is_what_the_generator_writes() -> None:
    import importlib.util

    path = K8S / MONITORING / "dashboard.py"
    spec = importlib.util.spec_from_file_location("crm_dashboard", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert Path(K8S / MONITORING / "dashboard.yaml").read_text() == module.configmap()
