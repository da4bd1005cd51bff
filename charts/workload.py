"""One application component: ServiceAccount, Deployment, Service, HorizontalPodAutoscaler, PodDisruptionBudget.

Secure by default: non-root, read-only root filesystem (writable emptyDir only where the app needs
it), no capabilities, RuntimeDefault seccomp, no service-account token unless the pod calls AWS, no
fixed replica count (the HPA owns it), spread across zones and nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from constructs import Construct

from charts.objects import checkov_skips, manifest
from envspec import Names
from envspec.naming import APP_NAMESPACE, HTTP_PORT_NAME, METRICS_PATH, METRICS_PORT_NAME, REGISTRY_SECRET, Component

RUN_AS = 10001  # a high UID that clashes with no host user
STARTUP_GRACE_SECONDS = 300  # liveness starts only after the app has answered once, or after this

IMAGE_SKIPS = (
    ("CKV_K8S_43", "images are pinned by tag in the environment spec and bumped only by reviewed pull requests"),
    ("CKV_K8S_15", "tags are immutable releases; IfNotPresent avoids a registry round trip on every start"),
)


@dataclass(frozen=True)
class PodSettings:
    """What differs between components, beyond what naming and the spec already say."""

    env: list[dict[str, Any]] = field(default_factory=list)
    env_from: list[dict[str, Any]] = field(default_factory=list)
    writable_paths: dict[str, str] = field(default_factory=lambda: {"tmp": "/tmp"})
    command: list[str] | None = None


def pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "fsGroup": RUN_AS,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": RUN_AS,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def writable_volumes(paths: dict[str, str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(volumes, volumeMounts) of size-limited emptyDirs for the paths an app must write."""
    volumes = [{"name": name, "emptyDir": {"sizeLimit": "256Mi"}} for name in paths]
    mounts = [{"name": name, "mountPath": path} for name, path in paths.items()]
    return volumes, mounts


def container_ports(component: Component) -> list[dict[str, Any]]:
    ports = []
    if component.http_port is not None:
        ports.append({"name": HTTP_PORT_NAME, "containerPort": component.http_port, "protocol": "TCP"})
    ports.append({"name": METRICS_PORT_NAME, "containerPort": component.metrics_port, "protocol": "TCP"})
    return ports


