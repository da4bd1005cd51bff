"""The standby cluster in the primary's Argo CD: its registration, its root Application, its idle replicas.

- Registration: Argo CD finds a cluster by a Secret labelled `argocd.argoproj.io/secret-type: cluster` with
  `name`, `server` and `config` (Argo CD v3.5.1 docs, operator-manual/declarative-setup.md, "Clusters"; EKS:
  `config.awsAuthConfig.clusterName`, with which argocd-k8s-auth signs an STS GetCallerIdentity request using
  the pod's own AWS credentials, cmd/argocd-k8s-auth/commands/aws.go). No token is stored: the Secret holds
  the endpoint and the CA, rendered by External Secrets from what `<env>-dr-cluster` writes
  (`Names.argocd_dr_cluster_secret`); the credentials are the Pod Identity role `Names.argocd_dr_manager_role`.
- Root: `gitops-dr` in the primary's `gitops.k8s.yaml`, syncing `dist/<env>-dr/gitops.k8s.yaml` into the
  primary's argocd namespace (its own project: it may also create that ExternalSecret).
- Idle replicas: on a pilot-light standby the Deployments render `replicas: 0` next to their autoscalers.
  An HPA cannot hold a target at zero (`minReplicas` is at least 1), but it leaves one at zero alone: with
  the target's replicas 0 and `minReplicas` not 0 it sets `ScalingActive=False, ScalingDisabled` and does
  not scale (kubernetes/kubernetes v1.35.0 pkg/controller/podautoscaler/horizontal.go, `reconcileAutoscaler`:
  "Autoscaling is disabled for this resource"). Failover scales the Deployments to their minimum and the HPA
  resumes; the standby's `workloads` Application ignores `/spec/replicas` of Deployments and respects that on
  sync, so Argo CD does not put them back to zero.
"""

from __future__ import annotations

import json

from cdk8s import ApiObjectMetadata
from constructs import Construct

from charts.external_secret import synced_secret
from envspec import Names
from envspec.naming import ARGOCD_IN_CLUSTER, ARGOCD_NAMESPACE, GITOPS_CHART, SecretBinding
from imports.io.argoproj import (
    Application,
    ApplicationSpec,
    ApplicationSpecDestination,
    ApplicationSpecIgnoreDifferences,
    ApplicationSpecSource,
    ApplicationSpecSourceDirectory,
    ApplicationSpecSyncPolicy,
    AppProject,
    AppProjectSpec,
    AppProjectSpecDestinations,
    AppProjectSpecNamespaceResourceWhitelist,
)
from imports.io.external_secrets import ExternalSecret

DR_SUFFIX = "-dr"
SYNC_WAVE = "argocd.argoproj.io/sync-wave"
STANDBY_ROOT = f"gitops{DR_SUFFIX}"
CLUSTER_SECRET_LABEL = {"argocd.argoproj.io/secret-type": "cluster"}
# What `<env>-dr-cluster` writes into the registration secret (stacks/cluster/argocd_registration.py).
REGISTRATION_KEYS = ("name", "server", "caData", "clusterName")
# The standby root's file holds these kinds only.
STANDBY_ROOT_KINDS = (("argoproj.io", "AppProject"), ("argoproj.io", "Application"), ("external-secrets.io", "ExternalSecret"))


def cluster_config_template() -> str:
    """`config` of the cluster Secret: IAM authentication by cluster name and the CA; External Secrets fills it in."""
    return json.dumps(
        {"awsAuthConfig": {"clusterName": "{{ .clusterName }}"}, "tlsClientConfig": {"caData": "{{ .caData }}"}},
        separators=(",", ":"),
    )


def cluster_registration(scope: Construct, *, names: Names) -> ExternalSecret:
    """The ExternalSecret (primary's argocd namespace, primary's store) rendering the standby's cluster Secret."""
    binding = SecretBinding(names.argocd_dr_cluster, ARGOCD_NAMESPACE, names.argocd_dr_cluster_secret, ("name", "server", "config"))
    return synced_secret(
        scope,
        binding=binding,
        refresh_interval=names.spec.secret_sync.refresh_interval,
        remote_keys=REGISTRATION_KEYS,
        template_data={"name": "{{ .name }}", "server": "{{ .server }}", "config": cluster_config_template()},
        labels=CLUSTER_SECRET_LABEL,
    )


def standby_root(scope: Construct, *, standby: Names, sync_policy: ApplicationSpecSyncPolicy, wave: int) -> Application:
    """`gitops-dr` and its project, in the primary's file: they sync the standby's Argo CD objects."""
    project = f"gitops{DR_SUFFIX}"
    AppProject(
        scope,
        "standby_gitops_project",
        metadata=ApiObjectMetadata(name=project),
        spec=AppProjectSpec(
            description="The standby cluster's Argo CD objects and its registration.",
            source_repos=[standby.repository_url],
            destinations=[AppProjectSpecDestinations(server=ARGOCD_IN_CLUSTER, namespace=ARGOCD_NAMESPACE)],
            namespace_resource_whitelist=[
                AppProjectSpecNamespaceResourceWhitelist(group=group, kind=kind) for group, kind in STANDBY_ROOT_KINDS
            ],
        ),
    )
    return Application(
        scope,
        "standby_root_application",
        # After the primary's own Applications: the primary's bootstrap never waits on the standby, and the
        # registration's ExternalSecret finds External Secrets' CRDs and the store in place.
        metadata=ApiObjectMetadata(name=f"gitops{DR_SUFFIX}", annotations={SYNC_WAVE: str(wave)}),
        spec=ApplicationSpec(
            project=project,
            source=chart_file_source(standby, GITOPS_CHART),
            destination=ApplicationSpecDestination(server=ARGOCD_IN_CLUSTER, namespace=ARGOCD_NAMESPACE),
            sync_policy=sync_policy,
            revision_history_limit=10,
        ),
    )


def chart_file_source(names: Names, chart: str) -> ApplicationSpecSource:
    """One chart's file of the cluster's rendered folder, on the GitOps branch."""
    return ApplicationSpecSource(
        repo_url=names.repository_url,
        target_revision=names.gitops_branch,
        path=names.manifests_path,
        directory=ApplicationSpecSourceDirectory(include=f"{chart}.k8s.yaml"),
    )


def standby_idle_replicas(names: Names, chart: str) -> list[ApplicationSpecIgnoreDifferences] | None:
    """On a pilot-light standby, the `workloads` Application leaves the Deployments' replica counts to failover."""
    if not names.is_standby or names.spec.dr.application_runs_idle or chart != "workloads":
        return None
    return [ApplicationSpecIgnoreDifferences(group="apps", kind="Deployment", json_pointers=["/spec/replicas"])]
