"""Reading synthesized Kubernetes objects in tests: pod templates, ports, and a NetworkPolicy evaluator.

The evaluator implements the NetworkPolicy semantics the charts use (pod and namespace label
selectors, ipBlock with `except`, numeric and named ports, policy types, additive allow rules) so
tests can ask "may this pod reach that address on that port?" instead of comparing YAML.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


def pod_spec(document: dict[str, Any]) -> dict[str, Any] | None:
    if document["kind"] in WORKLOAD_KINDS:
        return document["spec"]["template"]["spec"]
    if document["kind"] == "CronJob":
        return document["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def pod_labels(document: dict[str, Any]) -> dict[str, str]:
    template = document["spec"]["jobTemplate"]["spec"]["template"] if document["kind"] == "CronJob" else document["spec"]["template"]
    return template.get("metadata", {}).get("labels", {})


def workloads(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [doc for doc in manifests if pod_spec(doc) is not None]


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return spec.get("initContainers", []) + spec["containers"]


def declared_ports(spec: dict[str, Any]) -> dict[str, int]:
    """name (or str(number)) -> number, for every container port of a pod."""
    ports = {}
    for container in containers(spec):
        for port in container.get("ports", []):
            ports[str(port["containerPort"])] = port["containerPort"]
            if "name" in port:
                ports[port["name"]] = port["containerPort"]
    return ports


def matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A LabelSelector with matchLabels (the only form the charts use; matchExpressions are refused)."""
    selector = selector or {}
    assert "matchExpressions" not in selector, "the evaluator does not implement matchExpressions"
    return all(labels.get(key) == value for key, value in selector.get("matchLabels", {}).items())


@dataclass(frozen=True)
class Endpoint:
    """One end of a connection: a pod (namespace and labels, with its declared ports) or an address."""

    namespace: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    address: str | None = None
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def is_pod(self) -> bool:
        return self.namespace is not None


def _peer_matches(peer: dict[str, Any], policy_namespace: str, other: Endpoint) -> bool:
    if "ipBlock" in peer:
        if other.address is None:
            return False
        address = ipaddress.ip_address(other.address)
        block = peer["ipBlock"]
        return address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(excluded) for excluded in block.get("except", [])
        )
    if not other.is_pod:
        return False
    if "namespaceSelector" in peer:
        namespace_labels = {"kubernetes.io/metadata.name": other.namespace}
        if not matches(peer["namespaceSelector"], namespace_labels):
            return False
    elif other.namespace != policy_namespace:
        return False
    return matches(peer.get("podSelector"), other.labels)


def _port_matches(rule_ports: list[dict[str, Any]] | None, port: int, protocol: str, target: Endpoint) -> bool:
    if not rule_ports:
        return True
    for entry in rule_ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        wanted = entry.get("port")
        if wanted is None or wanted == port or (isinstance(wanted, str) and target.ports.get(wanted) == port):
            return True
    return False


def allowed(policies: list[dict[str, Any]], source: Endpoint, target: Endpoint, port: int, protocol: str = "TCP") -> bool:
    """Whether `source` may open a connection to `target` on `port`, given every NetworkPolicy."""
    return _direction_allows(policies, "Egress", source, target, port, protocol) and _direction_allows(
        policies, "Ingress", target, source, port, protocol
    )


def _direction_allows(policies: list[dict[str, Any]], kind: str, subject: Endpoint, other: Endpoint, port: int, protocol: str) -> bool:
    if not subject.is_pod:
        return True  # only pods are governed by NetworkPolicies
    applying = [
        policy
        for policy in policies
        if policy["metadata"]["namespace"] == subject.namespace
        and kind in policy["spec"].get("policyTypes", ["Ingress"])
        and matches(policy["spec"].get("podSelector"), subject.labels)
    ]
    if not applying:
        return True
    rules_key, peers_key = ("egress", "to") if kind == "Egress" else ("ingress", "from")
    target = other if kind == "Egress" else subject
    for policy in applying:
        for rule in policy["spec"].get(rules_key, []):
            peers = rule.get(peers_key)
            peer_ok = not peers or any(_peer_matches(peer, policy["metadata"]["namespace"], other) for peer in peers)
            if peer_ok and _port_matches(rule.get("ports"), port, protocol, target):
                return True
    return False
