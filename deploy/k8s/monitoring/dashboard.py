"""Writes dashboard.yaml: the Grafana dashboard of the CRM as a ConfigMap the Grafana sidecar
of kube-prometheus-stack loads (label grafana_dashboard: "1"). Run it after changing a panel:
    .venv/bin/python deploy/k8s/monitoring/dashboard.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}

PANELS: list[tuple[str, str, list[tuple[str, str]]]] = [
    # (title, unit, [(expr, legend)])
    ("Requests by route", "reqps", [
        ('sum by (route, method) (rate(crm_http_requests_total{namespace="$namespace"}[5m]))',
         "{{method}} {{route}}"),
    ]),
    ("5xx ratio", "percentunit", [
        ('sum(rate(crm_http_requests_total{namespace="$namespace",status=~"5.."}[5m]))'
         ' / sum(rate(crm_http_requests_total{namespace="$namespace"}[5m]))', "5xx"),
    ]),
    ("Request latency p99 by route", "s", [
        ('histogram_quantile(0.99, sum by (le, route) (rate('
         'crm_http_request_duration_seconds_bucket{namespace="$namespace"}[5m])))', "{{route}}"),
    ]),
    ("Commands by outcome", "ops", [
        ('sum by (outcome) (rate(crm_commands_total{namespace="$namespace"}[5m]))',
         "{{outcome}}"),
    ]),
    ("Command latency p99", "s", [
        ('histogram_quantile(0.99, sum by (le, command) (rate('
         'crm_command_duration_seconds_bucket{namespace="$namespace"}[5m])))', "{{command}}"),
    ]),
    ("Appends and group commit size", "short", [
        ('sum(rate(crm_event_store_appends_total{namespace="$namespace"}[5m]))', "appends/s"),
        ('sum(rate(crm_event_store_group_commit_appends_sum{namespace="$namespace"}[5m]))'
         ' / sum(rate(crm_event_store_group_commit_appends_count{namespace="$namespace"}[5m]))',
         "appends per commit"),
    ]),
    ("Follower lag (seconds)", "s", [
        ('max by (kind, name) (crm_follower_lag_seconds{namespace="$namespace"})',
         "{{kind}} {{name}}"),
    ]),
    ("Follower lag (events)", "short", [
        ('max by (kind, name) (crm_follower_lag_events{namespace="$namespace"})',
         "{{kind}} {{name}}"),
    ]),
    ("Events applied by projection", "ops", [
        ('sum by (projection) (rate(crm_projection_events_applied_total{namespace="$namespace"}'
         "[5m]))", "{{projection}}"),
    ]),
    ("Dead letters (15 min)", "short", [
        ('sum by (projection) (increase(crm_projection_dead_letters_total{namespace="$namespace"}'
         "[15m]))", "{{projection}}"),
        ('sum by (reaction) (increase(crm_reaction_dead_letters_total{namespace="$namespace"}'
         "[15m]))", "{{reaction}}"),
    ]),
    ("Relay: published and publish latency p99", "short", [
        ('sum by (context) (rate(crm_relay_published_events_total{namespace="$namespace"}[5m]))',
         "{{context}} events/s"),
        ('histogram_quantile(0.99, sum by (le, context) (rate('
         'crm_relay_publish_duration_seconds_bucket{namespace="$namespace"}[5m])))',
         "{{context}} p99 s"),
    ]),
    ("Kafka consumer lag", "short", [
        ('sum by (group, topic) (crm_kafka_consumer_lag_messages{namespace="$namespace"})',
         "{{group}} {{topic}}"),
    ]),
    ("Scheduler: seconds since last tick", "s", [
        ('time() - max by (scheduler) (crm_scheduler_last_tick_timestamp_seconds'
         '{namespace="$namespace"})', "{{scheduler}}"),
    ]),
    ("Scheduler: due work", "short", [
        ('sum by (scheduler, result) (increase(crm_scheduler_due_total{namespace="$namespace"}'
         "[1h]))", "{{scheduler}} {{result}}"),
    ]),
]  # fmt: skip


def dashboard() -> dict[str, Any]:
    panels = []
    for i, (title, unit, targets) in enumerate(PANELS):
        panels.append(
            {
                "id": i + 1,
                "type": "timeseries",
                "title": title,
                "datasource": DATASOURCE,
                "gridPos": {"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i // 2) * 8},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "targets": [
                    {
                        "refId": chr(ord("A") + j),
                        "expr": expr,
                        "legendFormat": legend,
                        "datasource": DATASOURCE,
                    }
                    for j, (expr, legend) in enumerate(targets)
                ],
            }
        )
    return {
        "uid": "crm-platform",
        "title": "CRM platform",
        "tags": ["crm"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-3h", "to": "now"},
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus"},
                {
                    "name": "namespace",
                    "type": "query",
                    "datasource": DATASOURCE,
                    "query": "label_values(crm_http_requests_total, namespace)",
                    "refresh": 2,
                },
            ]
        },
        "panels": panels,
    }


def configmap() -> str:
    body = json.dumps(dashboard(), indent=2, sort_keys=True)
    indented = "\n".join("    " + line for line in body.splitlines())
    return (
        "# Generated by dashboard.py (edit that, then run it). The Grafana sidecar of\n"
        '# kube-prometheus-stack loads every ConfigMap labelled grafana_dashboard: "1".\n'
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        "  name: crm-grafana-dashboard\n"
        "  labels:\n"
        '    grafana_dashboard: "1"\n'
        "data:\n"
        "  crm-platform.json: |\n"
        f"{indented}\n"
    )


if __name__ == "__main__":
    (HERE / "dashboard.yaml").write_text(configmap())
