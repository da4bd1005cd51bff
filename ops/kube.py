"""Kubernetes through the official Python client: rollout restarts with `kubectl rollout restart`
semantics, rollout status as `kubectl rollout status` computes it, pods, logs, events, the Prometheus
API through the API server's service proxy, and External Secrets refreshes.

Responses are read as the API server's JSON (`_preload_content=False`), so what the tools see and
store is exactly what the cluster returned.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from envspec import Names
from envspec.naming import (
    APP_NAMESPACE,
    EXTERNAL_SECRET_FORCE_SYNC_ANNOTATION,
    MONITORING_NAMESPACE,
    PROMETHEUS_PORT_NAME,
    PROMETHEUS_SERVICE,
    RESTARTED_AT_ANNOTATION,
)
from envspec.topology import Component
from ops.console import step
from ops.errors import EnvironmentProblem, OpsError
from ops.timeutil import iso
from ops.waiting import Poll, wait_for

STRATEGIC_MERGE = "application/strategic-merge-patch+json"
MERGE_PATCH = "application/merge-patch+json"
EXTERNAL_SECRETS_GROUP, EXTERNAL_SECRETS_VERSION, EXTERNAL_SECRETS_PLURAL = "external-secrets.io", "v1", "externalsecrets"


@dataclass(frozen=True)
class ClusterRef:
    """An EKS cluster by region and name: the environment's own, or its standby in the DR region."""

    region: str
    name: str


def cluster_contexts(names: Names, cluster: ClusterRef | None = None) -> list[str]:
    """Context names `aws eks update-kubeconfig` writes by default (the cluster ARN), then the alias."""
    cluster = cluster or ClusterRef(names.spec.aws.region, names.cluster_name)
    return [f"arn:aws:eks:{cluster.region}:{names.account}:cluster/{cluster.name}", cluster.name]


