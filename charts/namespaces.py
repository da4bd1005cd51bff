"""Namespaces of the application and of its monitoring, with the Pod Security Standard enforced by label.

`monitoring` is made here rather than by the kube-prometheus-stack Application: Grafana's login
Secret (an ExternalSecret of the `secrets` chart) must be in it before that release starts.
"""

from __future__ import annotations

from cdk8s_plus_27 import Namespace
from constructs import Construct

from charts.base import EnvironmentChart
from envspec import EnvironmentSpec
from envspec.naming import APP_NAMESPACE, MONITORING_NAMESPACE


def pod_security_labels(level: str, kubernetes_version: str) -> dict[str, str]:
    """Enforce, audit and warn at one level, pinned to the cluster's version so an upgrade never
    tightens the rules silently."""
    version = f"v{kubernetes_version}"
    labels = {}
    for mode in ("enforce", "audit", "warn"):
        labels[f"pod-security.kubernetes.io/{mode}"] = level
        labels[f"pod-security.kubernetes.io/{mode}-version"] = version
    return labels


# The AWS Load Balancer Controller adds a readiness gate to pods in namespaces labelled so: a new pod
# counts as ready only once the ALB sees its target healthy, so a rollout never outruns the ALB.
ALB_READINESS_GATE_LABELS = {"elbv2.k8s.aws/pod-readiness-gate-inject": "enabled"}


class NamespacesChart(EnvironmentChart):
    def __init__(self, scope: Construct, spec: EnvironmentSpec):
        super().__init__(scope, "namespaces", spec=spec)
        self.application = Namespace(
            self,
            "application",
            metadata={
                "name": APP_NAMESPACE,
                "labels": {**pod_security_labels("restricted", spec.cluster.version), **ALB_READINESS_GATE_LABELS},
            },
        )
        # node-exporter (kube-prometheus-stack) needs the host's network and PID namespaces and host paths.
        self.monitoring = Namespace(
            self,
            "monitoring",
            metadata={"name": MONITORING_NAMESPACE, "labels": pod_security_labels("privileged", spec.cluster.version)},
        )