def probes(component: Component) -> dict[str, Any]:
    """Readiness and liveness on the health endpoint (the metrics endpoint for the worker); a startup
    probe holds liveness back until the app first answers, so a slow start is never killed."""
    if component.health_path is not None:
        check = {"httpGet": {"path": component.health_path, "port": component.http_port}}
    else:
        check = {"httpGet": {"path": METRICS_PATH, "port": component.metrics_port}}
    period = 10
    return {
        "startupProbe": {**check, "periodSeconds": 5, "failureThreshold": STARTUP_GRACE_SECONDS // 5, "timeoutSeconds": 3},
        "readinessProbe": {**check, "periodSeconds": period, "failureThreshold": 3, "timeoutSeconds": 3},
        "livenessProbe": {**check, "periodSeconds": period, "failureThreshold": 6, "timeoutSeconds": 5},
    }


def reload_annotations(settings: PodSettings) -> dict[str, str]:
    """Stakater Reloader rolls the Deployment when a Secret or ConfigMap it reads changes: environment
    variables are read once at start, and RDS rotates the database password."""
    secrets = [item["valueFrom"]["secretKeyRef"]["name"] for item in settings.env if "secretKeyRef" in item.get("valueFrom", {})]
    config_maps = [item["configMapRef"]["name"] for item in settings.env_from if "configMapRef" in item]
    annotations = {}
    if secrets:
        annotations["secret.reloader.stakater.com/reload"] = ",".join(dict.fromkeys(secrets))
    if config_maps:
        annotations["configmap.reloader.stakater.com/reload"] = ",".join(dict.fromkeys(config_maps))
    return annotations


class Workload(Construct):
    def __init__(self, scope: Construct, construct_id: str, names: Names, component: Component, settings: PodSettings):
        super().__init__(scope, construct_id)
        workload = names.workload(component)
        labels = component.selector_labels
        namespace = APP_NAMESPACE
        resources = workload.resources
        volumes, mounts = writable_volumes(settings.writable_paths)

        manifest(
            self,
            "service_account",
            "v1",
            "ServiceAccount",
            component.service_account,
            namespace,
            labels=labels,
            automountServiceAccountToken=component.needs_aws,
        )
        container: dict[str, Any] = {
            "name": component.name,
            "image": names.image(component),
            "imagePullPolicy": "IfNotPresent",
            **({"command": settings.command} if settings.command else {}),
            "ports": container_ports(component),
            **({"env": settings.env} if settings.env else {}),
            **({"envFrom": settings.env_from} if settings.env_from else {}),
            "resources": {
                "requests": {"cpu": resources.cpu_request, "memory": resources.memory_request},
                "limits": {"cpu": resources.cpu_limit, "memory": resources.memory_limit},
            },
            **probes(component),
            "securityContext": container_security_context(),
            "volumeMounts": mounts,
        }
        annotations = reload_annotations(settings)
        skips = list(IMAGE_SKIPS)
        if settings.env and any("secretKeyRef" in item.get("valueFrom", {}) for item in settings.env):
            skips.append(
                (
                    "CKV_K8S_35",
                    "the app reads its configuration from environment variables (twelve-factor); Secrets come from External Secrets",
                )
            )
        if component.needs_aws:
            skips.append(("CKV_K8S_38", "the pod calls AWS with its Pod Identity, which needs the service-account token"))
        manifest(
            self,
            "deployment",
            "apps/v1",
            "Deployment",
            component.name,
            namespace,
            labels=labels,
            annotations={**annotations, **checkov_skips(*skips)},
            spec={
                # No `replicas`: the HorizontalPodAutoscaler owns the count (GitOps would fight it).
                "revisionHistoryLimit": 5,
                "selector": {"matchLabels": labels},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": component.service_account,
                        "automountServiceAccountToken": component.needs_aws,
                        "imagePullSecrets": [{"name": REGISTRY_SECRET}],
                        "securityContext": pod_security_context(),
                        "terminationGracePeriodSeconds": 30,
                        "topologySpreadConstraints": [
                            {
                                "maxSkew": 1,
                                "topologyKey": key,
                                "whenUnsatisfiable": "ScheduleAnyway",
                                "labelSelector": {"matchLabels": labels},
                            }
                            for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
                        ],
                        "containers": [container],
                        "volumes": volumes,
                    },
                },
            },
        )
        if component.service_name is not None:
            manifest(
                self,
                "service",
                "v1",
                "Service",
                component.service_name,
                namespace,
                labels=labels,
                annotations={"alb.ingress.kubernetes.io/healthcheck-path": component.health_path or "/"},
                spec={
                    "type": "ClusterIP",
                    "selector": labels,
                    "ports": [
                        {"name": HTTP_PORT_NAME, "port": 80, "targetPort": component.http_port, "protocol": "TCP"},
                        {
                            "name": METRICS_PORT_NAME,
                            "port": component.metrics_port,
                            "targetPort": component.metrics_port,
                            "protocol": "TCP",
                        },
                    ],
                },
            )
        autoscaling = workload.autoscaling
        metrics = [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": autoscaling.cpu_utilization}},
            }
        ]
        if autoscaling.memory_utilization is not None:
            metrics.append(
                {
                    "type": "Resource",
                    "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": autoscaling.memory_utilization}},
                }
            )
        manifest(
            self,
            "autoscaler",
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            component.name,
            namespace,
            labels=labels,
            spec={
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": component.name},
                "minReplicas": autoscaling.min_replicas,
                "maxReplicas": autoscaling.max_replicas,
                "metrics": metrics,
                # Scale up at once, down slowly: avoids flapping on bursty AI traffic.
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
            },
        )
        manifest(
            self,
            "disruption_budget",
            "policy/v1",
            "PodDisruptionBudget",
            component.name,
            namespace,
            labels=labels,
            # maxUnavailable rather than minAvailable: a single-replica environment can still drain nodes.
            spec={"maxUnavailable": 1, "selector": {"matchLabels": labels}},
        )
