"""A model of what Argo CD v3.5.1 does with `dist/<env>/` on an empty cluster, for tests/test_bootstrap_order.py.

Rules encoded (argoproj/argo-cd at tag v3.5.1, commit 109ca7ca71139e514114499d294a492e7910a965):
- gitops-engine/pkg/sync/sync_tasks.go: inside one sync, objects go by phase (PreSync, Sync,
  PostSync), then sync wave, then kind (`kindOrder`: Namespace ... ServiceAccount, Secret, ConfigMap
  ... Deployment ... Ingress; custom kinds last).
- gitops-engine/pkg/sync/sync_context.go: with more than one wave, a wave starts only when every
  object of the one before is Healthy; Degraded fails the operation; Progressing or Missing waits.
  For the root ("app of apps") the objects are Applications, whose health is read with the
  `argoproj.io_Application` check of docs/gitops.md (Argo CD docs, "Resource Health", Argocd App:
  removed in 1.8, to restore for app of apps with sync waves; "Sync Phases and Waves").
- controller/health.go `setApplicationHealth`: an Application's health is the worst of its live
  objects'; an object that failed to apply (not live) is ignored, and an Application with no live
  object at all is Missing (a created but never synced Application in production).
- resource_customizations/external-secrets.io/ExternalSecret/health.lua: an ExternalSecret is
  Healthy only when Ready (its Secret written), Progressing until then.
- An object is refused when its namespace or its CRD does not exist, and an Application whose
  AppProject does not exist is not synced.
- aws/eks-charts stable/aws-load-balancer-controller 3.4.2 templates/webhook.yaml: with
  `enableServiceMutatorWebhook` (values.yaml default true) the MutatingWebhookConfiguration holds
  `mservice.elbv2.k8s.aws`, failurePolicy Fail, for every Service CREATE in every namespace (only the
  controller's own label excluded): while the controller is not running, no Service can be created
  (kubernetes-sigs/aws-load-balancer-controller#4140, aws/eks-charts#1058). The configuration is
  applied with the release, a minute before its pods are Ready, so the add-ons synced beside it meet
  it too.
- gitops-engine/pkg/health/health_hpa.go (v3.5.1): an HPA whose `ScalingActive` condition is False
  with reason `FailedGetResourceMetric` is Degraded. metrics-server has no sample of a pod until it
  has scraped it (its `--metric-resolution`, 15 s by default in chart 3.13.1), so a new HPA reads
  Degraded first; the root's retry (docs/gitops.md) syncs it again once its pods have been scraped.
  server/application/application.go (v3.5.1) gives a manual `argocd app sync` the Application's
  `spec.syncPolicy.retry` when the command names none, so production retries the same way.

What each Helm add-on brings is read from its `HelmAddon` (CRD groups, Secrets its pods need) and
from ADDON_PROVIDES (its chart's values.yaml at the pinned version). A workload whose Secret,
ConfigMap, ServiceAccount, IngressClass or metrics API is missing stays Progressing, which holds the
root's next wave forever: the simulation reports it instead of waiting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from charts.addons import HelmAddon
from envspec.naming import (
    EXTERNAL_SECRETS_RELEASE,
    KUBE_PROMETHEUS_RELEASE,
    KUBE_SYSTEM,
    LOAD_BALANCER_CONTROLLER_RELEASE,
    METRICS_SERVER_RELEASE,
)

SYNC_WAVE = "argocd.argoproj.io/sync-wave"
HOOK = "argocd.argoproj.io/hook"
KIND_ORDER = [
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
]
PHASES = {"PreSync": -1, "Sync": 0, "PostSync": 1}
BUILTIN_GROUPS = {
    "",
    "apps",
    "batch",
    "policy",
    "autoscaling",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "apiextensions.k8s.io",
    "admissionregistration.k8s.io",
    "apiregistration.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
}
# eks-charts stable/aws-load-balancer-controller/values.yaml (3.4.2): `ingressClass: alb`,
# `createIngressClassResource: true`; metrics-server charts/metrics-server/values.yaml (3.13.1):
# `apiService.create: true` registers v1beta1.metrics.k8s.io.
ADDON_PROVIDES = {
    LOAD_BALANCER_CONTROLLER_RELEASE: {("IngressClass", "", "alb")},
    METRICS_SERVER_RELEASE: {("APIService", "", "v1beta1.metrics.k8s.io")},
}
# The load balancer controller's pod webhook `mpod.elbv2.k8s.aws` (failurePolicy Ignore: values.yaml 3.4.2
# `podMutatorWebhookConfig.failurePolicy`) adds readiness gates to pods in namespaces with this label;
# such a pod is Ready only once the running controller has registered it with its target group.
READINESS_GATE_LABEL = ("elbv2.k8s.aws/pod-readiness-gate-inject", "enabled")
SERVICE_WEBHOOK = "mservice.elbv2.k8s.aws"
# The Services each chart renders at its pinned version (the model's `addon_objects` adds them):
# external-secrets helm-chart-2.9.0 templates/webhook-service.yaml (`webhook.service.enabled: true`);
# metrics-server-helm-chart-3.13.1 templates/service.yaml; kube-prometheus-stack-88.2.0 its operator's,
# Prometheus', Alertmanager's, Grafana's; Reloader chart-v2.2.9 none (`reloader.service: {}`); the load
# balancer controller's webhook Service carries the label its own webhook excludes.
ADDON_SERVICES = {
    EXTERNAL_SECRETS_RELEASE: ("external-secrets-webhook",),
    METRICS_SERVER_RELEASE: ("metrics-server",),
    KUBE_PROMETHEUS_RELEASE: ("kube-prometheus-stack-operator", "kube-prometheus-stack-prometheus"),
}
# Present before the first sync: the namespaces EKS and the Argo CD install (steps 1-4) make.
INITIAL = {("Namespace", "", KUBE_SYSTEM), ("Namespace", "", "argocd"), ("CRDGroup", "", "argoproj.io")}

Key = tuple[str, str, str]
# The API server creates these itself (Kubernetes docs, "Pod Priority and Preemption").
BUILTIN_PRIORITY_CLASSES = ("system-cluster-critical", "system-node-critical")
METRICS_API: Key = ("APIService", "", "v1beta1.metrics.k8s.io")


def _group(doc: dict[str, Any]) -> str:
    api = doc["apiVersion"]
    return api.split("/")[0] if "/" in api else ""


def _key(kind: str, namespace: str | None, name: str) -> Key:
    return (kind, namespace or "", name)


@dataclass
class Cluster:
    present: set[Key] = field(default_factory=lambda: set(INITIAL))
    namespace_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    health: dict[str, str] = field(default_factory=dict)  # Application -> Healthy / Progressing / Missing
    problems: dict[str, list[str]] = field(default_factory=dict)  # Application -> why it is not Healthy
    webhooks: set[str] = field(default_factory=set)  # mutating webhooks registered (failurePolicy Fail)


def _pod_needs(template: dict[str, Any], namespace: str) -> list[Key]:
    spec = template["spec"]
    needs = [_key("Secret", namespace, ref["name"]) for ref in spec.get("imagePullSecrets", [])]
    if spec.get("serviceAccountName"):
        needs.append(_key("ServiceAccount", namespace, spec["serviceAccountName"]))
    # The Priority admission plugin rejects a pod whose priorityClassName does not exist (Kubernetes
    # docs, "Pod Priority and Preemption"): its controller's pods are never created.
    if spec.get("priorityClassName") and spec["priorityClassName"] not in BUILTIN_PRIORITY_CLASSES:
        needs.append(_key("PriorityClass", None, spec["priorityClassName"]))
    for volume in spec.get("volumes", []):
        if "secret" in volume and not volume["secret"].get("optional"):
            needs.append(_key("Secret", namespace, volume["secret"]["secretName"]))
        if "configMap" in volume and not volume["configMap"].get("optional"):
            needs.append(_key("ConfigMap", namespace, volume["configMap"]["name"]))
    for container in spec.get("initContainers", []) + spec["containers"]:
        for source in container.get("envFrom", []):
            for kind, ref in (("Secret", source.get("secretRef")), ("ConfigMap", source.get("configMapRef"))):
                if ref and not ref.get("optional"):
                    needs.append(_key(kind, namespace, ref["name"]))
        for env in container.get("env", []):
            value_from = env.get("valueFrom", {})
            for kind, ref in (("Secret", value_from.get("secretKeyRef")), ("ConfigMap", value_from.get("configMapKeyRef"))):
                if ref and not ref.get("optional"):
                    needs.append(_key(kind, namespace, ref["name"]))
    return needs


def apply_needs(doc: dict[str, Any], cluster: Cluster | None = None) -> list[Key]:
    """What the API server needs before it accepts the object."""
    namespace = doc["metadata"].get("namespace")
    needs = [_key("Namespace", None, namespace)] if namespace else []
    own = (doc["metadata"].get("labels") or {}).get("app.kubernetes.io/name") == LOAD_BALANCER_CONTROLLER_RELEASE
    if doc["kind"] == "Service" and cluster is not None and SERVICE_WEBHOOK in cluster.webhooks and not own:
        needs.append(_key("Controller", None, LOAD_BALANCER_CONTROLLER_RELEASE))
    if _group(doc) not in BUILTIN_GROUPS:
        needs.append(_key("CRDGroup", None, _group(doc)))
    if doc["kind"] == "Application":
        needs.append(_key("AppProject", None, doc["spec"]["project"]))
    if doc["kind"] == "ClusterSecretStore":  # External Secrets' validating webhook, failurePolicy Fail
        needs.append(_key("Controller", None, EXTERNAL_SECRETS_RELEASE))
    return needs


def ready_needs(doc: dict[str, Any], cluster: Cluster) -> list[Key]:
    """What the object needs to become Healthy (a pod to start, a Secret to be written, ...)."""
    namespace = doc["metadata"].get("namespace", "")
    kind = doc["kind"]
    if kind in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
        needs = _pod_needs(doc["spec"]["template"], namespace)
        # A claim of a StorageClass that does not exist stays Pending, and so does its pod (Kubernetes
        # docs, "Persistent Volumes": a claim is bound only to a volume of its class).
        for claim in doc["spec"].get("volumeClaimTemplates", []):
            if claim["spec"].get("storageClassName"):
                needs.append(_key("StorageClass", None, claim["spec"]["storageClassName"]))
        key, value = READINESS_GATE_LABEL
        if cluster.namespace_labels.get(namespace, {}).get(key) == value:
            needs.append(_key("Controller", None, LOAD_BALANCER_CONTROLLER_RELEASE))
        return needs
    if kind == "ExternalSecret":
        store = doc["spec"]["secretStoreRef"]
        return [
            _key(store["kind"], None if store["kind"] == "ClusterSecretStore" else namespace, store["name"]),
            _key("Controller", None, EXTERNAL_SECRETS_RELEASE),
        ]
    if kind == "Ingress":
        return [_key("IngressClass", None, doc["spec"]["ingressClassName"]), _key("Controller", None, LOAD_BALANCER_CONTROLLER_RELEASE)]
    if kind == "HorizontalPodAutoscaler":
        return [METRICS_API]
    return []


def hpa_degraded(doc: dict[str, Any], cluster: Cluster) -> bool:
    """health_hpa.go: ScalingActive False / FailedGetResourceMetric (no sample of its pods yet)."""
    if doc["kind"] != "HorizontalPodAutoscaler":
        return False
    target = doc["spec"]["scaleTargetRef"]
    return _key("Scraped", doc["metadata"].get("namespace"), target["name"]) not in cluster.present


def products(doc: dict[str, Any]) -> list[Key]:
    namespace = None if doc["kind"] in ("Namespace", "ClusterSecretStore", "AppProject") else doc["metadata"].get("namespace")
    made = [_key(doc["kind"], namespace, doc["metadata"]["name"])]
    if doc["kind"] == "ExternalSecret":
        made.append(_key("Secret", namespace, doc["spec"].get("target", {}).get("name") or doc["metadata"]["name"]))
    return made


def _order(doc: dict[str, Any]) -> tuple[int, int, int, str]:
    annotations = doc["metadata"].get("annotations") or {}
    kind_rank = KIND_ORDER.index(doc["kind"]) - len(KIND_ORDER) if doc["kind"] in KIND_ORDER else 0
    phase = PHASES.get(annotations.get(HOOK, "Sync"), 0)
    return (phase, int(annotations.get(SYNC_WAVE, "0")), kind_rank, doc["metadata"]["name"])


def addon_objects(addon: HelmAddon, application: dict[str, Any]) -> list[dict[str, Any]]:
    """The parts of a Helm release the model needs: its namespace (when the Application creates it),
    CRD groups, pods' Secrets."""
    docs: list[dict[str, Any]] = []
    policy = application["spec"].get("syncPolicy", {})
    if "CreateNamespace=true" in policy.get("syncOptions", []):
        labels = policy.get("managedNamespaceMetadata", {}).get("labels", {})
        docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": addon.namespace, "labels": labels}})
    docs += [
        {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": g}} for g in addon.crd_groups
    ]
    volumes = [{"name": s, "secret": {"secretName": s}} for s in addon.required_secrets]
    pod = {"spec": {"containers": [{"name": addon.release}], "volumes": volumes}}
    docs.append(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": addon.release, "namespace": addon.namespace},
            "spec": {"template": pod},
        }
    )
    docs += [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": addon.namespace}}
        for name in ADDON_SERVICES.get(addon.release, ())
    ]
    classes = sorted(set(_claimed_storage_classes(addon.values)))
    if classes:
        claims = [{"metadata": {"name": name}, "spec": {"storageClassName": name}} for name in classes]
        docs.append(
            {
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "metadata": {"name": f"{addon.release}-volumes", "namespace": addon.namespace},
                "spec": {"template": {"spec": {"containers": [{"name": addon.release}]}}, "volumeClaimTemplates": claims},
            }
        )
    return docs


