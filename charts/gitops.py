"""Argo CD objects of one environment (`dist/<env>/gitops.k8s.yaml`).

Three AppProjects, least privilege each, plus the built-in `default` project emptied:
- `gitops`: the root Application ("app of apps") that syncs this very file; it may only manage
  Applications and AppProjects in the argocd namespace.
- `ai-subsidy`: the application manifests, one Application per chart of `dist/<env>/`, from this
  repository only, into the namespaces the application and its monitoring objects use, with
  whitelists of exactly the kinds those charts render.
- `platform`: the cluster add-ons, from their pinned Helm repositories only, into their namespaces.

The root applies the Applications in the sync waves of `WAVES`: a wave starts only once every
Application of the one before is Healthy (with the Application health check of docs/gitops.md), so
each object's namespace, CRD, Secret and controller exist before it is created
(tests/test_bootstrap_order.py simulates it on an empty cluster).

Argo CD reads `dist/<env>/` from the environment's branch `gitops/<env>`, which only the deploy
workflow writes, after that environment's Terraform stacks are applied (docs/delivery.md).
Outside production every Application syncs automatically, pruning and self-healing; in production
a person syncs (spec `gitops.automated_sync`).

Two clusters (a standby, envspec/dr.py): the primary's Argo CD also manages the standby cluster. The
primary's file adds the root `gitops-dr` (and its project), which syncs `dist/<env>-dr/gitops.k8s.yaml`:
the standby's own projects and Applications (every name with `-dr`), which target the standby cluster by
name, and the ExternalSecret that renders Argo CD's cluster Secret for it (charts/gitops_dr.py).
"""

from __future__ import annotations

from cdk8s import ApiObjectMetadata
from constructs import Construct

from charts.addons import HELM_CHARTS, HelmAddon, IgnoredFields, addons_for
from charts.base import EnvironmentChart
from charts.gitops_dr import DR_SUFFIX, chart_file_source, cluster_registration, standby_idle_replicas, standby_root
from envspec import EnvironmentSpec
from envspec.naming import (
    APP_NAMESPACE,
    APPLICATION_CHARTS,
    ARGOCD_APP_PROJECT,
    ARGOCD_GITOPS_PROJECT,
    ARGOCD_IN_CLUSTER,
    ARGOCD_NAMESPACE,
    ARGOCD_PLATFORM_PROJECT,
    ARGOCD_ROOT_APPLICATION,
    EXTERNAL_DNS_RELEASE,
    EXTERNAL_SECRETS_RELEASE,
    GITOPS_CHART,
    KARPENTER_RELEASE,
    KUBE_PROMETHEUS_RELEASE,
    LOAD_BALANCER_CONTROLLER_RELEASE,
    LOG_AGENT_RELEASE,
    METRICS_SERVER_RELEASE,
    MONITORING_NAMESPACE,
    RELOADER_RELEASE,
    STORAGE_CHART,
    argocd_application,
)
from imports.io.argoproj import (
    Application,
    ApplicationSpec,
    ApplicationSpecDestination,
    ApplicationSpecIgnoreDifferences,
    ApplicationSpecSource,
    ApplicationSpecSourceHelm,
    ApplicationSpecSyncPolicy,
    ApplicationSpecSyncPolicyAutomated,
    ApplicationSpecSyncPolicyManagedNamespaceMetadata,
    ApplicationSpecSyncPolicyRetry,
    ApplicationSpecSyncPolicyRetryBackoff,
    AppProject,
    AppProjectSpec,
    AppProjectSpecClusterResourceWhitelist,
    AppProjectSpecDestinations,
    AppProjectSpecNamespaceResourceWhitelist,
    AppProjectSpecOrphanedResources,
)
from synth.errors import construct_error

GITOPS_FILE = f"{GITOPS_CHART}.k8s.yaml"

