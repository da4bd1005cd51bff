"""The `network-policies` chart, asked as connections: who may reach whom, on which port.

`tests.kube.allowed` evaluates every NetworkPolicy of the environment the way the API defines them,
so each assertion reads like the issue: the backend accepts 3001 only from the frontend and the ALB,
Prometheus reaches the metrics ports, the databases only from the isolated subnets, and so on.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from typing import Any

import pytest

from envspec import names_for
from envspec.naming import (
    APP_NAMESPACE,
    METRICS_PORT,
    MIGRATION_JOB,
    MONITORING_NAMESPACE,
    POSTGRES_PORT,
    PROMETHEUS_POD_LABELS,
    REDIS_PORT,
)
from envspec.topology import AI_WORKER, BACKEND, FRONTEND, Component
from tests import kube
from tests.conftest import ENVIRONMENTS, SPECS, Synthesis
from tests.kube import Endpoint, allowed

PROMETHEUS = Endpoint(MONITORING_NAMESPACE, {**PROMETHEUS_POD_LABELS, "prometheus": "kube-prometheus-stack-prometheus"})
GRAFANA = Endpoint(MONITORING_NAMESPACE, {"app.kubernetes.io/name": "grafana"})
COREDNS = Endpoint("kube-system", {"k8s-app": "kube-dns"})
OTHER_NAMESPACE_POD = Endpoint("default", {"app": "ai-subsidy-frontend"})
OPENAI = Endpoint(address="162.159.140.245")
INTERNET = Endpoint(address="198.51.100.7")
POD_IDENTITY_AGENT = Endpoint(address="169.254.170.23")
INSTANCE_METADATA = Endpoint(address="169.254.169.254")


def _host(network: ipaddress.IPv4Network) -> Endpoint:
    return Endpoint(address=str(network[10]))


class Cluster:
    """The environment's pods as endpoints, and its policies."""

    def __init__(self, synthesis: Synthesis, env: str):
        manifests = synthesis.manifests(env)
        self.policies = [doc for doc in manifests if doc["kind"] == "NetworkPolicy"]
        self.pods: dict[str, Endpoint] = {}
        for doc in kube.workloads(manifests):
            self.pods[doc["metadata"]["name"]] = Endpoint(
                doc["metadata"]["namespace"], kube.pod_labels(doc), ports=kube.declared_ports(kube.pod_spec(doc))
            )
        self.subnets = names_for(SPECS[env]).subnets
        self.env = env

    def pod(self, component: Component | str) -> Endpoint:
        return self.pods[component if isinstance(component, str) else component.name]

    def reach(self, source: Endpoint, target: Endpoint, port: int, protocol: str = "TCP") -> bool:
        return allowed(self.policies, source, target, port, protocol)


@pytest.fixture(scope="module", params=ENVIRONMENTS)
def cluster(request: pytest.FixtureRequest, synthesis: Synthesis) -> Cluster:
    return Cluster(synthesis, request.param)


def test_everything_not_allowed_is_denied(cluster: Cluster) -> None:
    (deny,) = [policy for policy in cluster.policies if policy["metadata"]["name"] == "default-deny"]
    assert deny["metadata"]["namespace"] == APP_NAMESPACE
    assert deny["spec"]["podSelector"] == {}
    assert sorted(deny["spec"]["policyTypes"]) == ["Egress", "Ingress"]
    assert "ingress" not in deny["spec"] and "egress" not in deny["spec"]
    for name in cluster.pods:
        assert not cluster.reach(OTHER_NAMESPACE_POD, cluster.pod(name), 8080)
        assert not cluster.reach(cluster.pod(name), INTERNET, 80)
        assert not cluster.reach(cluster.pod(name), INSTANCE_METADATA, 80)


