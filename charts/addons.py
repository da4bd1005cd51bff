"""Cluster add-ons Argo CD installs from pinned Helm chart versions, with their values.

Plain data (no cdk8s): `charts.gitops` turns each `HelmAddon` into an Argo CD Application, and the
tests read the same objects. Every value another layer must agree on comes from `envspec.naming`:
the cluster name, the service accounts the Terraform side gives Pod Identity associations, the
VPC's Name tag, the monitoring selector labels.

Versions: each one is published in its chart repository's index (where it was checked: crds/README.md).
The external-secrets and kube-prometheus-stack releases install exactly the CRD versions in `crds/`
that the custom objects here are validated against. Upgrading a chart is a reviewed change of one
line below; dev and staging sync it first, production when a person syncs it.

Placement: the cluster's controllers run on the system node group (its label and its
CriticalAddonsOnly taint come from `envspec.naming`, shared with stacks/cluster/nodes.py), each
through the values keys its chart has at the pinned version. Prometheus, Alertmanager, Grafana and
node-exporter are not moved: Prometheus needs the memory and the volumes the autoscaled application
nodes have, and node-exporter is a DaemonSet for every node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from charts.karpenter_addon import karpenter_values
from charts.log_agent import log_agent_values
from charts.namespaces import pod_security_labels
from envspec import EnvironmentSpec, names_for
from envspec.naming import (
    CRITICAL_ADDONS_TAINT,
    EXTERNAL_DNS_RELEASE,
    EXTERNAL_SECRETS_RELEASE,
    GP3_STORAGE_CLASS,
    GRAFANA_DASHBOARD_LABELS,
    KARPENTER_RELEASE,
    KUBE_PROMETHEUS_RELEASE,
    KUBE_SYSTEM,
    LOAD_BALANCER_CONTROLLER_RELEASE,
    LOG_AGENT_NAMESPACE,
    LOG_AGENT_RELEASE,
    METRICS_SERVER_RELEASE,
    MONITORING_NAMESPACE,
    MONITORING_SELECTOR_LABELS,
    NODE_ROLE_LABEL,
    RELOADER_RELEASE,
    SYSTEM_NODE_ROLE,
)


@dataclass(frozen=True)
class HelmChart:
    repository: str  # Helm repository URL
    name: str
    version: str  # exact chart version, never a range


LOAD_BALANCER_CONTROLLER_CHART = HelmChart("https://aws.github.io/eks-charts", "aws-load-balancer-controller", "3.4.2")
EXTERNAL_SECRETS_CHART = HelmChart("https://charts.external-secrets.io", "external-secrets", "2.9.0")
KUBE_PROMETHEUS_CHART = HelmChart("https://prometheus-community.github.io/helm-charts", "kube-prometheus-stack", "88.2.0")
METRICS_SERVER_CHART = HelmChart("https://kubernetes-sigs.github.io/metrics-server/", "metrics-server", "3.13.1")
RELOADER_CHART = HelmChart("https://stakater.github.io/stakater-charts", "reloader", "2.2.9")
# An OCI registry: Argo CD takes a repoURL without a scheme as an OCI Helm repository by itself
# (argo-cd reposerver/repository/repository.go: `repo.EnableOCI || helm.IsHelmOciRepo(repo.Repo)`),
# so a public registry needs no repository Secret.
KARPENTER_CHART = HelmChart("public.ecr.aws/karpenter", "karpenter", "1.14.1")
# kubernetes-sigs/external-dns, tag external-dns-helm-chart-1.21.1 (app 0.21.0): charts/external-dns.
EXTERNAL_DNS_CHART = HelmChart("https://kubernetes-sigs.github.io/external-dns/", "external-dns", "1.21.1")
# aws/eks-charts gh-pages index.yaml: aws-for-fluent-bit 0.2.0 (appVersion 3.2.1), stable/aws-for-fluent-bit at 2942cdce.
LOG_AGENT_CHART = HelmChart("https://aws.github.io/eks-charts", "aws-for-fluent-bit", "0.2.0")
HELM_CHARTS = (
    LOAD_BALANCER_CONTROLLER_CHART,
    EXTERNAL_SECRETS_CHART,
    KUBE_PROMETHEUS_CHART,
    METRICS_SERVER_CHART,
    RELOADER_CHART,
    KARPENTER_CHART,
    EXTERNAL_DNS_CHART,
    LOG_AGENT_CHART,
)


@dataclass(frozen=True)
class IgnoredFields:
    """Fields of one rendered object that Argo CD must not compare (its `ignoreDifferences`)."""

    group: str
    kind: str
    name: str
    json_pointers: tuple[str, ...] = ()
    jq_path_expressions: tuple[str, ...] = ()


@dataclass(frozen=True)
class HelmAddon:
    """One Helm release in one namespace, owned by one Argo CD Application of the same name."""

    release: str
    chart: HelmChart
    namespace: str
    values: dict[str, Any]
    # Labels for a namespace Argo CD creates (None: the namespace exists already, e.g. kube-system).
    namespace_labels: dict[str, str] | None = None
    # API groups of the CRDs the chart installs (checked in the chart's source at the pinned version).
    crd_groups: tuple[str, ...] = ()
    # Secrets (in `namespace`) the release's pods need before they can start.
    required_secrets: tuple[str, ...] = ()
    # Fields the chart renders differently on every render (generated certificates).
    ignore_differences: tuple[IgnoredFields, ...] = ()

    @property
    def server_side_apply(self) -> bool:
        """CRD-installing charts sync server-side: client-side apply stores the whole object in the
        last-applied annotation, and some CRDs exceed the 256 KiB annotation limit."""
        return bool(self.crd_groups)


def system_node_placement() -> dict[str, Any]:
    """`nodeSelector` and `tolerations` values that put a pod on the system node group."""
    key, value = CRITICAL_ADDONS_TAINT
    return {
        "nodeSelector": {NODE_ROLE_LABEL: SYSTEM_NODE_ROLE},
        "tolerations": [{"key": key, "operator": "Equal", "value": value, "effect": "NoSchedule"}],
    }


# The chart's name prefix is its name without "-controller" (templates/_helpers.tpl,
# `aws-load-balancer-controller.namePrefix`). Without cert-manager and with keepTLSSecret (whose
# `lookup` returns nothing under `helm template`, which Argo CD runs), templates/_helpers.tpl's
# `webhookCerts` calls genCA/genSignedCert on every render: the TLS Secret and every webhook's
# caBundle differ each time. Argo CD ignores exactly those fields, and RespectIgnoreDifferences keeps
# the live pair (certificate and CA) together on later syncs.
CA_BUNDLES = ".webhooks[]?.clientConfig.caBundle"
_LB_PREFIX = LOAD_BALANCER_CONTROLLER_CHART.name.removesuffix("-controller")
LOAD_BALANCER_CONTROLLER_GENERATED = (
    IgnoredFields("", "Secret", f"{_LB_PREFIX}-tls", json_pointers=("/data/ca.crt", "/data/tls.crt", "/data/tls.key")),
    *(
        IgnoredFields("admissionregistration.k8s.io", kind, f"{_LB_PREFIX}-webhook", jq_path_expressions=(CA_BUNDLES,))
        for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
    ),
)


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
            # values.yaml 3.4.2 `enableServiceMutatorWebhook: true` registers `mservice.elbv2.k8s.aws`
            # (failurePolicy Fail) for every Service CREATE in the cluster: while the controller is
            # down no Service can be created, the other add-ons' on an empty cluster included. It only
            # makes this controller the default for Services of type LoadBalancer, which none renders.
            "enableServiceMutatorWebhook": False,
            **({"podDisruptionBudget": {"maxUnavailable": 1}} if spec.gitops.highly_available_addons else {}),
            **system_node_placement(),
            # No `serviceMonitor`: its template renders a ServiceMonitor without checking that the
            # CRD exists, and this release syncs in the first wave, long before kube-prometheus-stack
            # installs it. Scraped by our PodMonitor instead (charts/addon_monitoring.py).
        },
        # The chart's crds/crds.yaml (TargetGroupBinding, IngressClassParams, ..., GlobalAccelerator) and
        # crds/gateway-crds.yaml (its Gateway API configurations).
        crd_groups=("elbv2.k8s.aws", "aga.k8s.aws", "gateway.k8s.aws"),
        ignore_differences=LOAD_BALANCER_CONTROLLER_GENERATED,
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
            # The controller, its webhook and its cert-controller each have their own keys.
            **system_node_placement(),
            # The webhook validates every SecretStore and ExternalSecret with failurePolicy Fail: a
            # single replica on a drained node stops every secret change until it is rescheduled.
            "webhook": {**system_node_placement(), **_webhook_availability(spec)},
            "certController": system_node_placement(),
            # Its ExternalSecrets' conditions, for MonitoringSecretNotReady. The chart renders the
            # ServiceMonitor once the cluster serves its CRD (renderMode skipIfMissing, the default).
            "serviceMonitor": {"enabled": True, "additionalLabels": dict(MONITORING_SELECTOR_LABELS)},
        },
        namespace_labels=pod_security_labels("restricted", spec.cluster.version),
        crd_groups=("external-secrets.io", "generators.external-secrets.io"),
    )


# EKS runs the scheduler, the controller manager and etcd outside the cluster (no pod a Service could
# select), and its kube-proxy add-on serves metrics on 127.0.0.1:10249 only: the chart's scrape
# objects for them find nothing or get "connection refused", and their default rules would report
# them down forever (KubeSchedulerDown, KubeControllerManagerDown: critical). Off, with their rule
# groups (tests/test_default_rules.py; Windows nodes do not exist here either).
EKS_UNSCRAPEABLE_COMPONENTS = ("kubeScheduler", "kubeControllerManager", "kubeEtcd", "kubeProxy")
EKS_DISABLED_RULE_GROUPS = ("etcd", "kubeSchedulerAlerting", "kubeSchedulerRecording", "kubeControllerManager", "kubeProxy", "windows")
# Prometheus deletes the oldest blocks once its data passes this share of the volume, before the
# volume fills (KubePersistentVolumeFillingUp) and the TSDB stops writing.
RETENTION_SIZE_SHARE = 0.85
PROMETHEUS_NAME = f"{KUBE_PROMETHEUS_RELEASE}-prometheus"
ALERTMANAGER_NAME = f"{KUBE_PROMETHEUS_RELEASE}-alertmanager"


def _volume(size_gib: int) -> dict[str, Any]:
    """A StatefulSet volume claim template on the encrypted gp3 StorageClass (chart `storage`)."""
    return {
        "volumeClaimTemplate": {
            "spec": {
                "storageClassName": GP3_STORAGE_CLASS,
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": f"{size_gib}Gi"}},
            }
        }
    }


def _spread(spec: EnvironmentSpec, *, name: str, instance: str) -> dict[str, Any]:
    """Replicas on different nodes (always) and zones (hard in production, as the workloads).

    The operator labels the pods `app.kubernetes.io/name` and `app.kubernetes.io/instance` (the
    chart's own anti-affinity selects them so); an EBS volume then keeps each replica in its zone.
    """
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": instance}
    return {
        "podAntiAffinity": "hard",
        "podAntiAffinityTopologyKey": "kubernetes.io/hostname",
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "DoNotSchedule" if spec.workloads.zone_spread == "required" else "ScheduleAnyway",
                "labelSelector": {"matchLabels": labels},
                "nodeTaintsPolicy": "Honor",
            }
        ],
    }


def _disruption_budget(replicas: int) -> dict[str, Any]:
    """A node drain evicts one replica at a time (the chart's PDB: minAvailable 1); with a single
    replica a budget would block every drain, so there is none."""
    return {"podDisruptionBudget": {"enabled": True, "minAvailable": 1}} if replicas > 1 else {}


def kube_prometheus_stack(spec: EnvironmentSpec) -> HelmAddon:
    grafana_admin = names_for(spec).grafana_admin_secret
    user_key, password_key = grafana_admin.keys
    selector = _selector(MONITORING_SELECTOR_LABELS)
    (dashboard_label, dashboard_value), *_ = GRAFANA_DASHBOARD_LABELS.items()
    monitoring = spec.monitoring
    return HelmAddon(
        release=KUBE_PROMETHEUS_RELEASE,
        chart=KUBE_PROMETHEUS_CHART,
        namespace=MONITORING_NAMESPACE,
        values={
            **{component: {"enabled": False} for component in EKS_UNSCRAPEABLE_COMPONENTS},
            "defaultRules": {"rules": dict.fromkeys(EKS_DISABLED_RULE_GROUPS, False)},
            "alertmanager": {
                **_disruption_budget(monitoring.alertmanager_replicas),
                "alertmanagerSpec": {
                    # Our AlertmanagerConfig routes match on any alert, not only on their own namespace.
                    "alertmanagerConfigMatcherStrategy": {"type": "None"},
                    "alertmanagerConfigSelector": selector,
                    "replicas": monitoring.alertmanager_replicas,
                    "storage": _volume(monitoring.alertmanager_volume_gib),
                    **_spread(spec, name="alertmanager", instance=ALERTMANAGER_NAME),
                },
            },
            "prometheus": {
                **_disruption_budget(monitoring.prometheus_replicas),
                "prometheusSpec": {
                    "ruleSelectorNilUsesHelmValues": False,
                    "ruleSelector": selector,
                    "serviceMonitorSelectorNilUsesHelmValues": False,
                    "serviceMonitorSelector": selector,
                    "podMonitorSelectorNilUsesHelmValues": False,
                    "podMonitorSelector": selector,
                    "replicas": monitoring.prometheus_replicas,
                    "retention": f"{monitoring.prometheus_retention_days}d",
                    "retentionSize": f"{int(monitoring.prometheus_volume_gib * RETENTION_SIZE_SHARE)}GB",
                    "storageSpec": _volume(monitoring.prometheus_volume_gib),
                    **_spread(spec, name="prometheus", instance=PROMETHEUS_NAME),
                },
            },
            "grafana": {
                # Never the chart's well-known default password: the login comes from Secrets Manager.
                "admin": {"existingSecret": grafana_admin.kubernetes_name, "userKey": user_key, "passwordKey": password_key},
                "sidecar": {
                    "dashboards": {"enabled": True, "label": dashboard_label, "labelValue": dashboard_value, "searchNamespace": "ALL"},
                },
            },
            # The operator and its admission webhook's certificate Jobs (PreSync/PostSync hooks), and
            # kube-state-metrics (one small Deployment), go to the system nodes.
            "prometheusOperator": {**system_node_placement(), "admissionWebhooks": {"patch": system_node_placement()}},
            "kube-state-metrics": system_node_placement(),
        },
        # The namespace comes from the `namespaces` chart, before this release: Grafana's login Secret
        # must be in it first (the `secrets` chart's ExternalSecret), or Grafana cannot start.
        crd_groups=("monitoring.coreos.com",),
        required_secrets=(grafana_admin.kubernetes_name,),
    )


def _webhook_availability(spec: EnvironmentSpec) -> dict[str, Any]:
    """External Secrets' webhook keys (values.yaml helm-chart-2.9.0: `webhook.replicaCount: 1`,
    `webhook.podDisruptionBudget.enabled: false`, `minAvailable: 1`)."""
    if not spec.gitops.highly_available_addons:
        return {}
    return {"replicaCount": 2, "podDisruptionBudget": {"enabled": True, "minAvailable": 1}}


def metrics_server(spec: EnvironmentSpec) -> HelmAddon:
    """Every HPA reads the metrics API this Deployment serves. Highly available: two replicas on
    different system nodes (the chart sets no anti-affinity) and a budget a drain respects."""
    values: dict[str, Any] = {"replicas": 1, **system_node_placement()}
    if spec.gitops.highly_available_addons:
        labels = {"app.kubernetes.io/name": METRICS_SERVER_CHART.name, "app.kubernetes.io/instance": METRICS_SERVER_RELEASE}
        values |= {
            "replicas": 2,
            "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": "DoNotSchedule",
                    "labelSelector": {"matchLabels": labels},
                }
            ],
        }
    return HelmAddon(release=METRICS_SERVER_RELEASE, chart=METRICS_SERVER_CHART, namespace=KUBE_SYSTEM, values=values)


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
                    **system_node_placement(),
                    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containerSecurityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                },
            },
        },
        namespace_labels=pod_security_labels("restricted", spec.cluster.version),
    )


def karpenter(spec: EnvironmentSpec) -> HelmAddon:
    """Karpenter on the system node group, never on a node it manages (charts/karpenter_addon.py)."""
    return HelmAddon(
        release=KARPENTER_RELEASE,
        chart=KARPENTER_CHART,
        namespace=KUBE_SYSTEM,
        values=karpenter_values(spec),
        # The chart's crds/ (NodePool, NodeClaim, EC2NodeClass; ~39 kB each, under the annotation limit).
        crd_groups=("karpenter.sh", "karpenter.k8s.aws"),
    )


def external_dns(spec: EnvironmentSpec) -> HelmAddon:
    """ExternalDNS writes the Ingress hosts' records into the edge stack's zone. Values keys as in the
    chart's values.yaml at 1.21.1: `provider.name`, `sources`, `policy` (chart default upsert-only),
    `txtOwnerId`, `domainFilters`, `extraArgs` (a map renders `--<key>=<value>`)."""
    names = names_for(spec)
    account = names.external_dns_service_account
    return HelmAddon(
        release=EXTERNAL_DNS_RELEASE,
        chart=EXTERNAL_DNS_CHART,
        namespace=account.namespace,
        values={
            "provider": {"name": "aws"},
            "sources": ["ingress"],
            "policy": spec.dns.external_dns_policy,
            "registry": "txt",
            # Only records whose TXT marker names this cluster are changed or deleted.
            "txtOwnerId": names.external_dns_txt_owner,
            "domainFilters": [spec.dns.zone_name],
            "extraArgs": {"aws-zone-type": "public"},
            "env": [{"name": "AWS_DEFAULT_REGION", "value": spec.aws.region}],
            # Credentials come from the Pod Identity association the edge stack creates for this account.
            "serviceAccount": {"create": True, "name": account.name},
            **system_node_placement(),
        },
        # The chart's crds/dnsendpoints.externaldns.k8s.io.yaml.
        crd_groups=("externaldns.k8s.io",),
    )


def log_agent(spec: EnvironmentSpec) -> HelmAddon:
    """Fluent Bit on every node (charts/log_agent.py). Its namespace is privileged: the pods mount the
    nodes' /var/log (hostPath, which the baseline Pod Security level forbids)."""
    return HelmAddon(
        release=LOG_AGENT_RELEASE,
        chart=LOG_AGENT_CHART,
        namespace=LOG_AGENT_NAMESPACE,
        values=log_agent_values(spec),
        namespace_labels=pod_security_labels("privileged", spec.cluster.version),
    )


def addons_for(spec: EnvironmentSpec) -> tuple[HelmAddon, ...]:
    return (
        load_balancer_controller(spec),
        external_secrets(spec),
        kube_prometheus_stack(spec),
        metrics_server(spec),
        reloader(spec),
        karpenter(spec),
        external_dns(spec),
        log_agent(spec),
    )
