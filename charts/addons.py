"""Cluster add-ons Argo CD installs from pinned Helm chart versions, with their values.

Plain data (no cdk8s): `charts.gitops` turns each `HelmAddon` into an Argo CD Application, and the
tests read the same objects. Every value another layer must agree on comes from `envspec.naming`:
the cluster name, the service accounts the Terraform side gives Pod Identity associations, the
VPC's Name tag, the monitoring selector labels.

Versions: the external-secrets and kube-prometheus-stack releases install exactly the CRD versions
in `crds/` that the custom objects here are validated against (see crds/README.md). Upgrading a
chart is a reviewed change of one line below; dev and staging sync it first, production when a
person syncs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from charts.karpenter_addon import karpenter_values
from charts.namespaces import pod_security_labels
from envspec import EnvironmentSpec, names_for
from envspec.naming import (
    EXTERNAL_SECRETS_RELEASE,
    GRAFANA_DASHBOARD_LABELS,
    KARPENTER_RELEASE,
    KUBE_PROMETHEUS_RELEASE,
    KUBE_SYSTEM,
    LOAD_BALANCER_CONTROLLER_RELEASE,
    METRICS_SERVER_RELEASE,
    MONITORING_NAMESPACE,
    MONITORING_SELECTOR_LABELS,
    RELOADER_RELEASE,
)


@dataclass(frozen=True)
class HelmChart:
    repository: str  # Helm repository URL
    name: str
    version: str  # exact chart version, never a range


LOAD_BALANCER_CONTROLLER_CHART = HelmChart("https://aws.github.io/eks-charts", "aws-load-balancer-controller", "3.4.2")
EXTERNAL_SECRETS_CHART = HelmChart("https://charts.external-secrets.io", "external-secrets", "2.9.0")
KUBE_PROMETHEUS_CHART = HelmChart("https://prometheus-community.github.io/helm-charts", "kube-prometheus-stack", "88.2.0")
METRICS_SERVER_CHART = HelmChart("https://kubernetes-sigs.github.io/metrics-server/", "metrics-server", "3.14.0")
RELOADER_CHART = HelmChart("https://stakater.github.io/stakater-charts", "reloader", "2.2.9")
# An OCI registry: Argo CD takes a repoURL without a scheme as an OCI Helm repository by itself
# (argo-cd reposerver/repository/repository.go: `repo.EnableOCI || helm.IsHelmOciRepo(repo.Repo)`),
# so a public registry needs no repository Secret.
KARPENTER_CHART = HelmChart("public.ecr.aws/karpenter", "karpenter", "1.14.1")
HELM_CHARTS = (
    LOAD_BALANCER_CONTROLLER_CHART,
    EXTERNAL_SECRETS_CHART,
    KUBE_PROMETHEUS_CHART,
    METRICS_SERVER_CHART,
    RELOADER_CHART,
    KARPENTER_CHART,
)


@dataclass(frozen=True)
class HelmAddon:
    """One Helm release in one namespace, owned by one Argo CD Application of the same name."""

    release: str
    chart: HelmChart
    namespace: str
    values: dict[str, Any]
    # Labels for a namespace Argo CD creates (None: the namespace exists already, e.g. kube-system).
    namespace_labels: dict[str, str] | None = None
    # CRDs too large for client-side apply's last-applied annotation need server-side apply.
    server_side_apply: bool = False


def _selector(labels: dict[str, str]) -> dict[str, Any]:
    return {"matchLabels": dict(labels)}


def load_balancer_controller(spec: EnvironmentSpec) -> HelmAddon:
    names = names_for(spec)
    account = names.load_balancer_controller_service_account
    return HelmAddon(
        release=LOAD_BALANCER_CONTROLLER_RELEASE,
        chart=LOAD_BALANCER_CONTROLLER_CHART,
        namespace=account.namespace,
        values={
            "clusterName": names.cluster_name,
            "region": spec.aws.region,
            # The VPC id exists only after the network stack is applied, and pods cannot reach the
            # instance metadata service (IMDSv2, hop limit 1) to discover it: the controller looks the
            # VPC up by its deterministic Name tag instead (ec2:DescribeVpcs, in its IAM policy).
            "vpcTags": {"Name": names.vpc_name},
            # Credentials come from the Pod Identity association for exactly this service account.
            "serviceAccount": {"create": True, "name": account.name},
            "replicaCount": 2,
        },
    )


def external_secrets(spec: EnvironmentSpec) -> HelmAddon:
    account = names_for(spec).external_secrets_service_account
    return HelmAddon(
        release=EXTERNAL_SECRETS_RELEASE,
        chart=EXTERNAL_SECRETS_CHART,
        namespace=account.namespace,
        values={
            "installCRDs": True,
            "serviceAccount": {"create": True, "name": account.name},
        },
        namespace_labels=pod_security_labels("restricted", spec.cluster.version),
    )


def kube_prometheus_stack(spec: EnvironmentSpec) -> HelmAddon:
    grafana_admin = names_for(spec).grafana_admin_secret
    user_key, password_key = grafana_admin.keys
    selector = _selector(MONITORING_SELECTOR_LABELS)
    (dashboard_label, dashboard_value), *_ = GRAFANA_DASHBOARD_LABELS.items()
    return HelmAddon(
        release=KUBE_PROMETHEUS_RELEASE,
        chart=KUBE_PROMETHEUS_CHART,
        namespace=MONITORING_NAMESPACE,
        values={
            "alertmanager": {
                "alertmanagerSpec": {
                    # Our AlertmanagerConfig routes match on any alert, not only on their own namespace.
                    "alertmanagerConfigMatcherStrategy": {"type": "None"},
                    "alertmanagerConfigSelector": selector,
                },
            },
            "prometheus": {
                "prometheusSpec": {
                    "ruleSelectorNilUsesHelmValues": False,
                    "ruleSelector": selector,
                    "serviceMonitorSelectorNilUsesHelmValues": False,
                    "serviceMonitorSelector": selector,
                    "podMonitorSelectorNilUsesHelmValues": False,
                    "podMonitorSelector": selector,
                },
            },
            "grafana": {
                # Never the chart's well-known default password: the login comes from Secrets Manager.
                "admin": {"existingSecret": grafana_admin.kubernetes_name, "userKey": user_key, "passwordKey": password_key},
                "sidecar": {
                    "dashboards": {"enabled": True, "label": dashboard_label, "labelValue": dashboard_value, "searchNamespace": "ALL"},
                },
            },
        },
        # node-exporter needs the host's network and PID namespaces and host paths.
        namespace_labels=pod_security_labels("privileged", spec.cluster.version),
        server_side_apply=True,
    )


def metrics_server(spec: EnvironmentSpec) -> HelmAddon:
    return HelmAddon(
        release=METRICS_SERVER_RELEASE,
        chart=METRICS_SERVER_CHART,
        namespace=KUBE_SYSTEM,
        values={"replicas": 2 if spec.is_production else 1},
    )


def reloader(spec: EnvironmentSpec) -> HelmAddon:
    return HelmAddon(
        release=RELOADER_RELEASE,
        chart=RELOADER_CHART,
        namespace=RELOADER_RELEASE,
        values={
            "reloader": {
                # The default strategy adds an environment variable to the pod template, a change to a
                # list the manifest sets, which Argo CD reports as drift and self-heal reverts. An
                # annotation the manifest does not set is not drift.
                "reloadStrategy": "annotations",
                "readOnlyRootFileSystem": True,
                "deployment": {
                    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containerSecurityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                },
            },
        },
        namespace_labels=pod_security_labels("restricted", spec.cluster.version),
    )


def karpenter(spec: EnvironmentSpec) -> HelmAddon:
    """Karpenter on the system node group, never on a node it manages (charts/karpenter_addon.py)."""
    return HelmAddon(release=KARPENTER_RELEASE, chart=KARPENTER_CHART, namespace=KUBE_SYSTEM, values=karpenter_values(spec))


def addons_for(spec: EnvironmentSpec) -> tuple[HelmAddon, ...]:
    return (
        load_balancer_controller(spec),
        external_secrets(spec),
        kube_prometheus_stack(spec),
        metrics_server(spec),
        reloader(spec),
        karpenter(spec),
    )