def test_the_backend_accepts_3001_only_from_the_frontend_and_the_alb(cluster: Cluster) -> None:
    backend = cluster.pod(BACKEND)
    assert cluster.reach(cluster.pod(FRONTEND), backend, 3001)
    for public in cluster.subnets.public:
        assert cluster.reach(_host(public), backend, 3001)
    assert not cluster.reach(cluster.pod(AI_WORKER), backend, 3001)
    assert not cluster.reach(cluster.pod(MIGRATION_JOB), backend, 3001)
    assert not cluster.reach(OTHER_NAMESPACE_POD, backend, 3001)
    assert not cluster.reach(GRAFANA, backend, 3001)
    for private in cluster.subnets.private:  # nodes and other pods of the VPC
        assert not cluster.reach(_host(private), backend, 3001)
    assert not cluster.reach(INTERNET, backend, 3001)
    assert not cluster.reach(cluster.pod(FRONTEND), backend, METRICS_PORT)


def test_the_frontend_accepts_only_the_alb_and_reaches_only_the_backend(cluster: Cluster) -> None:
    frontend = cluster.pod(FRONTEND)
    for public in cluster.subnets.public:
        assert cluster.reach(_host(public), frontend, 3000)
    assert not cluster.reach(cluster.pod(BACKEND), frontend, 3000)
    assert not cluster.reach(_host(cluster.subnets.private[0]), frontend, 3000)
    assert cluster.reach(frontend, cluster.pod(BACKEND), 3001)
    assert not cluster.reach(frontend, OPENAI, 443)
    assert not cluster.reach(frontend, _host(cluster.subnets.isolated[0]), POSTGRES_PORT)
    assert not cluster.reach(frontend, POD_IDENTITY_AGENT, 80)


def test_prometheus_scrapes_every_metrics_port_and_nothing_else(cluster: Cluster) -> None:
    for component in (BACKEND, FRONTEND, AI_WORKER):
        assert cluster.reach(PROMETHEUS, cluster.pod(component), METRICS_PORT), component.name
        assert not cluster.reach(GRAFANA, cluster.pod(component), METRICS_PORT)
        assert not cluster.reach(Endpoint("default", PROMETHEUS_POD_LABELS), cluster.pod(component), METRICS_PORT)
    assert not cluster.reach(PROMETHEUS, cluster.pod(BACKEND), 3001)
    assert not cluster.reach(PROMETHEUS, cluster.pod(AI_WORKER), 8080)


@pytest.mark.parametrize("component", [BACKEND, AI_WORKER], ids=lambda c: c.name)
def test_database_and_cache_only_in_the_isolated_subnets(cluster: Cluster, component: Component) -> None:
    pod = cluster.pod(component)
    for isolated in cluster.subnets.isolated:
        assert cluster.reach(pod, _host(isolated), POSTGRES_PORT)
        assert cluster.reach(pod, _host(isolated), REDIS_PORT)
    for other in (*cluster.subnets.private, *cluster.subnets.public):
        assert not cluster.reach(pod, _host(other), POSTGRES_PORT)
        assert not cluster.reach(pod, _host(other), REDIS_PORT)
    assert not cluster.reach(pod, INTERNET, POSTGRES_PORT)


@pytest.mark.parametrize("component", [BACKEND, AI_WORKER], ids=lambda c: c.name)
def test_aws_callers_reach_https_and_their_pod_identity(cluster: Cluster, component: Component) -> None:
    pod = cluster.pod(component)
    assert cluster.reach(pod, OPENAI, 443)
    assert cluster.reach(pod, _host(cluster.subnets.private[0]), 443)  # interface VPC endpoints
    assert cluster.reach(pod, POD_IDENTITY_AGENT, 80)
    assert not cluster.reach(pod, INSTANCE_METADATA, 80)
    assert not cluster.reach(pod, OPENAI, 80)