# Cluster-scoped kinds the application manifests may create: their namespace, the one
# ClusterSecretStore through which External Secrets reads this environment's Secrets Manager, and
# the StorageClass of the monitoring volumes (chart `storage`), and what decides where their pods run.
APP_CLUSTER_RESOURCES = (
    ("", "Namespace"),
    ("external-secrets.io", "ClusterSecretStore"),
    ("storage.k8s.io", "StorageClass"),
    # The `scheduling` chart: Karpenter's NodePool and EC2NodeClass, the PriorityClasses.
    ("karpenter.sh", "NodePool"),
    ("karpenter.k8s.aws", "EC2NodeClass"),
    ("scheduling.k8s.io", "PriorityClass"),
)
# Namespaced kinds the application manifests render (tests/test_gitops.py derives them from the output).
APP_NAMESPACED_RESOURCES = (
    ("", "ConfigMap"),
    ("", "Service"),
    ("", "ServiceAccount"),
    ("apps", "Deployment"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("batch", "Job"),
    ("policy", "PodDisruptionBudget"),
    ("networking.k8s.io", "Ingress"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("external-secrets.io", "ExternalSecret"),
    ("monitoring.coreos.com", "AlertmanagerConfig"),
    ("monitoring.coreos.com", "PodMonitor"),
    ("monitoring.coreos.com", "PrometheusRule"),
    ("monitoring.coreos.com", "ServiceMonitor"),
)
# Namespaces the application manifests write to: the application, and its alerting objects
# (AlertmanagerConfig and the ExternalSecrets of its receivers) next to Alertmanager.
APP_NAMESPACES = (APP_NAMESPACE, MONITORING_NAMESPACE)
# Cluster-scoped kinds the add-on charts install (CRDs, RBAC, admission webhooks, the metrics
# APIService, the ALB IngressClass and its parameters, namespaces Argo CD creates for them).
PLATFORM_CLUSTER_RESOURCES = (
    ("", "Namespace"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("apiregistration.k8s.io", "APIService"),
    ("networking.k8s.io", "IngressClass"),
    ("elbv2.k8s.aws", "IngressClassParams"),
)
# A failed sync (an API error, an ExternalSecret Degraded until its Secrets Manager value exists) is retried.
RETRY = ApplicationSpecSyncPolicyRetry(limit=10, backoff=ApplicationSpecSyncPolicyRetryBackoff(duration="15s", factor=2, max_duration="5m"))


SYNC_WAVE = "argocd.argoproj.io/sync-wave"
# The root Application's waves. The AppProjects carry no annotation (wave 0), so every Application
# (wave 1 on) finds its project. Then what needs nothing else in the cluster: the controllers, the
# namespaces and the `gp3` StorageClass (chart `storage`); the ClusterSecretStore (External Secrets'
# CRDs and webhook) with every ExternalSecret (Grafana's login included), after Karpenter's NodePool
# with the PriorityClasses (chart `scheduling`); kube-prometheus-stack (that login, volumes of that
# class, nodes of that pool) with the network policies; last the workloads (their Secrets,
# policies, the `alb` IngressClass, the metrics API) and the monitoring charts (the operator's CRDs).
# The migration Job, a PreSync hook of `workloads`, so finds its Secrets and its network policy in place.
WAVES: dict[str, int] = {
    LOAD_BALANCER_CONTROLLER_RELEASE: 1,
    EXTERNAL_SECRETS_RELEASE: 1,
    METRICS_SERVER_RELEASE: 1,
    RELOADER_RELEASE: 1,
    KARPENTER_RELEASE: 1,
    EXTERNAL_DNS_RELEASE: 1,
    LOG_AGENT_RELEASE: 1,  # needs nothing in the cluster; collects from the first pods on
    argocd_application("namespaces"): 1,
    argocd_application(STORAGE_CHART): 1,
    argocd_application("scheduling"): 2,  # NodePool and EC2NodeClass need Karpenter's CRDs
    argocd_application("secrets"): 3,
    KUBE_PROMETHEUS_RELEASE: 4,  # its Prometheus runs on nodes the NodePool provisions
    argocd_application("network-policies"): 4,
    argocd_application("workloads"): 5,  # pods name the PriorityClasses of `scheduling`
}
LAST_WAVE = 5  # every other chart: the monitoring charts
# `kubectl apply -l` of this label applies only the root and its project (docs/gitops.md, step 5):
# the root then creates everything else in wave order.
BOOTSTRAP_LABELS = {"ai-subsidy.io/bootstrap": "true"}


if missing_waves := [chart for chart in APPLICATION_CHARTS if argocd_application(chart) not in WAVES]:
    raise AssertionError(f"charts/gitops.py WAVES: no wave for application charts {missing_waves}")


def wave_of(application: str) -> int:
    return WAVES.get(application, LAST_WAVE)


class GitOpsChart(EnvironmentChart):
    """`charts`: the ids of every other chart of the environment (one file each in `dist/<env>/`)."""

    def __init__(self, scope: Construct, spec: EnvironmentSpec, *, charts: list[str]):
        super().__init__(scope, GITOPS_CHART, spec=spec, namespace=ARGOCD_NAMESPACE)
        missing = [chart for chart in APPLICATION_CHARTS if chart not in charts]
        if missing or GITOPS_CHART in charts:
            raise construct_error(self, f"needs the other charts of the folder, got {charts}")
        self.standby = self.names.is_standby
        self.suffix = DR_SUFFIX if self.standby else ""
        self.addons = addons_for(spec)
        self._projects()
        if self.standby:
            # The root `gitops-dr` is in the primary's file; this file holds the standby cluster's registration.
            self.registration = cluster_registration(self, names=self.names)
        else:
            self.root = self._git_application(
                name=ARGOCD_ROOT_APPLICATION, project=ARGOCD_GITOPS_PROJECT, namespace=ARGOCD_NAMESPACE, chart=GITOPS_CHART
            )
            if spec.dr.has_standby:
                self.standby_root = standby_root(self, standby=self.names.standby, sync_policy=self._sync_policy(), wave=LAST_WAVE + 1)
        self.applications = [
            self._git_application(
                name=argocd_application(chart) + self.suffix, project=ARGOCD_APP_PROJECT + self.suffix, namespace=APP_NAMESPACE, chart=chart
            )
            for chart in charts
        ]
        self.addon_applications = [self._helm_application(addon) for addon in self.addons]

    # --- AppProjects ---
    def _projects(self) -> None:
        repository = self.names.repository_url
        if self.standby:
            self._shared_projects(repository)
            return
        AppProject(
            self,
            "default_project",
            metadata=ApiObjectMetadata(name="default"),
            # Argo CD's built-in project allows any source and destination; nothing here uses it.
            spec=AppProjectSpec(description="Unused: every Application names a project of its own."),
        )
        AppProject(
            self,
            "gitops_project",
            metadata=ApiObjectMetadata(name=ARGOCD_GITOPS_PROJECT, labels=dict(BOOTSTRAP_LABELS)),
            spec=AppProjectSpec(
                description="The root Application: the Argo CD objects of this environment.",
                source_repos=[repository],
                destinations=[self._destination(ARGOCD_NAMESPACE)],
                namespace_resource_whitelist=[
                    AppProjectSpecNamespaceResourceWhitelist(group="argoproj.io", kind=kind) for kind in ("AppProject", "Application")
                ],
            ),
        )
        self._shared_projects(repository)

    def _shared_projects(self, repository: str) -> None:
        """The application's and the add-ons' projects (the standby's: `-dr`, destinations on the standby cluster)."""
        AppProject(
            self,
            "app_project",
            metadata=ApiObjectMetadata(name=ARGOCD_APP_PROJECT + self.suffix),
            spec=AppProjectSpec(
                description="The AI Subsidy System application manifests rendered from this repository.",
                source_repos=[repository],
                destinations=[self._destination(namespace) for namespace in APP_NAMESPACES],
                cluster_resource_whitelist=[
                    AppProjectSpecClusterResourceWhitelist(group=group, kind=kind) for group, kind in APP_CLUSTER_RESOURCES
                ],
                namespace_resource_whitelist=[
                    AppProjectSpecNamespaceResourceWhitelist(group=group, kind=kind) for group, kind in APP_NAMESPACED_RESOURCES
                ],
                orphaned_resources=AppProjectSpecOrphanedResources(warn=True),
            ),
        )
        AppProject(
            self,
            "platform_project",
            metadata=ApiObjectMetadata(name=ARGOCD_PLATFORM_PROJECT + self.suffix),
            spec=AppProjectSpec(
                description="Cluster add-ons installed from pinned Helm chart versions.",
                source_repos=sorted({chart.repository for chart in HELM_CHARTS}),
                destinations=[self._destination(namespace) for namespace in sorted({addon.namespace for addon in self.addons})],
                cluster_resource_whitelist=[
                    AppProjectSpecClusterResourceWhitelist(group=group, kind=kind) for group, kind in PLATFORM_CLUSTER_RESOURCES
                ],
            ),
        )

    def _destination(self, namespace: str) -> AppProjectSpecDestinations:
        if self.standby:
            return AppProjectSpecDestinations(name=self.names.argocd_dr_cluster, namespace=namespace)
        return AppProjectSpecDestinations(server=ARGOCD_IN_CLUSTER, namespace=namespace)

    def _application_destination(self, namespace: str) -> ApplicationSpecDestination:
        """In-cluster, or the standby cluster by its name in Argo CD (its cluster Secret's `name`)."""
        if self.standby:
            return ApplicationSpecDestination(name=self.names.argocd_dr_cluster, namespace=namespace)
        return ApplicationSpecDestination(server=ARGOCD_IN_CLUSTER, namespace=namespace)

    # --- Applications ---
    def _sync_policy(self, sync_options: tuple[str, ...] = (), namespace_labels: dict[str, str] | None = None) -> ApplicationSpecSyncPolicy:
        automated = ApplicationSpecSyncPolicyAutomated(prune=True, self_heal=True) if self.spec.gitops.automated_sync else None
        options = list(sync_options)
        if namespace_labels is not None:
            options.insert(0, "CreateNamespace=true")
        return ApplicationSpecSyncPolicy(
            automated=automated,
            retry=RETRY,
            sync_options=options or None,
            managed_namespace_metadata=(
                ApplicationSpecSyncPolicyManagedNamespaceMetadata(labels=namespace_labels) if namespace_labels is not None else None
            ),
        )

    def _git_application(self, *, name: str, project: str, namespace: str, chart: str) -> Application:
        """An Application syncing exactly one chart's file of the rendered folder (the root: no wave)."""
        names = self.names
        root = name == ARGOCD_ROOT_APPLICATION
        idle = standby_idle_replicas(self.names, chart)
        return Application(
            self,
            f"{name}_application",
            metadata=ApiObjectMetadata(
                name=name,
                labels=dict(BOOTSTRAP_LABELS) if root else None,
                annotations=None if root else {SYNC_WAVE: str(wave_of(argocd_application(chart)))},
            ),
            spec=ApplicationSpec(
                project=project,
                source=chart_file_source(names, chart),
                destination=self._application_destination(namespace),
                sync_policy=self._sync_policy(("RespectIgnoreDifferences=true",) if idle else ()),
                ignore_differences=idle,
                revision_history_limit=10,
            ),
        )

    def _helm_application(self, addon: HelmAddon) -> Application:
        options = ("ServerSideApply=true",) if addon.server_side_apply else ()
        if addon.ignore_differences:
            # A later sync keeps the live values of the ignored fields instead of the new render's.
            options += ("RespectIgnoreDifferences=true",)
        return Application(
            self,
            f"{addon.release}_application",
            metadata=ApiObjectMetadata(name=addon.release + self.suffix, annotations={SYNC_WAVE: str(wave_of(addon.release))}),
            spec=ApplicationSpec(
                project=ARGOCD_PLATFORM_PROJECT + self.suffix,
                source=ApplicationSpecSource(
                    repo_url=addon.chart.repository,
                    chart=addon.chart.name,
                    target_revision=addon.chart.version,
                    helm=ApplicationSpecSourceHelm(release_name=addon.release, values_object=addon.values),
                ),
                destination=self._application_destination(addon.namespace),
                sync_policy=self._sync_policy(options, addon.namespace_labels),
                ignore_differences=[_ignored(fields) for fields in addon.ignore_differences] or None,
                revision_history_limit=10,
            ),
        )


def _ignored(fields: IgnoredFields) -> ApplicationSpecIgnoreDifferences:
    return ApplicationSpecIgnoreDifferences(
        group=fields.group or None,
        kind=fields.kind,
        name=fields.name,
        json_pointers=list(fields.json_pointers) or None,
        jq_path_expressions=list(fields.jq_path_expressions) or None,
    )
