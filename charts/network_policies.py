"""`network-policies`: default deny in the application namespace, then exactly the flows each pod needs.

vpc-cni's network policy agent enforces them (the cluster stack enables it). Peers outside the
cluster are the VPC's own ranges from the subnet plan: the ALB sits in the public subnets (target
type ip), PostgreSQL and Redis in the isolated ones.
"""

from __future__ import annotations

from typing import Any

from constructs import Construct

from charts.base import EnvironmentChart
from charts.objects import manifest
from envspec import EnvironmentSpec
from envspec.layout import layout_for
from envspec.naming import (
    AI_WORKER,
    APP_NAMESPACE,
    BACKEND,
    FRONTEND,
    KUBE_SYSTEM,
    METRICS_PORT,
    MIGRATION_JOB,
    MONITORING_NAMESPACE,
    POD_IDENTITY_AGENT,
    POD_IDENTITY_AGENT_PORT,
    POSTGRES_PORT,
    REDIS_PORT,
    Component,
)

HTTPS = 443
PROMETHEUS_POD = {"app.kubernetes.io/name": "prometheus"}


def tcp(*ports: int | str) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def cidrs(*networks: object) -> list[dict[str, Any]]:
    return [{"ipBlock": {"cidr": str(network)}} for network in networks]


def pods(component: Component) -> list[dict[str, Any]]:
    return [{"podSelector": {"matchLabels": component.selector_labels}}]


class NetworkPoliciesChart(EnvironmentChart):
    def __init__(self, scope: Construct, spec: EnvironmentSpec):
        super().__init__(scope, "network-policies", spec, namespace=APP_NAMESPACE)
        layout = layout_for(spec)
        load_balancer = cidrs(*layout.public)
        data_stores = cidrs(*layout.isolated)
        prometheus = [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": MONITORING_NAMESPACE}},
                "podSelector": {"matchLabels": PROMETHEUS_POD},
            }
        ]
        dns = {
            "to": [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": KUBE_SYSTEM}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                }
            ],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        }
        https_out = {"to": cidrs("0.0.0.0/0"), "ports": tcp(HTTPS)}  # AWS APIs (VPC endpoints) and the OpenAI API
        pod_identity = {"to": cidrs(POD_IDENTITY_AGENT), "ports": tcp(POD_IDENTITY_AGENT_PORT)}
        postgres = {"to": data_stores, "ports": tcp(POSTGRES_PORT)}
        redis = {"to": data_stores, "ports": tcp(REDIS_PORT)}
        scraped = {"from": prometheus, "ports": tcp(METRICS_PORT)}

        self._policy("default-deny", {}, ingress=[], egress=[])
        self._policy(
            BACKEND.name,
            BACKEND.selector_labels,
            ingress=[{"from": pods(FRONTEND) + load_balancer, "ports": tcp(BACKEND.http_port)}, scraped],
            egress=[dns, postgres, redis, https_out, pod_identity],
        )
        self._policy(
            FRONTEND.name,
            FRONTEND.selector_labels,
            ingress=[{"from": load_balancer, "ports": tcp(FRONTEND.http_port)}, scraped],
            egress=[dns, {"to": pods(BACKEND), "ports": tcp(BACKEND.http_port)}, https_out],
        )
        self._policy(AI_WORKER.name, AI_WORKER.selector_labels, ingress=[scraped], egress=[dns, postgres, redis, https_out, pod_identity])
        self._policy(MIGRATION_JOB, {"app": MIGRATION_JOB}, ingress=[], egress=[dns, postgres])

    def _policy(self, name: str, selector: dict[str, str], ingress: list[dict[str, Any]], egress: list[dict[str, Any]]) -> None:
        manifest(
            self,
            name,
            "networking.k8s.io/v1",
            "NetworkPolicy",
            name,
            APP_NAMESPACE,
            spec={
                "podSelector": {"matchLabels": selector} if selector else {},
                "policyTypes": ["Ingress", "Egress"],
                **({"ingress": ingress} if ingress else {}),
                **({"egress": egress} if egress else {}),
            },
        )
