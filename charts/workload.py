"""`Workload`: one application component as a Deployment with everything it needs to run safely.

ServiceAccount, ConfigMap, Deployment (no fixed replica count: the HorizontalPodAutoscaler owns it),
Service for components that serve HTTP, HorizontalPodAutoscaler and PodDisruptionBudget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdk8s_plus_27 import k8s
from constructs import Construct

from charts import pod
from charts.priority_classes import priority_class_for
from envspec.models import DRAIN_MAX_UNAVAILABLE, Autoscaling, Resources, Taint
from envspec.naming import HTTP_PORT_NAME, METRICS_PORT_NAME
from envspec.topology import Component, Egress

# Restarts the pods when a listed Secret's data changes (Stakater Reloader, annotations strategy).
RELOADER_SECRETS_ANNOTATION = "secret.reloader.stakater.com/reload"
CONFIG_HASH_ANNOTATION = "ai-subsidy.io/config-sha256"
# Time for the ALB to stop sending new requests to a terminating pod before it gets SIGTERM.
PRE_STOP_SLEEP_SECONDS = 10
# HPA scale-down: the recommendation is the highest of the last five minutes (300 s, the default the
# Kubernetes HPA documentation gives against flapping, written here so the chart does not depend on
# how the control plane was started), then at most one pod a minute goes, where the default would
# drop every surplus pod within 15 s. A queue that drains in bursts would otherwise flap the AI
# worker, each removed pod taking its two-minute grace period with it.
SCALE_DOWN_STABILIZATION_SECONDS = 300
SCALE_DOWN_PODS_PER_MINUTE = 1
# The kubelet's HTTP probe succeeds on 200 <= code < 400 (Kubernetes docs, "Configure Liveness,
# Readiness and Startup Probes"); an ALB health check on 200 only (its default `success-codes`). With
# pod readiness gates both must agree, or a redirecting health path takes every pod out of the ALB.
PROBE_SUCCESS_CODES = (200, 399)
ALB_SUCCESS_CODES = f"{PROBE_SUCCESS_CODES[0]}-{PROBE_SUCCESS_CODES[1]}"


@dataclass(frozen=True)
class WorkloadProps:
    component: Component
    image: str
    resources: Resources
    autoscaling: Autoscaling
    settings: dict[str, str]
    pull_secret: str
    zone_spread: str
    node_selector: dict[str, str]
    taints: tuple[Taint, ...]
    labels: dict[str, str]  # recommended labels (name, component, version) for every object
    # A fixed replica count only on a pilot-light standby (0 until failover; the autoscaler then takes over).
    idle_replicas: int | None = None


def container_skips(component: Component) -> dict[str, str]:
    reasons = {
        "CKV_K8S_15": "tags are pinned per release in the environment spec; pulling on every start would make each pod "
        "start depend on the registry being reachable",
        "CKV_K8S_43": "images are pinned by release tag in the environment spec, which the release pipeline promotes; "
        "digests are not part of the spec",
    }
    if component.secret_env:
        reasons["CKV_K8S_35"] = "the application reads its connection strings and API key from environment variables"
    return reasons


class GracefulDeployment(k8s.KubeDeployment):
    """A Deployment whose first container sleeps in a native pre-stop hook before it gets SIGTERM.

    The ALB keeps sending requests to a pod for a few seconds after it starts terminating; the pause
    lets it deregister the target first (no shell needed in the image). The typed bindings know
    Kubernetes 1.27 and drop the `sleep` action (1.29+) from their output, so it is added to the
    finished manifest.
    """

    def __init__(self, scope: Construct, construct_id: str, *, pre_stop_sleep_seconds: int | None, **props: Any):
        super().__init__(scope, construct_id, **props)
        self.pre_stop_sleep_seconds = pre_stop_sleep_seconds

    def to_json(self) -> Any:
        manifest = super().to_json()
        if self.pre_stop_sleep_seconds:
            container = manifest["spec"]["template"]["spec"]["containers"][0]
            container["lifecycle"] = {"preStop": {"sleep": {"seconds": self.pre_stop_sleep_seconds}}}
        return manifest


class Workload(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: WorkloadProps):
        super().__init__(scope, construct_id)
        component = props.component
        selector = component.selector_labels
        labels = {**props.labels, **selector}

        self.service_account = k8s.KubeServiceAccount(
            self,
            "service-account",
            metadata=k8s.ObjectMeta(name=component.service_account, labels=labels),
            # No pod of the application calls the Kubernetes API. EKS Pod Identity mounts a token of
            # its own (audience pods.eks.amazonaws.com), which does not depend on this setting.
            automount_service_account_token=False,
        )
        self.config_map = k8s.KubeConfigMap(
            self, "config", metadata=k8s.ObjectMeta(name=component.config_map, labels=labels), data=props.settings
        )
        deployment_annotations = pod.checkov_skips(container_skips(props.component))
        if props.component.secrets:
            deployment_annotations[RELOADER_SECRETS_ANNOTATION] = ",".join(props.component.secrets)
        self.deployment = GracefulDeployment(
            self,
            "deployment",
            pre_stop_sleep_seconds=PRE_STOP_SLEEP_SECONDS if component.http_port is not None else None,
            metadata=k8s.ObjectMeta(name=component.name, labels=labels, annotations=deployment_annotations),
            spec=k8s.DeploymentSpec(
                replicas=props.idle_replicas,
                selector=k8s.LabelSelector(match_labels=selector),
                revision_history_limit=5,
                progress_deadline_seconds=600,
                strategy=k8s.DeploymentStrategy(
                    type="RollingUpdate",
                    rolling_update=k8s.RollingUpdateDeployment(
                        max_surge=k8s.IntOrString.from_string("25%"), max_unavailable=k8s.IntOrString.from_number(0)
                    ),
                ),
                template=k8s.PodTemplateSpec(
                    metadata=k8s.ObjectMeta(
                        labels=labels,
                        annotations={
                            CONFIG_HASH_ANNOTATION: pod.content_hash(props.settings),
                            "kubectl.kubernetes.io/default-container": component.container_name,
                        },
                    ),
                    spec=self._pod_spec(props),
                ),
            ),
        )
        self.service = self._service(props, labels) if component.service_name else None
        self.autoscaler = self._autoscaler(props, labels)
        self.disruption_budget = k8s.KubePodDisruptionBudget(
            self,
            "disruption-budget",
            metadata=k8s.ObjectMeta(name=component.name, labels=labels),
            spec=k8s.PodDisruptionBudgetSpec(
                max_unavailable=k8s.IntOrString.from_number(DRAIN_MAX_UNAVAILABLE),
                selector=k8s.LabelSelector(match_labels=selector),
                unhealthy_pod_eviction_policy="AlwaysAllow",
            ),
        )

    @staticmethod
    def _ports(component: Component) -> list[k8s.ContainerPort]:
        ports = []
        if component.http_port is not None:
            ports.append(k8s.ContainerPort(name=HTTP_PORT_NAME, container_port=component.http_port, protocol="TCP"))
        ports.append(k8s.ContainerPort(name=METRICS_PORT_NAME, container_port=component.metrics_port, protocol="TCP"))
        return ports

    @staticmethod
    def _probes(component: Component) -> dict[str, k8s.Probe]:
        """Start-up and liveness ask only whether the process listens; readiness asks the health path.

        The kubelet restarts a container whose start-up or liveness probe fails, and only takes a pod
        out of its Services when readiness fails. The health path reports the database and Redis too,
        so it belongs to readiness alone: an outage of a dependency must not restart every replica.
        A start-up probe gives a slow start up to 150 s before liveness counts; then liveness restarts
        a hung process after 30 s and readiness takes a pod out of the Service after 15 s.
        """
        port_name = HTTP_PORT_NAME if component.http_port is not None else METRICS_PORT_NAME
        listening: dict[str, Any] = {"tcp_socket": k8s.TcpSocketAction(port=k8s.IntOrString.from_string(port_name))}
        healthy = listening
        if component.http_port is not None and component.health_path is not None:
            healthy = {"http_get": k8s.HttpGetAction(path=component.health_path, port=k8s.IntOrString.from_string(HTTP_PORT_NAME))}
        return {
            "startup_probe": k8s.Probe(**listening, period_seconds=5, timeout_seconds=3, failure_threshold=30),
            "readiness_probe": k8s.Probe(**healthy, period_seconds=5, timeout_seconds=3, failure_threshold=3),
            "liveness_probe": k8s.Probe(**listening, period_seconds=10, timeout_seconds=3, failure_threshold=3),
        }

    def _pod_spec(self, props: WorkloadProps) -> k8s.PodSpec:
        component = props.component
        container = k8s.Container(
            name=component.container_name,
            image=props.image,
            image_pull_policy="IfNotPresent",
            ports=self._ports(component),
            env_from=[k8s.EnvFromSource(config_map_ref=k8s.ConfigMapEnvSource(name=component.config_map))],
            env=pod.secret_env(props.component.secret_env) or None,
            resources=pod.resource_requirements(props.resources),
            security_context=pod.container_security_context(),
            volume_mounts=[pod.tmp_mount(), *([pod.rds_ca_mount()] if self._connects_to_database(props) else [])],
            **self._probes(component),
        )
        return k8s.PodSpec(
            service_account_name=component.service_account,
            automount_service_account_token=False,
            enable_service_links=False,
            image_pull_secrets=[k8s.LocalObjectReference(name=props.pull_secret)],
            security_context=pod.pod_security_context(),
            termination_grace_period_seconds=props.component.termination_grace_seconds,
            topology_spread_constraints=pod.topology_spread(component.selector_labels, props.zone_spread),
            node_selector=props.node_selector or None,
            tolerations=pod.tolerations(props.taints),
            priority_class_name=priority_class_for(component),
            containers=[container],
            volumes=[pod.tmp_volume(), *([pod.rds_ca_volume()] if self._connects_to_database(props) else [])],
        )

    @staticmethod
    def _connects_to_database(props: WorkloadProps) -> bool:
        """Pods that reach PostgreSQL verify its certificate against the mounted RDS roots."""
        return Egress.DATABASE in props.component.egress

    def _service(self, props: WorkloadProps, labels: dict[str, str]) -> k8s.KubeService:
        component = props.component
        return k8s.KubeService(
            self,
            "service",
            metadata=k8s.ObjectMeta(
                name=component.service_name,
                labels=labels,
                # Read by the AWS Load Balancer Controller for this Service's target group.
                annotations={
                    "alb.ingress.kubernetes.io/healthcheck-path": component.health_path,
                    "alb.ingress.kubernetes.io/success-codes": ALB_SUCCESS_CODES,
                },
            ),
            spec=k8s.ServiceSpec(
                type="ClusterIP",
                selector=component.selector_labels,
                ports=[
                    # The EKS network policy agent matches the container port: a Service port must equal it.
                    k8s.ServicePort(
                        name=HTTP_PORT_NAME,
                        port=component.http_port,
                        target_port=k8s.IntOrString.from_string(HTTP_PORT_NAME),
                        protocol="TCP",
                    ),
                    k8s.ServicePort(
                        name=METRICS_PORT_NAME,
                        port=component.metrics_port,
                        target_port=k8s.IntOrString.from_string(METRICS_PORT_NAME),
                        protocol="TCP",
                    ),
                ],
            ),
        )

    def _autoscaler(self, props: WorkloadProps, labels: dict[str, str]) -> k8s.KubeHorizontalPodAutoscalerV2:
        scaling = props.autoscaling
        targets = {"cpu": scaling.cpu_utilization, "memory": scaling.memory_utilization}
        metrics = [
            k8s.MetricSpecV2(
                type="Resource",
                resource=k8s.ResourceMetricSourceV2(
                    name=resource, target=k8s.MetricTargetV2(type="Utilization", average_utilization=utilization)
                ),
            )
            for resource, utilization in targets.items()
            if utilization is not None
        ]
        return k8s.KubeHorizontalPodAutoscalerV2(
            self,
            "autoscaler",
            metadata=k8s.ObjectMeta(name=props.component.name, labels=labels),
            spec=k8s.HorizontalPodAutoscalerSpecV2(
                scale_target_ref=k8s.CrossVersionObjectReferenceV2(api_version="apps/v1", kind="Deployment", name=props.component.name),
                min_replicas=scaling.min_replicas,
                max_replicas=scaling.max_replicas,
                metrics=metrics,
                behavior=k8s.HorizontalPodAutoscalerBehaviorV2(
                    scale_down=k8s.HpaScalingRulesV2(
                        stabilization_window_seconds=SCALE_DOWN_STABILIZATION_SECONDS,
                        policies=[k8s.HpaScalingPolicyV2(type="Pods", value=SCALE_DOWN_PODS_PER_MINUTE, period_seconds=60)],
                    )
                ),
            ),
        )