class Kube:
    def __init__(
        self,
        names: Names,
        context: str | None = None,
        cluster: ClusterRef | None = None,
        timeout_seconds: float | None = None,
        context_option: str = "--kube-context",
    ):
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        self.names = names
        self.cluster = cluster or ClusterRef(names.spec.aws.region, names.cluster_name)
        # A request timeout for clusters that may not answer (a primary region that is down).
        self.timeout = timeout_seconds
        self.context_option = context_option  # the command's option that names the context
        # Read KUBECONFIG now: the client library freezes it when first imported.
        config_file = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
        try:
            contexts, _ = config.list_kube_config_contexts(config_file=config_file)
        except (ConfigException, FileNotFoundError):
            raise EnvironmentProblem(self._setup_hint("no kubeconfig found")) from None
        available = {item["name"] for item in contexts}
        if context is not None and context not in available:
            raise EnvironmentProblem(f"kubeconfig has no context '{context}' (known: {', '.join(sorted(available))})")
        chosen = context or next((name for name in cluster_contexts(names, self.cluster) if name in available), None)
        if chosen is None:
            raise EnvironmentProblem(self._setup_hint(f"kubeconfig has no context for cluster {self.cluster.name}"))
        self.context = chosen
        configuration = type.__call__(client.Configuration)  # a fresh one, as new_client_from_config makes
        if timeout_seconds is not None:
            configuration.retries = 0  # a cluster that may be down: one attempt, bounded by the timeout
        api_client = config.new_client_from_config(config_file=config_file, context=chosen, client_configuration=configuration)
        api_client.configuration.safe_chars_for_path_param = "/"  # proxy paths keep their slashes
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)

    def _setup_hint(self, problem: str) -> str:
        command = f"aws eks update-kubeconfig --region {self.cluster.region} --name {self.cluster.name}"
        return f"{problem}; run `{command}` or pass {self.context_option}"

    @staticmethod
    def _json(response: Any) -> Any:
        return json.loads(response.data)

    # --- Deployments ---
    def _limits(self) -> dict[str, Any]:
        return {} if self.timeout is None else {"_request_timeout": self.timeout}

    def deployment(self, name: str, namespace: str = APP_NAMESPACE) -> dict[str, Any]:
        return self._json(self.apps.read_namespaced_deployment(name, namespace, _preload_content=False, **self._limits()))

    def scale(self, name: str, replicas: int, namespace: str = APP_NAMESPACE) -> dict[str, Any]:
        """`kubectl scale --replicas`: the Deployment's desired replica count (bumps its generation)."""
        body = {"spec": {"replicas": replicas}}
        response = self.apps.patch_namespaced_deployment(
            name, namespace, body, _content_type=STRATEGIC_MERGE, _preload_content=False, **self._limits()
        )
        return self._json(response)

    def restart(self, name: str, at: datetime, namespace: str = APP_NAMESPACE) -> dict[str, Any]:
        """`kubectl rollout restart`: a new pod-template annotation makes the controller replace every pod."""
        body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT_ANNOTATION: iso(at)}}}}}
        response = self.apps.patch_namespaced_deployment(name, namespace, body, _content_type=STRATEGIC_MERGE, _preload_content=False)
        return self._json(response)

    # --- Pods, logs, events ---
    def pods(self, selector: str, namespace: str = APP_NAMESPACE) -> list[dict[str, Any]]:
        return self._json(self.core.list_namespaced_pod(namespace, label_selector=selector, _preload_content=False))["items"]

    def events(self, namespace: str = APP_NAMESPACE) -> list[dict[str, Any]]:
        return self._json(self.core.list_namespaced_event(namespace, _preload_content=False))["items"]

    def logs(self, pod: str, container: str, tail_lines: int, since_seconds: int, previous: bool = False) -> str:
        response = self.core.read_namespaced_pod_log(
            pod,
            APP_NAMESPACE,
            container=container,
            tail_lines=tail_lines,
            since_seconds=since_seconds,
            timestamps=True,
            previous=previous,
            _preload_content=False,
        )
        return response.data.decode("utf-8", errors="replace")

    # --- Prometheus (kube-prometheus-stack) through the service proxy ---
    def prometheus(self, path: str) -> Any:
        response = self.core.connect_get_namespaced_service_proxy_with_path(
            f"{PROMETHEUS_SERVICE}:{PROMETHEUS_PORT_NAME}", MONITORING_NAMESPACE, path, _preload_content=False
        )
        return self._json(response)

    # --- External Secrets ---
    def external_secret(self, name: str, namespace: str = APP_NAMESPACE) -> dict[str, Any]:
        response = self.custom.get_namespaced_custom_object(
            EXTERNAL_SECRETS_GROUP, EXTERNAL_SECRETS_VERSION, namespace, EXTERNAL_SECRETS_PLURAL, name, _preload_content=False
        )
        return self._json(response)

    def force_sync_external_secret(self, name: str, value: str, namespace: str = APP_NAMESPACE) -> dict[str, Any]:
        """Make External Secrets re-read the remote secret now instead of at its next refresh."""
        body = {"metadata": {"annotations": {EXTERNAL_SECRET_FORCE_SYNC_ANNOTATION: value}}}
        response = self.custom.patch_namespaced_custom_object(
            EXTERNAL_SECRETS_GROUP,
            EXTERNAL_SECRETS_VERSION,
            namespace,
            EXTERNAL_SECRETS_PLURAL,
            name,
            body,
            _content_type=MERGE_PATCH,
            _preload_content=False,
        )
        return self._json(response)


class RolloutFailed(OpsError):
    """A Deployment that will not become ready without a human."""


def rollout_status(deployment: dict[str, Any], min_generation: int = 0) -> tuple[bool, str]:
    """Whether a Deployment's rollout is complete, in `kubectl rollout status` terms.

    `min_generation` is the generation our own change produced: status from before it does not count.
    """
    metadata, spec, status = deployment["metadata"], deployment.get("spec", {}), deployment.get("status", {})
    generation = max(int(metadata.get("generation", 0)), min_generation)
    if int(status.get("observedGeneration", 0)) < generation:
        return False, "waiting for the controller to observe the new pod template"
    for condition in status.get("conditions", []):
        if condition.get("type") == "Progressing" and condition.get("reason") == "ProgressDeadlineExceeded":
            raise RolloutFailed(f"deployment {metadata['name']} exceeded its progress deadline: {condition.get('message', '')}")
    desired = int(spec.get("replicas", 1))
    updated, total, available = (int(status.get(key, 0)) for key in ("updatedReplicas", "replicas", "availableReplicas"))
    if updated < desired:
        return False, f"{updated} of {desired} new replicas updated"
    if total > updated:
        return False, f"{total - updated} old replicas pending termination"
    if available < updated:
        return False, f"{available} of {updated} updated replicas available"
    return True, f"rolled out: {available} of {desired} replicas available"


def restart_and_wait(kube: Kube, component: Component, poll: Poll, at: datetime) -> float:
    """`kubectl rollout restart` then `kubectl rollout status`; returns the seconds waited."""
    step(f"restarting deployment/{component.name}")
    patched = kube.restart(component.name, at)
    generation = int(patched["metadata"].get("generation", 0))
    return wait_for(f"deployment/{component.name}", lambda: rollout_status(kube.deployment(component.name), generation), poll)
