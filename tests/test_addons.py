"""What Kubernetes and Argo CD do with the add-on Applications (charts/addons.py, dist/<env>/gitops.k8s.yaml).

The charts cannot be rendered here (no Helm repository is reachable); the facts each test relies on
were read from the chart's source at the pinned version, named in the test.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from charts.addons import (
    HELM_CHARTS,
    LOAD_BALANCER_CONTROLLER_CHART,
    LOAD_BALANCER_CONTROLLER_GENERATED,
    METRICS_SERVER_CHART,
    addons_for,
    load_balancer_controller,
)
from charts.gitops import GITOPS_FILE
from envspec.naming import (
    EXTERNAL_DNS_RELEASE,
    EXTERNAL_SECRETS_RELEASE,
    KUBE_PROMETHEUS_RELEASE,
    LOAD_BALANCER_CONTROLLER_RELEASE,
    METRICS_SERVER_RELEASE,
    RELOADER_RELEASE,
)
from tests.conftest import ENVIRONMENTS, ROOT, SPECS, Synthesis, resources_of
from tools.kube_validate import CRD_DIR, load_crd

# kubernetes/apimachinery pkg/api/validation/objectmeta.go: `TotalAnnotationSizeLimitB int = 256 * (1 << 10)`,
# the sum of len(key) + len(value) over all of an object's annotations.
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * (1 << 10)
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Argo CD v3 tracks resources by this annotation (its default `application.resourceTrackingMethod`).
TRACKING = "argocd.argoproj.io/tracking-id"
# CRDs Argo CD itself brings (docs/gitops.md step 2 installs them with `kubectl apply --server-side`).
ARGOCD_GROUPS = {"argoproj.io"}


def _applications(synthesis: Synthesis, env: str) -> dict[str, dict[str, Any]]:
    docs = yaml.safe_load_all((synthesis.kubernetes_dir / env / GITOPS_FILE).read_text(encoding="utf-8"))
    return {doc["metadata"]["name"]: doc for doc in docs if doc and doc["kind"] == "Application"}


def client_side_annotation_bytes(crd: dict[str, Any], application: str) -> int:
    """Annotation bytes of a CRD created by client-side apply: the object as JSON (with Argo CD's
    tracking annotation) in the last-applied annotation, plus every other annotation."""
    name = crd["metadata"]["name"]
    annotations = {
        **crd["metadata"].get("annotations", {}),
        TRACKING: f"{application}:apiextensions.k8s.io/CustomResourceDefinition:/{name}",
    }
    applied = {**crd, "metadata": {**crd["metadata"], "annotations": annotations}}
    annotations[LAST_APPLIED] = json.dumps(applied, separators=(",", ":")) + "\n"
    return sum(len(key.encode()) + len(value.encode()) for key, value in annotations.items())


def test_the_annotation_size_of_the_large_crds_is_over_the_limit() -> None:
    """external-secrets issues #5079 and #5881: `metadata.annotations: Too long: may not be more than
    262144 bytes` when clustersecretstores/secretstores are applied client-side."""
    store = load_crd(CRD_DIR / "external-secrets.io_clustersecretstores.yaml")
    assert client_side_annotation_bytes(store, EXTERNAL_SECRETS_RELEASE) > TOTAL_ANNOTATION_SIZE_LIMIT
    rules = load_crd(CRD_DIR / "monitoring.coreos.com_prometheusrules.yaml")
    assert client_side_annotation_bytes(rules, KUBE_PROMETHEUS_RELEASE) < TOTAL_ANNOTATION_SIZE_LIMIT


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_applications_whose_crds_exceed_the_annotation_limit_apply_server_side(env: str, synthesis: Synthesis) -> None:
    """Every CRD file in crds/ is installed by exactly one add-on (by its API group) or by the Argo CD
    install; over the limit, that Application must sync with ServerSideApply=true (no last-applied
    annotation). Every add-on that installs CRDs does so anyway."""
    applications = _applications(synthesis, env)
    owners = {group: addon.release for addon in addons_for(SPECS[env]) for group in addon.crd_groups}
    for path in sorted(CRD_DIR.glob("*.yaml")):
        crd = load_crd(path)
        group = crd["spec"]["group"]
        if group in ARGOCD_GROUPS:
            assert "--server-side" in (ROOT / "docs" / "gitops.md").read_text(encoding="utf-8")
            continue
        assert group in owners, f"{path.name}: no add-on declares the CRD group {group}"
        options = applications[owners[group]]["spec"]["syncPolicy"].get("syncOptions", [])
        if client_side_annotation_bytes(crd, owners[group]) > TOTAL_ANNOTATION_SIZE_LIMIT:
            assert "ServerSideApply=true" in options, f"{path.name} is over the annotation limit: {owners[group]} must apply server-side"
    for addon in addons_for(SPECS[env]):
        options = applications[addon.release]["spec"]["syncPolicy"].get("syncOptions", [])
        assert ("ServerSideApply=true" in options) == bool(addon.crd_groups), addon.release


def test_every_pinned_chart_version_is_recorded_as_published() -> None:
    """crds/README.md names, for every pinned chart version, the upstream index or tag it was checked in."""
    readme = (ROOT / "crds" / "README.md").read_text(encoding="utf-8")
    for chart in HELM_CHARTS:
        row = re.search(
            rf"^\| `{re.escape(chart.name)}` \| {re.escape(chart.version)} \| {re.escape(chart.repository)} \|(.+)\|$", readme, re.M
        )
        assert row, f"crds/README.md has no checked row for {chart.name} {chart.version}"
        assert re.search(r"[0-9a-f]{40}", row.group(1)), f"{chart.name}: name the commit it was checked at"


# --- Placement on the system node group ----------------------------------------------------------
# Values paths of each controller's nodeSelector/tolerations, at the pinned chart version:
# - aws/eks-charts stable/aws-load-balancer-controller 3.4.2 (commit bc30b0d2f3b0e944690c5d3ad05862e1603d04bb):
#   values.yaml `nodeSelector`, `tolerations`; templates/deployment.yaml uses both.
# - external-secrets/external-secrets tag helm-chart-2.9.0 deploy/charts/external-secrets: templates/deployment.yaml,
#   webhook-deployment.yaml, cert-controller-deployment.yaml read `nodeSelector`, `webhook.nodeSelector`,
#   `certController.nodeSelector` (and the same for tolerations).
# - prometheus-community/helm-charts tag kube-prometheus-stack-88.2.0: values.yaml `prometheusOperator.nodeSelector`,
#   `prometheusOperator.admissionWebhooks.patch.nodeSelector` (job-createSecret.yaml, job-patchWebhook.yaml), and
#   the kube-state-metrics 8.2.0 subchart's top-level `nodeSelector`/`tolerations` (tag kube-state-metrics-8.2.0).
# - kubernetes-sigs/metrics-server tag metrics-server-helm-chart-3.13.1: values.yaml `nodeSelector`, `tolerations`.
# - stakater/Reloader tag chart-v2.2.9 deployments/kubernetes/chart/reloader: templates/deployment.yaml reads
#   `reloader.deployment.nodeSelector` and `reloader.deployment.tolerations`.
# - kubernetes-sigs/external-dns tag external-dns-helm-chart-1.21.1 charts/external-dns: templates/deployment.yaml
#   reads the top-level `nodeSelector` and `tolerations`.
CONTROLLER_VALUES = {
    LOAD_BALANCER_CONTROLLER_RELEASE: ((),),
    EXTERNAL_SECRETS_RELEASE: ((), ("webhook",), ("certController",)),
    KUBE_PROMETHEUS_RELEASE: (("prometheusOperator",), ("prometheusOperator", "admissionWebhooks", "patch"), ("kube-state-metrics",)),
    METRICS_SERVER_RELEASE: ((),),
    RELOADER_RELEASE: (("reloader", "deployment"),),
    EXTERNAL_DNS_RELEASE: ((),),
}
EKS_TAINT_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


def tolerates(toleration: dict[str, Any], taint: dict[str, str]) -> bool:
    """k8s.io/api core/v1 toleration.go `ToleratesTaint`: same effect (or none), same key (or none
    with Exists), and for Equal (the default) the same value."""
    if toleration.get("effect") and toleration["effect"] != taint["effect"]:
        return False
    if toleration.get("key") and toleration["key"] != taint["key"]:
        return False
    if toleration.get("operator", "Equal") == "Exists":
        return True
    return toleration.get("value", "") == taint.get("value", "")


def _node_groups(synthesis: Synthesis, env: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(system, application) nodes as labels and Kubernetes-form taints: the managed node group of the
    cluster stack (tainted), and the nodes Karpenter's NodePool launches (its template's labels and taints)."""
    (group,) = resources_of(synthesis.stack(f"{env}-cluster"), "aws_eks_node_group").values()
    assert group.get("taint"), "the managed group is the tainted system group"
    system = {
        "labels": group["labels"],
        "taints": [{"key": t["key"], "value": t.get("value", ""), "effect": EKS_TAINT_EFFECTS[t["effect"]]} for t in group["taint"]],
    }
    (pool,) = synthesis.find(env, "NodePool")
    template = pool["spec"]["template"]
    application = {"labels": template.get("metadata", {}).get("labels", {}), "taints": template["spec"].get("taints", [])}
    return system, application


def _schedulable(pod_values: dict[str, Any], nodes: dict[str, Any]) -> bool:
    tolerated = all(any(tolerates(tol, taint) for tol in pod_values.get("tolerations", [])) for taint in nodes["taints"])
    selected = pod_values.get("nodeSelector", {}).items() <= nodes["labels"].items()
    return tolerated and selected


def _at(values: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    for key in path:
        values = values.get(key, {})
    return values


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_controllers_run_on_the_system_nodes(env: str, synthesis: Synthesis) -> None:
    system, application = _node_groups(synthesis, env)
    applications = _applications(synthesis, env)
    for release, paths in CONTROLLER_VALUES.items():
        values = applications[release]["spec"]["source"]["helm"]["valuesObject"]
        for path in paths:
            pod = _at(values, path)
            assert _schedulable(pod, system), f"{release} {'.'.join(path) or '(top level)'}: cannot run on the system nodes"
            assert not _schedulable(pod, application), f"{release} {'.'.join(path) or '(top level)'}: must select the system nodes"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_prometheus_stays_on_the_application_nodes(env: str, synthesis: Synthesis) -> None:
    """Prometheus needs the memory and volumes of the autoscaled application nodes: it does not
    tolerate the system nodes' taint (prometheus.prometheusSpec.tolerations/nodeSelector)."""
    system, application = _node_groups(synthesis, env)
    values = _applications(synthesis, env)[KUBE_PROMETHEUS_RELEASE]["spec"]["source"]["helm"]["valuesObject"]
    prometheus = _at(values, ("prometheus", "prometheusSpec"))
    assert not _schedulable(prometheus, system)
    assert _schedulable(prometheus, application)


# --- Fields that change between renders or at runtime ---------------------------------------------
# render: the chart's output differs on every `helm template` (Argo CD renders on every refresh);
# runtime: a controller writes a field the chart does not render (not drift for Argo CD's diff).
# - aws-load-balancer-controller 3.4.2, templates/_helpers.tpl `webhookCerts`: genCA/genSignedCert unless
#   webhookTLS values or keepTLSSecret with an existing Secret (`lookup`, empty under `helm template`);
#   templates/webhook.yaml puts the CA in every webhook's caBundle and writes Secret aws-load-balancer-tls.
# - external-secrets helm-chart-2.9.0: templates/webhook-secret.yaml renders Secret external-secrets-webhook
#   without data and validatingwebhook.yaml no caBundle; the cert-controller fills both, and the CRDs'
#   conversion webhook, at runtime.
# - kube-prometheus-stack-88.2.0: admission-webhooks/validatingWebhookConfiguration.yaml and
#   mutatingWebhookConfiguration.yaml render no caBundle with patch.enabled; the job-patch hooks write it.
# - metrics-server-helm-chart-3.13.1: templates/apiservice.yaml calls genSelfSignedCert only with
#   `tls.type: helm`; the default `metrics-server` makes its certificate at runtime (and the
#   APIService skips TLS verification), so nothing changes between renders.
# - chart-v2.2.9 (Reloader): no generated value in its templates.
# - external-dns-helm-chart-1.21.1: no genCA/genSelfSignedCert/rand* in charts/external-dns/templates.
GENERATED_FIELDS = {
    LOAD_BALANCER_CONTROLLER_RELEASE: {
        "render": {
            ("", "Secret", "aws-load-balancer-tls"): {"/data/ca.crt", "/data/tls.crt", "/data/tls.key"},
            ("admissionregistration.k8s.io", "MutatingWebhookConfiguration", "aws-load-balancer-webhook"): {"caBundle"},
            ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration", "aws-load-balancer-webhook"): {"caBundle"},
        },
    },
    EXTERNAL_SECRETS_RELEASE: {
        "render": {},
        "runtime": {
            ("", "Secret", "external-secrets-webhook"): {"/data"},
            ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration", "secretstore-validate"): {"caBundle"},
            ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration", "externalsecret-validate"): {"caBundle"},
            ("apiextensions.k8s.io", "CustomResourceDefinition", "externalsecrets.external-secrets.io"): {"/spec/conversion"},
        },
    },
    KUBE_PROMETHEUS_RELEASE: {
        "render": {},
        "runtime": {
            ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration", "kube-prometheus-stack-admission"): {"caBundle"},
            ("admissionregistration.k8s.io", "MutatingWebhookConfiguration", "kube-prometheus-stack-admission"): {"caBundle"},
        },
    },
    METRICS_SERVER_RELEASE: {"render": {}},
    RELOADER_RELEASE: {"render": {}},
    EXTERNAL_DNS_RELEASE: {"render": {}},
}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_argo_cd_ignores_exactly_the_fields_a_render_regenerates(env: str, synthesis: Synthesis) -> None:
    """Argo CD docs, "Diffing Customization" (a Helm chart using a random template function):
    `ignoreDifferences` per object, `RespectIgnoreDifferences=true` so a sync keeps the live values."""
    applications = _applications(synthesis, env)
    for release, fields in GENERATED_FIELDS.items():
        spec = applications[release]["spec"]
        ignored = {}
        for entry in spec.get("ignoreDifferences", []):
            key = (entry.get("group", ""), entry["kind"], entry["name"])
            paths = set(entry.get("jsonPointers", []))
            paths |= {"caBundle" for jq in entry.get("jqPathExpressions", []) if jq == ".webhooks[]?.clientConfig.caBundle"}
            assert paths, f"{release}: {entry} ignores something the test does not know"
            ignored[key] = paths
        assert ignored == fields["render"], release
        # A runtime field is absent from the render: ignoring it would only hide real drift.
        assert not set(ignored) & set(fields.get("runtime", {})), release
        respects = "RespectIgnoreDifferences=true" in spec["syncPolicy"].get("syncOptions", [])
        assert respects == bool(fields["render"]), release
    metrics_server = applications[METRICS_SERVER_RELEASE]["spec"]["source"]["helm"]["valuesObject"]
    assert metrics_server.get("tls", {}).get("type", "metrics-server") != "helm", "tls.type helm renders a new certificate each time"


# --- Webhooks the ignore rules assume --------------------------------------------------------------
# aws/eks-charts stable/aws-load-balancer-controller templates/webhook.yaml, per chart version, with the
# project's values (`enableServiceMutatorWebhook: false`; `webhookConfig.disableIngressValidation` and
# `controllerConfig.featureGates.GlobalAcceleratorController` unset): the webhook configurations' names
# and their webhooks. The caBundles of exactly these are ignored (RespectIgnoreDifferences keeps the live
# ones); a webhook a new version adds keeps the caBundle of its first render, which does not match the
# live certificate (argo-cd v3.5.1 controller/sync.go normalizeTargetResources). Adding a version here is
# the review docs/gitops.md ("Add-on upgrades") asks for.
LOAD_BALANCER_CONTROLLER_WEBHOOKS = {
    # commit bc30b0d2f3b0e944690c5d3ad05862e1603d04bb ("aws-load-balancer-controller: v3.4.2")
    "3.4.2": {
        ("MutatingWebhookConfiguration", "aws-load-balancer-webhook"): (
            "mpod.elbv2.k8s.aws",
            "quicid.elbv2.k8s.aws",
            "alb-target-control.namespace.elbv2.k8s.aws",
            "alb-target-control.object.elbv2.k8s.aws",
            "mtargetgroupbinding.elbv2.k8s.aws",
        ),
        ("ValidatingWebhookConfiguration", "aws-load-balancer-webhook"): (
            "vingressclassparams.elbv2.k8s.aws",
            "vtargetgroupbinding.elbv2.k8s.aws",
            "vingress.elbv2.k8s.aws",
        ),
    },
}


def test_the_ignored_webhooks_are_reviewed_for_the_pinned_chart_version() -> None:
    """A chart bump fails here until its webhook names are compared with the last reviewed version's."""
    version = LOAD_BALANCER_CONTROLLER_CHART.version
    assert version in LOAD_BALANCER_CONTROLLER_WEBHOOKS, f"{version}: compare templates/webhook.yaml with the last reviewed version"
    configurations = LOAD_BALANCER_CONTROLLER_WEBHOOKS[version]
    ignored = {(f.kind, f.name) for f in LOAD_BALANCER_CONTROLLER_GENERATED if f.group == "admissionregistration.k8s.io"}
    assert ignored == set(configurations)
    values = load_balancer_controller(SPECS["production"]).values
    assert values["enableServiceMutatorWebhook"] is False, "mservice.elbv2.k8s.aws is not in the reviewed table"
    assert not values.get("webhookConfig", {}).get("disableIngressValidation")
    assert not values.get("controllerConfig", {}).get("featureGates", {}).get("GlobalAcceleratorController")
    versions = sorted(LOAD_BALANCER_CONTROLLER_WEBHOOKS, key=lambda v: tuple(map(int, v.split("."))))
    if len(versions) > 1 and configurations != LOAD_BALANCER_CONTROLLER_WEBHOOKS[versions[-2]]:
        upgrade = (ROOT / "docs" / "gitops.md").read_text(encoding="utf-8")
        assert "aws-load-balancer-tls" in upgrade


# --- Availability of what the cluster cannot do without ---------------------------------------------
# Values paths (with the chart's default) at the pinned versions, for the keys the project sets:
# - aws/eks-charts 3.4.2 values.yaml: `replicaCount: 2`, `podDisruptionBudget: {}` (templates/pdb.yaml renders
#   the budget when it is non-empty and replicaCount > 1).
# - external-secrets helm-chart-2.9.0 deploy/charts/external-secrets/values.yaml: `webhook.replicaCount: 1`,
#   `webhook.failurePolicy: Fail`, `webhook.podDisruptionBudget.enabled: false`, `.minAvailable: 1`
#   (templates/webhook-poddisruptionbudget.yaml).
# - metrics-server-helm-chart-3.13.1 charts/metrics-server/values.yaml: `replicas: 1`,
#   `podDisruptionBudget.enabled: false`, `.minAvailable:` (empty), `topologySpreadConstraints: []`, no
#   default affinity (templates/pdb.yaml, templates/deployment.yaml).
UPSTREAM_VALUES = {
    LOAD_BALANCER_CONTROLLER_RELEASE: {("replicaCount",): 2, ("podDisruptionBudget",): {}, ("enableServiceMutatorWebhook",): True},
    EXTERNAL_SECRETS_RELEASE: {
        ("webhook", "replicaCount"): 1,
        ("webhook", "failurePolicy"): "Fail",
        ("webhook", "podDisruptionBudget", "enabled"): False,
        ("webhook", "podDisruptionBudget", "minAvailable"): 1,
    },
    METRICS_SERVER_RELEASE: {
        ("replicas",): 1,
        ("podDisruptionBudget", "enabled"): False,
        ("podDisruptionBudget", "minAvailable"): None,
        ("topologySpreadConstraints",): [],
    },
}
# The add-ons whose loss stops the cluster's work, with the values paths of their replicas and budget:
# webhooks with failurePolicy Fail (the load balancer controller's quicid/alb-target-control/
# targetgroupbinding/ingress webhooks, templates/webhook.yaml 3.4.2; External Secrets' store and
# ExternalSecret validation), and the metrics API every HPA reads. kube-prometheus-stack-88.2.0's admission
# webhooks are Ignore (validatingWebhookConfiguration.yaml: `failurePolicy: ""` with `patch.enabled`).
ESSENTIAL = {
    LOAD_BALANCER_CONTROLLER_RELEASE: (("replicaCount",), ("podDisruptionBudget",)),
    EXTERNAL_SECRETS_RELEASE: (("webhook", "replicaCount"), ("webhook", "podDisruptionBudget")),
    METRICS_SERVER_RELEASE: (("replicas",), ("podDisruptionBudget",)),
}
AVAILABILITY_KEYS = ("replicaCount", "replicas", "podDisruptionBudget", "topologySpreadConstraints", "enableServiceMutatorWebhook")


def _leaves(values: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(values, dict) and values:
        return [leaf for key, value in values.items() for leaf in _leaves(value, (*path, key))]
    return [path]


def _at(values: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        values = values.get(key, {}) if isinstance(values, dict) else {}
    return values


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_availability_values_are_keys_of_the_pinned_charts(env: str) -> None:
    """Every replica, budget and spread key the project sets is a values path of the chart at its pinned
    version (a misspelt key is silently ignored by Helm)."""
    for addon in addons_for(SPECS[env]):
        known = UPSTREAM_VALUES.get(addon.release)
        if known is None:
            continue
        for leaf in _leaves(addon.values):
            cut = next((i for i, key in enumerate(leaf) if key in AVAILABILITY_KEYS), None)
            if cut is None:
                continue
            # A key whose default is `{}` is passed whole into the object (templates/pdb.yaml: toYaml).
            free_form = known.get(leaf[: cut + 1]) == {}
            assert leaf in known or free_form, f"{addon.release}: {'.'.join(leaf)} is not a values key of the pinned chart"


def test_essential_addons_survive_a_drain_in_production() -> None:
    """Kubernetes docs, "Specifying a Disruption Budget": a drain respects a PodDisruptionBudget; with one
    replica and a Fail webhook, the drain of its node rejects every matching request until it is back."""
    spec = SPECS["production"]
    assert spec.gitops.highly_available_addons
    addons = {addon.release: addon for addon in addons_for(spec)}
    for release, (replicas, budget) in ESSENTIAL.items():
        values = addons[release].values
        assert _at(values, replicas) >= 2, release
        pdb = _at(values, budget)
        assert pdb and pdb.get("enabled", True), f"{release}: no PodDisruptionBudget"
        assert {"minAvailable", "maxUnavailable"} & set(pdb), f"{release}: a budget without a bound protects nothing"
    spread = addons[METRICS_SERVER_RELEASE].values["topologySpreadConstraints"]
    assert [c["topologyKey"] for c in spread] == ["kubernetes.io/hostname"]
    assert spread[0]["labelSelector"]["matchLabels"]["app.kubernetes.io/name"] == METRICS_SERVER_CHART.name