@pytest.mark.parametrize("component", [BACKEND, AI_WORKER], ids=lambda c: c.name)
def test_https_reaches_the_vpc_endpoints_and_the_internet_but_no_other_private_address(cluster: Cluster, component: Component) -> None:
    """AWS APIs answer on the interface endpoints' addresses in the private subnets (the network
    stack's endpoints; `SubnetLayout.interface_endpoints`), S3 through its gateway endpoint on
    public addresses, OpenAI on the internet. Nothing else in the VPC, the other RFC 1918 ranges
    (peered networks, on-premises) or link-local (instance metadata on 169.254.169.254) takes HTTPS."""
    pod = cluster.pod(component)
    for subnet in cluster.subnets.interface_endpoints:
        assert cluster.reach(pod, _host(subnet), 443)
    assert cluster.reach(pod, OPENAI, 443)
    assert cluster.reach(pod, Endpoint(address="52.219.16.1"), 443)  # an S3 address of ap-northeast-1
    for subnet in (*cluster.subnets.public, *cluster.subnets.isolated):
        assert not cluster.reach(pod, _host(subnet), 443), str(subnet)
    for address in ("10.255.1.1", "172.16.0.10", "172.31.255.1", "192.168.1.1", "169.254.169.254", "169.254.170.23"):
        assert not cluster.reach(pod, Endpoint(address=address), 443), address
    vpc = SPECS[cluster.env].network.vpc_cidr
    unused = next(network for network in vpc.subnets(new_prefix=24) if not any(network.overlaps(s) for s in cluster.subnets.private))
    assert not cluster.reach(pod, _host(unused), 443), "an unused part of the VPC"


def test_clients_reach_pods_on_the_port_of_the_service_they_call(cluster: Cluster, synthesis: Synthesis) -> None:
    """The EKS network policy agent matches a connection's destination port against the policies,
    and EKS requires the Service port to equal the container port ("Restrict Pod network traffic
    with Kubernetes network policies", Considerations): the frontend calls the backend at the port
    its configuration names, and that port is allowed from the frontend to the backend."""
    (config,) = synthesis.find(cluster.env, "ConfigMap", FRONTEND.config_map)
    port = urllib.parse.urlsplit(config["data"]["API_INTERNAL_URL"]).port
    (service,) = synthesis.find(cluster.env, "Service", BACKEND.service_name)
    assert port in {entry["port"] for entry in service["spec"]["ports"]}
    assert cluster.reach(cluster.pod(FRONTEND), cluster.pod(BACKEND), port)


def test_every_pod_resolves_names_through_coredns_only(cluster: Cluster) -> None:
    for name, pod in cluster.pods.items():
        assert cluster.reach(pod, COREDNS, 53, "UDP"), name
        assert cluster.reach(pod, COREDNS, 53, "TCP"), name
        assert not cluster.reach(pod, Endpoint("kube-system", {"k8s-app": "metrics-server"}), 53, "UDP")
        assert not cluster.reach(pod, Endpoint(address="8.8.8.8"), 53, "UDP")


def test_the_migration_reaches_only_postgresql(cluster: Cluster) -> None:
    job = cluster.pod(MIGRATION_JOB)
    assert cluster.reach(job, _host(cluster.subnets.isolated[0]), POSTGRES_PORT)
    assert not cluster.reach(job, _host(cluster.subnets.isolated[0]), REDIS_PORT)
    assert not cluster.reach(job, OPENAI, 443)
    assert not cluster.reach(job, cluster.pod(BACKEND), 3001)


def test_the_evaluator_implements_policy_semantics() -> None:
    """Without policies everything is open; a policy with no rules isolates; rules add up."""
    pod = Endpoint("ns", {"app": "a"}, ports={"http": 8080, "8080": 8080})
    other = Endpoint("ns", {"app": "b"})
    assert allowed([], other, pod, 8080)

    def policy(spec: dict[str, Any]) -> dict[str, Any]:
        return {"metadata": {"namespace": "ns", "name": "p"}, "spec": spec}

    isolate = policy({"podSelector": {"matchLabels": {"app": "a"}}, "policyTypes": ["Ingress"]})
    assert not allowed([isolate], other, pod, 8080)
    named = policy(
        {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "b"}}}], "ports": [{"port": "http"}]}],
        }
    )
    assert allowed([isolate, named], other, pod, 8080)
    assert not allowed([isolate, named], other, pod, 9090)
    block = policy(
        {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}]}
    )
    assert allowed([block], other, Endpoint(address="10.2.3.4"), 1)
    assert not allowed([block], other, Endpoint(address="10.1.3.4"), 1)
