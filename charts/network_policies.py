"""The `network-policies` chart: default deny in the application namespace, then exactly what each pod needs.

Traffic into a pod: the ALB (target type ip) from the VPC's public subnets on the http port of the
public components, the frontend to the backend's http port, Prometheus in the monitoring namespace
to every metrics port. Traffic out: DNS to CoreDNS for every pod, and per component what
`envspec.topology` says it needs, with PostgreSQL and Redis limited to the isolated subnets where
RDS and ElastiCache live (the same subnet plan the network stack builds). HTTPS goes to the
subnets of the interface VPC endpoints (AWS APIs) and to public addresses only: the rest of the
private ranges and the link-local range (instance metadata) stay closed. The EKS network policy
agent always lets a pod's own node reach it, so kubelet probes need no rule.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from cdk8s_plus_27 import k8s
from constructs import Construct

from charts.base import EnvironmentChart
from envspec import EnvironmentSpec
from envspec.naming import (
    APP_NAMESPACE,
    KUBE_SYSTEM,
    MIGRATION_JOB,
    MIGRATION_SELECTOR_LABELS,
    MONITORING_NAMESPACE,
    POSTGRES_PORT,
    PROMETHEUS_POD_LABELS,
    REDIS_PORT,
)
from envspec.topology import BACKEND, COMPONENTS, Component, Egress

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every namespace
DNS_POD_LABELS = {"k8s-app": "kube-dns"}
DNS_PORT = 53
HTTPS_PORT = 443
# The EKS Pod Identity agent answers credential requests on a link-local address of every node.
POD_IDENTITY_AGENT = "169.254.170.23/32"
POD_IDENTITY_AGENT_PORT = 80
ANYWHERE = ipaddress.IPv4Network("0.0.0.0/0")
# Not the internet: RFC 1918 private ranges and RFC 3927 link-local (instance metadata, the Pod
# Identity agent, which has a rule of its own).
NOT_INTERNET = tuple(ipaddress.IPv4Network(block) for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"))


def tcp(port: int) -> k8s.NetworkPolicyPort:
    """A port by number: every policy implementation resolves numbers; named ports are not universal."""
    return k8s.NetworkPolicyPort(protocol="TCP", port=k8s.IntOrString.from_number(port))


def cidrs(networks: Iterable[object]) -> list[k8s.NetworkPolicyPeer]:
    return [k8s.NetworkPolicyPeer(ip_block=k8s.IpBlock(cidr=str(network))) for network in networks]


def internet(vpc: ipaddress.IPv4Network) -> k8s.NetworkPolicyPeer:
    """Every public address: anywhere except the private ranges, link-local and the VPC itself."""
    excluded = ipaddress.collapse_addresses([*NOT_INTERNET, vpc])
    return k8s.NetworkPolicyPeer(ip_block=k8s.IpBlock(cidr=str(ANYWHERE), except_=[str(block) for block in excluded]))


def pods(labels: dict[str, str]) -> k8s.NetworkPolicyPeer:
    """Pods of the application namespace (a peer without namespaceSelector is the policy's own)."""
    return k8s.NetworkPolicyPeer(pod_selector=k8s.LabelSelector(match_labels=labels))


def pods_in(namespace: str, labels: dict[str, str]) -> k8s.NetworkPolicyPeer:
    return k8s.NetworkPolicyPeer(
        namespace_selector=k8s.LabelSelector(match_labels={NAMESPACE_NAME_LABEL: namespace}),
        pod_selector=k8s.LabelSelector(match_labels=labels),
    )


class NetworkPoliciesChart(EnvironmentChart):
    def __init__(self, scope: Construct, spec: EnvironmentSpec):
        super().__init__(scope, "network-policies", spec=spec, namespace=APP_NAMESPACE)
        subnets = self.names.subnets
        self.public_subnets = cidrs(subnets.public)
        self.isolated_subnets = subnets.isolated
        self.endpoint_subnets = subnets.interface_endpoints
        self.vpc = spec.network.vpc_cidr
        self._policy("default-deny", selector={}, ingress=[], egress=[])
        self._policy(
            "allow-dns",
            selector={},
            egress=[k8s.NetworkPolicyEgressRule(to=[pods_in(KUBE_SYSTEM, DNS_POD_LABELS)], ports=self._dns_ports())],
        )
        for component in COMPONENTS:
            self._policy(
                component.name, selector=component.selector_labels, ingress=self._ingress(component), egress=self._egress(component)
            )
        self._policy(MIGRATION_JOB, selector=MIGRATION_SELECTOR_LABELS, egress=self._egress_rules({Egress.DATABASE}))

    def _policy(
        self,
        name: str,
        *,
        selector: dict[str, str],
        ingress: Sequence[k8s.NetworkPolicyIngressRule] | None = None,
        egress: Sequence[k8s.NetworkPolicyEgressRule] | None = None,
    ) -> k8s.KubeNetworkPolicy:
        """A policy that governs the directions it is given rules for (an empty list denies that direction)."""
        types = [kind for kind, rules in (("Ingress", ingress), ("Egress", egress)) if rules is not None]
        return k8s.KubeNetworkPolicy(
            self,
            name,
            metadata=k8s.ObjectMeta(name=name),
            spec=k8s.NetworkPolicySpec(
                pod_selector=k8s.LabelSelector(match_labels=selector or None),
                policy_types=types,
                ingress=list(ingress) if ingress else None,
                egress=list(egress) if egress else None,
            ),
        )

    @staticmethod
    def _dns_ports() -> list[k8s.NetworkPolicyPort]:
        port = k8s.IntOrString.from_number(DNS_PORT)
        return [k8s.NetworkPolicyPort(protocol="UDP", port=port), k8s.NetworkPolicyPort(protocol="TCP", port=port)]

    def _ingress(self, component: Component) -> list[k8s.NetworkPolicyIngressRule]:
        rules = []
        if component.public and component.http_port is not None:
            rules.append(k8s.NetworkPolicyIngressRule(from_=self.public_subnets, ports=[tcp(component.http_port)]))
        callers = [other for other in COMPONENTS if Egress.BACKEND in other.egress] if component == BACKEND else []
        if callers and component.http_port is not None:
            rules.append(
                k8s.NetworkPolicyIngressRule(from_=[pods(other.selector_labels) for other in callers], ports=[tcp(component.http_port)])
            )
        rules.append(
            k8s.NetworkPolicyIngressRule(from_=[pods_in(MONITORING_NAMESPACE, PROMETHEUS_POD_LABELS)], ports=[tcp(component.metrics_port)])
        )
        return rules

    def _egress(self, component: Component) -> list[k8s.NetworkPolicyEgressRule]:
        return self._egress_rules(component.egress)

    def _egress_rules(self, needs: set[Egress] | frozenset[Egress]) -> list[k8s.NetworkPolicyEgressRule]:
        rules = []
        if Egress.DATABASE in needs:
            rules.append(k8s.NetworkPolicyEgressRule(to=cidrs(self.isolated_subnets), ports=[tcp(POSTGRES_PORT)]))
        if Egress.CACHE in needs:
            rules.append(k8s.NetworkPolicyEgressRule(to=cidrs(self.isolated_subnets), ports=[tcp(REDIS_PORT)]))
        if Egress.HTTPS in needs:
            rules.append(k8s.NetworkPolicyEgressRule(to=cidrs(self.endpoint_subnets), ports=[tcp(HTTPS_PORT)]))
            rules.append(k8s.NetworkPolicyEgressRule(to=[internet(self.vpc)], ports=[tcp(HTTPS_PORT)]))
        if Egress.AWS_CREDENTIALS in needs:
            rules.append(k8s.NetworkPolicyEgressRule(to=cidrs([POD_IDENTITY_AGENT]), ports=[tcp(POD_IDENTITY_AGENT_PORT)]))
        if Egress.BACKEND in needs:
            rules.append(k8s.NetworkPolicyEgressRule(to=[pods(BACKEND.selector_labels)], ports=[tcp(BACKEND.http_port)]))
        return rules