def _claimed_storage_classes(values: Any) -> list[str]:
    """Every `volumeClaimTemplate.spec.storageClassName` in a release's values (Prometheus', Alertmanager's)."""
    if isinstance(values, dict):
        found = [values["volumeClaimTemplate"]["spec"].get("storageClassName")] if "volumeClaimTemplate" in values else []
        return [name for name in found if name] + [c for value in values.values() for c in _claimed_storage_classes(value)]
    if isinstance(values, list):
        return [c for value in values for c in _claimed_storage_classes(value)]
    return []


def sync_application(name: str, docs: list[dict[str, Any]], cluster: Cluster, provides: set[Key]) -> tuple[set[Key], list[str]]:
    """One child sync against `cluster` (state before this wave): what it makes and what went wrong."""
    made: set[Key] = set()
    problems: list[str] = []
    live: list[dict[str, Any]] = []
    for doc in sorted(docs, key=_order):
        label = f"{doc['kind']}/{doc['metadata']['name']}"
        missing = [need for need in apply_needs(doc, cluster) if need not in cluster.present | made]
        if missing:
            problems.append(f"{label} refused: {missing} do not exist")
            continue
        if doc["kind"] == "CustomResourceDefinition":
            made.add(_key("CRDGroup", None, doc["metadata"]["name"]))
        if doc["kind"] == "Namespace":
            cluster.namespace_labels[doc["metadata"]["name"]] = doc["metadata"].get("labels", {})
        is_hook = HOOK in (doc["metadata"].get("annotations") or {})
        if is_hook:  # a hook must complete before the sync goes on
            waiting = [need for need in ready_needs(doc, cluster) if need not in cluster.present | made]
            if waiting:
                problems.append(f"hook {label} cannot complete: {waiting} do not exist")
                return made, problems
        made.update(products(doc) if doc["kind"] != "ExternalSecret" else products(doc)[:1])
        live.append(doc)
    for doc in live:
        waiting = [need for need in ready_needs(doc, cluster) if need not in cluster.present | made]
        if waiting:
            problems.append(f"{doc['kind']}/{doc['metadata']['name']} stays Progressing: {waiting} do not exist")
        elif hpa_degraded(doc, cluster):
            problems.append(f"{doc['kind']}/{doc['metadata']['name']} is Degraded: FailedGetResourceMetric")
        elif doc["kind"] == "ExternalSecret":
            made.update(products(doc)[1:])
        elif doc["kind"] == "Deployment" and METRICS_API in cluster.present:
            # Running now: metrics-server has a sample of its pods by the next look (a retry, a wait).
            made.add(_key("Scraped", doc["metadata"].get("namespace"), doc["metadata"]["name"]))
    if live and not problems:
        made.add(_key("Controller", None, name))
        made |= provides
    return made, problems


def registers_service_webhook(addon: HelmAddon) -> bool:
    """templates/webhook.yaml 3.4.2: `{{- if .Values.enableServiceMutatorWebhook }}` (default true)."""
    return addon.release == LOAD_BALANCER_CONTROLLER_RELEASE and addon.values.get("enableServiceMutatorWebhook", True)


def health_of(problems: list[str], made: set[Key]) -> str:
    """controller/health.go: refused objects do not count; any Degraded or Progressing object does."""
    if any("Degraded" in problem for problem in problems):
        return "Degraded"
    if any("Progressing" in problem or "hook" in problem for problem in problems):
        return "Progressing"
    return "Healthy" if made else "Missing"
