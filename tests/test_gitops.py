"""Argo CD objects (dist/<env>/gitops.k8s.yaml): least-privilege projects, the sync policy per
environment, pinned add-on charts, and the names they share with the other layers.

Schema validity of every AppProject and Application against the Argo CD CRDs is checked by
tests/test_kubernetes_schema.py, like every other object.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from charts.addons import HELM_CHARTS
from charts.gitops import APP_CLUSTER_RESOURCES, APP_NAMESPACED_RESOURCES, APP_NAMESPACES, GITOPS_FILE, SYNC_WAVE
from charts.gitops_dr import STANDBY_ROOT
from envspec import names_for
from envspec.naming import (
    APPLICATION_CHARTS,
    ARGOCD_APP_PROJECT,
    ARGOCD_GITOPS_PROJECT,
    ARGOCD_IN_CLUSTER,
    ARGOCD_NAMESPACE,
    ARGOCD_PLATFORM_PROJECT,
    ARGOCD_ROOT_APPLICATION,
    EXTERNAL_DNS_RELEASE,
    EXTERNAL_SECRETS_RELEASE,
    GP3_STORAGE_CLASS,
    GRAFANA_DASHBOARD_LABELS,
    KARPENTER_RELEASE,
    KUBE_PROMETHEUS_RELEASE,
    LOAD_BALANCER_CONTROLLER_RELEASE,
    LOG_AGENT_RELEASE,
    METRICS_SERVER_RELEASE,
    MONITORING_NAMESPACE,
    MONITORING_SELECTOR_LABELS,
    RELOADER_RELEASE,
    STORAGE_CHART,
    argocd_application,
)
from tests.conftest import ENVIRONMENTS, ROOT, SPECS, Synthesis, resources_of
from tools.kube_validate import CRD_DIR, load_crd

ADDONS = (
    LOAD_BALANCER_CONTROLLER_RELEASE,
    EXTERNAL_SECRETS_RELEASE,
    KUBE_PROMETHEUS_RELEASE,
    METRICS_SERVER_RELEASE,
    RELOADER_RELEASE,
    KARPENTER_RELEASE,
    EXTERNAL_DNS_RELEASE,
    LOG_AGENT_RELEASE,
)
# Built-in kinds that are cluster-scoped (the custom ones come from the CRDs in crds/).
BUILTIN_CLUSTER_SCOPED = {
    ("", "Namespace"),
    ("", "PersistentVolume"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("storage.k8s.io", "StorageClass"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("networking.k8s.io", "IngressClass"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
}


def _gitops(synthesis: Synthesis, env: str) -> list[dict[str, Any]]:
    path = synthesis.kubernetes_dir / env / GITOPS_FILE
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def _by_name(synthesis: Synthesis, env: str, kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in _gitops(synthesis, env) if doc["kind"] == kind}


def _group(api_version: str) -> str:
    return api_version.split("/")[0] if "/" in api_version else ""


def _cluster_scoped() -> set[tuple[str, str]]:
    custom = set()
    for path in CRD_DIR.glob("*.yaml"):
        crd = load_crd(path)
        if crd["spec"]["scope"] == "Cluster":
            custom.add((crd["spec"]["group"], crd["spec"]["names"]["kind"]))
    return BUILTIN_CLUSTER_SCOPED | custom


def _app_manifests(synthesis: Synthesis, env: str) -> list[dict[str, Any]]:
    """Every object the application Application syncs: all charts but the GitOps one."""
    return [doc for path in synthesis.chart_files(env) if path.name != GITOPS_FILE for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_environment_has_its_argo_cd_objects(env: str, synthesis: Synthesis) -> None:
    # With a standby, also its root (`gitops-dr`, charts/gitops_dr.py), which syncs dist/<env>-dr (tests/test_dr_stacks.py).
    standby = {STANDBY_ROOT} if SPECS[env].dr.has_standby else set()
    expected_projects = {"default", ARGOCD_GITOPS_PROJECT, ARGOCD_APP_PROJECT, ARGOCD_PLATFORM_PROJECT} | standby
    assert set(_by_name(synthesis, env, "AppProject")) == expected_projects
    charts = [path.name.removesuffix(".k8s.yaml") for path in synthesis.chart_files(env) if path.name != GITOPS_FILE]
    expected = {ARGOCD_ROOT_APPLICATION, *(argocd_application(chart) for chart in charts), *ADDONS} | standby
    assert set(_by_name(synthesis, env, "Application")) == expected
    for doc in _gitops(synthesis, env):
        assert doc["apiVersion"] == "argoproj.io/v1alpha1"
        assert doc["metadata"]["namespace"] == ARGOCD_NAMESPACE


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_projects_restrict_sources_and_destinations(env: str, synthesis: Synthesis) -> None:
    names = names_for(SPECS[env])
    projects = _by_name(synthesis, env, "AppProject")
    repository = f"https://github.com/{SPECS[env].ci.github_repository}.git"
    assert names.repository_url == repository
    assert projects[ARGOCD_APP_PROJECT]["spec"]["sourceRepos"] == [repository]
    assert projects[ARGOCD_GITOPS_PROJECT]["spec"]["sourceRepos"] == [repository]
    assert set(projects[ARGOCD_PLATFORM_PROJECT]["spec"]["sourceRepos"]) == {chart.repository for chart in HELM_CHARTS}
    assert {d["namespace"] for d in projects[ARGOCD_APP_PROJECT]["spec"]["destinations"]} == set(APP_NAMESPACES)
    assert [d["namespace"] for d in projects[ARGOCD_GITOPS_PROJECT]["spec"]["destinations"]] == [ARGOCD_NAMESPACE]
    for name, project in projects.items():
        spec = project["spec"]
        assert "*" not in spec.get("sourceRepos", []), name
        for destination in spec.get("destinations", []):
            assert destination == {"server": ARGOCD_IN_CLUSTER, "namespace": destination["namespace"]}, name
            assert "*" not in destination["namespace"], name
        for entry in spec.get("clusterResourceWhitelist", []) + spec.get("namespaceResourceWhitelist", []):
            assert "*" not in (entry["group"], entry["kind"]), f"{name} whitelists a wildcard"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cluster_scoped_whitelists_are_minimal(env: str, synthesis: Synthesis) -> None:
    projects = _by_name(synthesis, env, "AppProject")
    assert projects["default"]["spec"].keys() <= {"description"}, "the built-in default project must allow nothing"
    assert "clusterResourceWhitelist" not in projects[ARGOCD_GITOPS_PROJECT]["spec"]
    assert projects[ARGOCD_GITOPS_PROJECT]["spec"]["namespaceResourceWhitelist"] == [
        {"group": "argoproj.io", "kind": "AppProject"},
        {"group": "argoproj.io", "kind": "Application"},
    ]
    whitelist = {(e["group"], e["kind"]) for e in projects[ARGOCD_APP_PROJECT]["spec"]["clusterResourceWhitelist"]}
    assert whitelist == set(APP_CLUSTER_RESOURCES)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_application_project_allows_exactly_the_rendered_kinds(env: str, synthesis: Synthesis) -> None:
    """Argo CD allows every namespaced kind when a project has no namespaceResourceWhitelist
    (Argo CD docs, "Projects"): the `ai-subsidy` project lists exactly what the charts render, so
    no Role, RoleBinding or Secret can be synced through it."""
    cluster_scoped = _cluster_scoped()
    rendered = {(_group(doc["apiVersion"]), doc["kind"]) for doc in _app_manifests(synthesis, env)} - cluster_scoped
    project = _by_name(synthesis, env, "AppProject")[ARGOCD_APP_PROJECT]["spec"]
    whitelist = {(e["group"], e["kind"]) for e in project["namespaceResourceWhitelist"]}
    assert whitelist == rendered == set(APP_NAMESPACED_RESOURCES)
    assert not whitelist & {("rbac.authorization.k8s.io", "Role"), ("rbac.authorization.k8s.io", "RoleBinding"), ("", "Secret")}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_application_manifests_fit_their_project(env: str, synthesis: Synthesis) -> None:
    """What Argo CD would refuse to sync: a cluster-scoped kind outside the whitelist, or a
    namespaced object outside the project's destinations."""
    cluster_scoped = _cluster_scoped()
    whitelist = set(APP_CLUSTER_RESOURCES)
    manifests = _app_manifests(synthesis, env)
    assert manifests
    for doc in manifests:
        key = (_group(doc["apiVersion"]), doc["kind"])
        label = f"{doc['kind']}/{doc['metadata']['name']}"
        if key in cluster_scoped:
            assert key in whitelist, f"{label}: cluster-scoped kind not in the {ARGOCD_APP_PROJECT} project's whitelist"
        else:
            assert doc["metadata"].get("namespace", "ai-subsidy") in APP_NAMESPACES, f"{label}: namespace outside the project"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_sync_policy_follows_the_environment(env: str, synthesis: Synthesis) -> None:
    spec = SPECS[env]
    assert spec.gitops.automated_sync is (not spec.is_production), "production syncs by hand, the others automatically"
    for name, app in _by_name(synthesis, env, "Application").items():
        policy = app["spec"]["syncPolicy"]
        if spec.gitops.automated_sync:
            assert policy["automated"] == {"prune": True, "selfHeal": True}, name
        else:
            assert "automated" not in policy, f"{name} must wait for a manual sync in {env}"
        assert policy["retry"]["limit"] > 0, name


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_rendered_file_is_synced_by_exactly_one_application_of_its_environment(env: str, synthesis: Synthesis) -> None:
    names = names_for(SPECS[env])
    synced: dict[str, str] = {}
    for name, application in _by_name(synthesis, env, "Application").items():
        source = application["spec"]["source"]
        if "chart" in source or name == STANDBY_ROOT:  # the standby's root syncs dist/<env>-dr (tests/test_dr_stacks.py)
            continue
        assert source["repoURL"] == names.repository_url
        assert source["targetRevision"] == names.gitops_branch == f"gitops/{env}"
        assert source["path"] == names.manifests_path == f"dist/{env}"
        assert set(source["directory"]) == {"include"}, name
        file = source["directory"]["include"]
        assert file not in synced, f"{file} is synced by {synced.get(file)} and {name}"
        synced[file] = name
    assert set(synced) == {path.name for path in synthesis.chart_files(env)}
    assert synced[GITOPS_FILE] == ARGOCD_ROOT_APPLICATION
    applications = _by_name(synthesis, env, "Application")
    assert applications[ARGOCD_ROOT_APPLICATION]["spec"]["project"] == ARGOCD_GITOPS_PROJECT
    for file, name in synced.items():
        if file != GITOPS_FILE:
            assert name == argocd_application(file.removesuffix(".k8s.yaml"))
            assert applications[name]["spec"]["project"] == ARGOCD_APP_PROJECT


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_application_charts_sync_in_order(env: str, synthesis: Synthesis) -> None:
    """The migration Job (a PreSync hook of `workloads`) needs the Secrets and network policies of
    the charts before it: the root applies the chart Applications in APPLICATION_CHARTS order (the
    whole order on an empty cluster: tests/test_bootstrap_order.py)."""
    applications = _by_name(synthesis, env, "Application")
    wave = {name: int(app["metadata"]["annotations"][SYNC_WAVE]) for name, app in applications.items() if name != ARGOCD_ROOT_APPLICATION}
    ordered = [wave[argocd_application(chart)] for chart in APPLICATION_CHARTS]
    assert ordered == sorted(ordered) and len(set(ordered)) == len(ordered)
    assert min(wave.values()) > 0, "the AppProjects (wave 0) come before every Application"
    assert "annotations" not in applications[ARGOCD_ROOT_APPLICATION]["metadata"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_storage_class_exists_before_the_add_on_that_claims_it(env: str, synthesis: Synthesis) -> None:
    """kube-prometheus-stack's Prometheus and Alertmanager claim volumes of StorageClass `gp3`; a claim
    of a class that does not exist stays Pending and the add-on never turns healthy, so the `storage`
    chart syncs in an earlier wave (it needs nothing itself)."""
    applications = _by_name(synthesis, env, "Application")
    wave = {name: int(app["metadata"]["annotations"][SYNC_WAVE]) for name, app in applications.items() if name != ARGOCD_ROOT_APPLICATION}
    values = applications[KUBE_PROMETHEUS_RELEASE]["spec"]["source"]["helm"]["valuesObject"]
    claims = {
        values["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]["spec"]["storageClassName"],
        values["alertmanager"]["alertmanagerSpec"]["storage"]["volumeClaimTemplate"]["spec"]["storageClassName"],
    }
    (storage_class,) = synthesis.find(env, "StorageClass")
    assert claims == {storage_class["metadata"]["name"]} == {GP3_STORAGE_CLASS}
    assert wave[argocd_application(STORAGE_CHART)] < wave[KUBE_PROMETHEUS_RELEASE]
    project = applications[argocd_application(STORAGE_CHART)]["spec"]["project"]
    (app_project,) = [item for item in synthesis.find(env, "AppProject") if item["metadata"]["name"] == project]
    assert {"group": "storage.k8s.io", "kind": "StorageClass"} in app_project["spec"]["clusterResourceWhitelist"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_add_ons_come_from_pinned_chart_versions(env: str, synthesis: Synthesis) -> None:
    pinned = {(chart.repository, chart.name): chart.version for chart in HELM_CHARTS}
    applications = _by_name(synthesis, env, "Application")
    for name in ADDONS:
        spec = applications[name]["spec"]
        source = spec["source"]
        assert spec["project"] == ARGOCD_PLATFORM_PROJECT
        assert re.fullmatch(r"\d+\.\d+\.\d+", source["targetRevision"]), f"{name}: {source['targetRevision']} is not an exact version"
        assert pinned[(source["repoURL"], source["chart"])] == source["targetRevision"]
        assert source["helm"]["releaseName"] == name


def test_add_on_versions_install_the_crds_the_objects_are_validated_against() -> None:
    readme = (ROOT / "crds" / "README.md").read_text(encoding="utf-8")
    external_secrets = next(chart for chart in HELM_CHARTS if chart.name == "external-secrets")
    assert re.search(rf"external-secrets/external-secrets \| v{re.escape(external_secrets.version)} \|", readme)
    prometheus_operator = re.search(r"prometheus-operator/prometheus-operator \| v(\d+)\.(\d+)\.\d+ \|", readme)
    assert prometheus_operator, "crds/README.md names the prometheus-operator release"
    # kube-prometheus-stack 88.x ships prometheus-operator 0.93 (its major follows operator bumps).
    kube_prometheus = next(chart for chart in HELM_CHARTS if chart.name == "kube-prometheus-stack")
    assert (kube_prometheus.version.split(".")[0], prometheus_operator.groups()) == ("88", ("0", "93"))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_load_balancer_controller_values_match_the_aws_layer(env: str, synthesis: Synthesis) -> None:
    spec, names = SPECS[env], names_for(SPECS[env])
    application = _by_name(synthesis, env, "Application")[LOAD_BALANCER_CONTROLLER_RELEASE]["spec"]
    values = application["source"]["helm"]["valuesObject"]
    account = names.load_balancer_controller_service_account
    assert application["destination"]["namespace"] == account.namespace
    assert values["serviceAccount"] == {"create": True, "name": account.name}
    assert values["clusterName"] == names.cluster_name
    assert values["region"] == spec.aws.region
    vpcs = resources_of(synthesis.stack(f"{env}-network"), "aws_vpc")
    assert [vpc["tags"]["Name"] for vpc in vpcs.values()] == [values["vpcTags"]["Name"]], "the controller finds the VPC by its Name tag"
    assert "vpcId" not in values


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_external_secrets_runs_as_the_service_account_with_pod_identity(env: str, synthesis: Synthesis) -> None:
    account = names_for(SPECS[env]).external_secrets_service_account
    application = _by_name(synthesis, env, "Application")[EXTERNAL_SECRETS_RELEASE]["spec"]
    assert application["destination"]["namespace"] == account.namespace
    assert application["source"]["helm"]["valuesObject"]["serviceAccount"] == {"create": True, "name": account.name}
    assert "CreateNamespace=true" in application["syncPolicy"]["syncOptions"]
    labels = application["syncPolicy"]["managedNamespaceMetadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_kube_prometheus_stack_selects_our_monitoring_objects(env: str, synthesis: Synthesis) -> None:
    application = _by_name(synthesis, env, "Application")[KUBE_PROMETHEUS_RELEASE]["spec"]
    assert application["destination"]["namespace"] == MONITORING_NAMESPACE
    assert application["source"]["helm"]["releaseName"] == KUBE_PROMETHEUS_RELEASE
    assert "ServerSideApply=true" in application["syncPolicy"]["syncOptions"]
    # The `namespaces` chart makes `monitoring` (Grafana's login Secret must be in it first).
    assert "CreateNamespace=true" not in application["syncPolicy"]["syncOptions"]
    (namespace,) = synthesis.find(env, "Namespace", MONITORING_NAMESPACE)
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    values = application["source"]["helm"]["valuesObject"]
    selector = {"matchLabels": MONITORING_SELECTOR_LABELS}
    alertmanager = values["alertmanager"]["alertmanagerSpec"]
    assert alertmanager["alertmanagerConfigMatcherStrategy"] == {"type": "None"}
    assert alertmanager["alertmanagerConfigSelector"] == selector
    prometheus = values["prometheus"]["prometheusSpec"]
    for kind in ("rule", "serviceMonitor", "podMonitor"):
        assert prometheus[f"{kind}Selector"] == selector, kind
        assert prometheus[f"{kind}SelectorNilUsesHelmValues"] is False, kind
    dashboards = values["grafana"]["sidecar"]["dashboards"]
    assert {dashboards["label"]: dashboards["labelValue"]} == GRAFANA_DASHBOARD_LABELS
    admin = names_for(SPECS[env]).grafana_admin_secret
    assert values["grafana"]["admin"] == {"existingSecret": admin.kubernetes_name, "userKey": admin.keys[0], "passwordKey": admin.keys[1]}
    assert admin.namespace == MONITORING_NAMESPACE
    (login,) = synthesis.find(env, "ExternalSecret", admin.kubernetes_name)
    assert login["metadata"]["namespace"] == MONITORING_NAMESPACE
    assert {(d["secretKey"], d["remoteRef"]["key"]) for d in login["spec"]["data"]} == {(key, admin.remote_name) for key in admin.keys}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_reloader_rolls_the_annotated_deployments_without_drift(env: str, synthesis: Synthesis) -> None:
    """Deployments ask Reloader to roll them when a Secret they read changes; Reloader must run, and
    with the annotations strategy (its default edits the pod template's env, which self-heal reverts)."""
    annotated = [
        doc["metadata"]["name"]
        for doc in synthesis.find(env, "Deployment")
        if any(key.endswith("reloader.stakater.com/reload") for key in doc["metadata"].get("annotations", {}))
    ]
    assert annotated, "the workloads ask Reloader to roll them after a secret rotation"
    application = _by_name(synthesis, env, "Application")[RELOADER_RELEASE]["spec"]
    values = application["source"]["helm"]["valuesObject"]["reloader"]
    assert values["reloadStrategy"] == "annotations"
    assert values.get("watchGlobally", True), "the Deployments live in another namespace than Reloader"
    labels = application["syncPolicy"]["managedNamespaceMetadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    container = values["deployment"]["containerSecurityContext"]
    assert container == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    assert values["readOnlyRootFileSystem"] is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_jobs_in_the_application_manifests_are_argo_cd_hooks(env: str, synthesis: Synthesis) -> None:
    """A plain Job is immutable once created; the migration Job must run as a PreSync hook."""
    jobs = [doc for doc in _app_manifests(synthesis, env) if doc["kind"] == "Job"]
    if not jobs:
        pytest.skip("no Job in the application manifests yet")
    for job in jobs:
        annotations = job["metadata"].get("annotations", {})
        assert annotations.get("argocd.argoproj.io/hook") in ("PreSync", "Sync", "PostSync"), job["metadata"]["name"]
        assert "argocd.argoproj.io/hook-delete-policy" in annotations, job["metadata"]["name"]
