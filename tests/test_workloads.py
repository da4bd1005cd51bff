"""The `workloads` chart: what the spec asks for, secure pods, autoscaling, the migration hook, the Ingress."""

from __future__ import annotations

import math
from typing import Any

import pytest

from charts.pod import content_hash
from envspec import names_for, topology
from envspec.naming import APP_NAMESPACE, MIGRATION_JOB
from envspec.topology import AI_WORKER, BACKEND, COMPONENTS, FRONTEND, Component
from tests import kube
from tests.conftest import ENVIRONMENTS, SPECS, Synthesis


def _deployment(synthesis: Synthesis, env: str, component: Component) -> dict[str, Any]:
    (deployment,) = synthesis.find(env, "Deployment", component.name)
    return deployment


def _container(synthesis: Synthesis, env: str, component: Component) -> dict[str, Any]:
    (container,) = _deployment(synthesis, env, component)["spec"]["template"]["spec"]["containers"]
    return container


def test_the_backend_matches_the_issue_in_production(synthesis: Synthesis) -> None:
    container = _container(synthesis, "production", BACKEND)
    assert container["image"] == "ghcr.io/ai-subsidy/backend:v1.4.0"
    assert {port["name"]: port["containerPort"] for port in container["ports"]} == {"http": 3001, "metrics": 9464}
    env = {item["name"]: item["valueFrom"]["secretKeyRef"] for item in container["env"]}
    assert env == {
        "DATABASE_URL": {"name": "database-secret", "key": "url"},
        "REDIS_URL": {"name": "redis-secret", "key": "url"},
        "OPENAI_API_KEY": {"name": "ai-keys-secret", "key": "openai-key"},
    }
    assert container["resources"] == {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}
    (hpa,) = synthesis.find("production", "HorizontalPodAutoscaler", BACKEND.name)
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10)
    targets = {metric["resource"]["name"]: metric["resource"]["target"]["averageUtilization"] for metric in hpa["spec"]["metrics"]}
    assert targets == {"cpu": 70, "memory": 80}


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.name)
def test_images_resources_and_autoscaling_come_from_the_spec(env: str, component: Component, synthesis: Synthesis) -> None:
    workload = topology.workload(SPECS[env], component)
    container = _container(synthesis, env, component)
    assert container["image"] == f"{workload.image.repository}:{workload.image.tag}"
    assert not container["image"].endswith(":latest")
    resources = workload.resources
    assert container["resources"]["requests"] == {"cpu": resources.cpu_request, "memory": resources.memory_request}
    assert container["resources"]["limits"] == {"cpu": resources.cpu_limit, "memory": resources.memory_limit}
    deployment = _deployment(synthesis, env, component)
    assert "replicas" not in deployment["spec"], "a fixed replica count fights the autoscaler on every sync"
    (hpa,) = synthesis.find(env, "HorizontalPodAutoscaler", component.name)
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": component.name}
    scaling = workload.autoscaling
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (scaling.min_replicas, scaling.max_replicas)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_pod_meets_the_restricted_pod_security_standard(env: str, synthesis: Synthesis) -> None:
    pods = [doc for doc in kube.workloads(synthesis.manifests(env)) if doc["metadata"]["namespace"] == APP_NAMESPACE]
    assert len(pods) == 5  # three Deployments, the migration Job and the database role bootstrap Job
    for doc in pods:
        spec = kube.pod_spec(doc)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["imagePullSecrets"] == [{"name": "registry-secret"}]
        assert spec["enableServiceLinks"] is False
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        for container in kube.containers(spec):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["readOnlyRootFilesystem"] is True
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert context["runAsUser"] >= 10000
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}
            (mount,) = [mount for mount in container["volumeMounts"] if mount["mountPath"] == "/tmp"]
            assert "sizeLimit" in volumes[mount["name"]]["emptyDir"]
        assert all(set(volume) <= {"name", "emptyDir", "configMap", "secret", "projected"} for volume in spec["volumes"])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_namespace_enforces_the_restricted_standard(env: str, synthesis: Synthesis) -> None:
    (namespace,) = synthesis.find(env, "Namespace", APP_NAMESPACE)
    labels = namespace["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/enforce-version"] == f"v{SPECS[env].cluster.version}"
    assert labels["elbv2.k8s.aws/pod-readiness-gate-inject"] == "enabled"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_probes_give_a_slow_start_time_before_liveness_counts(env: str, synthesis: Synthesis) -> None:
    for component in COMPONENTS:
        container = _container(synthesis, env, component)
        startup, readiness, liveness = (container[kind] for kind in ("startupProbe", "readinessProbe", "livenessProbe"))
        assert startup["periodSeconds"] * startup["failureThreshold"] >= 120, component.name
        assert liveness["failureThreshold"] * liveness["periodSeconds"] >= 30
        if component.health_path:
            assert readiness["httpGet"] == {"path": component.health_path, "port": "http"}
    backend = _container(synthesis, env, BACKEND)
    assert backend["readinessProbe"]["httpGet"]["path"] == "/api/health"


def _probe_passes(probe: dict[str, Any], *, listening: bool, dependencies_up: bool) -> bool:
    """What the kubelet's prober gets: a TCP connect succeeds when the process listens; the health
    path answers 200 only when the process listens and its database and Redis answer too."""
    if "tcpSocket" in probe:
        return listening
    if "httpGet" in probe:
        return listening and dependencies_up
    raise AssertionError(f"unmodelled probe {probe}")


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.name)
def test_a_dependency_outage_never_restarts_pods(env: str, component: Component, synthesis: Synthesis) -> None:
    """The kubelet restarts a container whose startup or liveness probe fails and only marks it
    unready when readiness fails ("Configure Liveness, Readiness and Startup Probes",
    kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/).
    The backend's only documented health path, /api/health, reports the database and Redis, so it
    may decide readiness alone: with RDS failing over, every replica restarting would turn a
    30-second outage into a crash loop."""
    container = _container(synthesis, env, component)
    restarting = [container["startupProbe"], container["livenessProbe"]]
    for probe in restarting:
        assert _probe_passes(probe, listening=True, dependencies_up=False), f"{component.name} restarts when a dependency is down"
        assert not _probe_passes(probe, listening=False, dependencies_up=True), "a process that stopped listening is restarted"
    if component.health_path:
        assert not _probe_passes(container["readinessProbe"], listening=True, dependencies_up=False), "readiness checks dependencies"
    for probe in (*restarting, container["readinessProbe"]):
        action = probe.get("tcpSocket") or probe["httpGet"]
        assert action["port"] in {port["name"] for port in container["ports"]}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_service_port_equals_its_container_port(env: str, synthesis: Synthesis) -> None:
    """ "For any Kubernetes Service, the Service port must be the same as the container port. If
    you're using named ports, use the same name in the Service spec too." (EKS user guide,
    "Restrict Pod network traffic with Kubernetes network policies", Considerations): the VPC CNI's
    network policy agent matches the port the client connects to against the policies."""
    deployments = {doc["metadata"]["name"]: doc for doc in synthesis.find(env, "Deployment")}
    services = [doc for doc in synthesis.find(env, "Service") if doc["metadata"]["namespace"] == APP_NAMESPACE]
    assert services
    for service in services:
        (pod,) = [doc for doc in deployments.values() if kube.matches({"matchLabels": service["spec"]["selector"]}, kube.pod_labels(doc))]
        ports = {port["name"]: port["containerPort"] for container in kube.containers(kube.pod_spec(pod)) for port in container["ports"]}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] == port["name"], service["metadata"]["name"]
            assert port["port"] == ports[port["targetPort"]], f"{service['metadata']['name']} port {port['name']}"
    frontend_url = synthesis.find(env, "ConfigMap", FRONTEND.config_map)[0]["data"]["API_INTERNAL_URL"]
    assert frontend_url == f"http://{BACKEND.service_name}.{APP_NAMESPACE}.svc.cluster.local:{BACKEND.http_port}/api"


# Kubernetes' default HPA behaviour ("Horizontal Pod Autoscaling", section "Default Behavior",
# kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/): scale down after a 300 s
# stabilization window, by up to 100 % every 15 s; scale up at once by 100 % or 4 pods every 15 s.
DEFAULT_BEHAVIOR = {
    "scaleDown": {
        "stabilizationWindowSeconds": 300,
        "selectPolicy": "Max",
        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
    },
    "scaleUp": {
        "stabilizationWindowSeconds": 0,
        "selectPolicy": "Max",
        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}, {"type": "Pods", "value": 4, "periodSeconds": 15}],
    },
}
SYNC_PERIOD = 15  # the controller manager's --horizontal-pod-autoscaler-sync-period default


def _scale_down_limit(rules: dict[str, Any], replicas: int, events: list[tuple[int, int]], now: int) -> int:
    """Lowest count the policies allow now (kube-controller-manager, podautoscaler/horizontal.go,
    calculateScaleDownLimitWithBehaviors): each policy counts from the replicas at its period's start."""
    limits = []
    for policy in rules["policies"]:
        removed = sum(-change for at, change in events if now - at < policy["periodSeconds"] and change < 0)
        start = replicas + removed
        if policy["type"] == "Pods":
            limits.append(start - policy["value"])
        else:
            limits.append(math.ceil(start * (1 - policy["value"] / 100)))
    return min(limits) if rules.get("selectPolicy", "Max") == "Max" else max(limits)


def _simulate_scale_down(spec: dict[str, Any], wanted: list[int]) -> list[int]:
    """Replica count at every sync for a metric whose raw recommendation is `wanted[i]` at sync i.

    Scale-down only (`wanted` never exceeds the start): the stabilized recommendation is the highest
    raw one of the window (stabilizeRecommendationWithBehaviors), then the policies cap the step.
    """
    behavior = {**DEFAULT_BEHAVIOR, **spec.get("behavior", {})}
    rules = {**DEFAULT_BEHAVIOR["scaleDown"], **behavior["scaleDown"]}
    # The burst ran at maxReplicas until just before the first sync.
    replicas, history, events, counts = spec["maxReplicas"], [(-SYNC_PERIOD, spec["maxReplicas"])], [], []
    for tick, raw in enumerate(wanted):
        now = tick * SYNC_PERIOD
        history.append((now, max(raw, spec["minReplicas"])))
        stabilized = max(value for at, value in history if now - at <= rules["stabilizationWindowSeconds"])
        target = max(stabilized, _scale_down_limit(rules, replicas, events, now)) if stabilized < replicas else replicas
        if target != replicas:
            events.append((now, target - replicas))
            replicas = target
        counts.append(replicas)
    return counts


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.name)
def test_autoscalers_scale_down_slowly_and_do_not_flap(env: str, component: Component, synthesis: Synthesis) -> None:
    """After a burst the load falls to nothing: no pod goes for five minutes, then one a minute at
    most. A load that comes back every four minutes never scales the Deployment down at all."""
    (hpa,) = synthesis.find(env, "HorizontalPodAutoscaler", component.name)
    spec = hpa["spec"]
    assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 300
    if spec["maxReplicas"] == spec["minReplicas"]:
        return
    quiet = _simulate_scale_down(spec, [spec["minReplicas"]] * 80)
    window = 300 // SYNC_PERIOD
    assert set(quiet[:window]) == {spec["maxReplicas"]}, "nothing goes within the stabilization window"
    per_minute = 60 // SYNC_PERIOD
    for tick in range(per_minute, len(quiet)):
        assert quiet[tick - per_minute] - quiet[tick] <= 1, f"{component.name} dropped more than one pod within a minute"
    assert quiet[-1] < spec["maxReplicas"]
    flapping = [spec["maxReplicas"] if (tick // 8) % 2 == 0 else spec["minReplicas"] for tick in range(80)]
    assert set(_simulate_scale_down(spec, flapping)) == {spec["maxReplicas"]}


def test_the_scale_down_model_reproduces_kubernetes_defaults() -> None:
    """Without `behavior`, Kubernetes removes every surplus pod in one step once the window passed."""
    counts = _simulate_scale_down({"minReplicas": 2, "maxReplicas": 10}, [2] * 30)
    assert counts[19] == 10 and counts[20] == 2


def test_production_workloads_keep_a_pod_through_a_node_drain(synthesis: Synthesis) -> None:
    """A drain evicts through the PodDisruptionBudget (maxUnavailable 1): with one replica the
    Eviction API lets the only pod go ("Specifying a Disruption Budget for your Application",
    kubernetes.io/docs/tasks/run-application/configure-pdb/)."""
    for component in COMPONENTS:
        (hpa,) = synthesis.find("production", "HorizontalPodAutoscaler", component.name)
        (budget,) = synthesis.find("production", "PodDisruptionBudget", component.name)
        assert hpa["spec"]["minReplicas"] - budget["spec"]["maxUnavailable"] >= 1, component.name
    assert SPECS["production"].workloads.serve_through_drains


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_pods_spread_over_zones_and_have_a_disruption_budget(env: str, synthesis: Synthesis) -> None:
    hard = SPECS[env].workloads.zone_spread == "required"
    assert hard is (env == "production")
    for component in COMPONENTS:
        spec = _deployment(synthesis, env, component)["spec"]["template"]["spec"]
        (zone,) = [c for c in spec["topologySpreadConstraints"] if c["topologyKey"] == "topology.kubernetes.io/zone"]
        assert zone["labelSelector"]["matchLabels"] == component.selector_labels
        assert zone["whenUnsatisfiable"] == ("DoNotSchedule" if hard else "ScheduleAnyway")
        assert zone["nodeTaintsPolicy"] == "Honor"
        (budget,) = synthesis.find(env, "PodDisruptionBudget", component.name)
        assert budget["spec"]["selector"]["matchLabels"] == component.selector_labels
        assert budget["spec"]["maxUnavailable"] == 1  # drains never block, even with one replica


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_public_pods_sleep_before_stopping_so_the_alb_deregisters_them_first(env: str, synthesis: Synthesis) -> None:
    for component in (BACKEND, FRONTEND):
        container = _container(synthesis, env, component)
        sleep = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        grace = _deployment(synthesis, env, component)["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert 0 < sleep < grace
    assert "lifecycle" not in _container(synthesis, env, AI_WORKER)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_config_changes_roll_the_pods_and_secret_changes_are_watched(env: str, synthesis: Synthesis) -> None:
    for component in COMPONENTS:
        deployment = _deployment(synthesis, env, component)
        (config_map,) = synthesis.find(env, "ConfigMap", component.config_map)
        template = deployment["spec"]["template"]
        assert template["metadata"]["annotations"]["ai-subsidy.io/config-sha256"] == content_hash(config_map["data"])
        assert template["spec"]["containers"][0]["envFrom"] == [{"configMapRef": {"name": component.config_map}}]
        env_secrets = {
            item["valueFrom"]["secretKeyRef"]["name"] for item in template["spec"]["containers"][0].get("env", []) if "valueFrom" in item
        }
        watched = deployment["metadata"].get("annotations", {}).get("secret.reloader.stakater.com/reload", "")
        assert set(filter(None, watched.split(","))) == env_secrets
    assert content_hash({"A": "1"}) != content_hash({"A": "2"})


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_config_maps_hold_derived_settings_and_no_secret(env: str, synthesis: Synthesis) -> None:
    spec = SPECS[env]
    (frontend,) = synthesis.find(env, "ConfigMap", "frontend-config")
    assert frontend["data"]["API_INTERNAL_URL"] == "http://ai-subsidy-backend-service.ai-subsidy.svc.cluster.local:3001/api"
    assert frontend["data"]["PORT"] == "3000"
    (worker,) = synthesis.find(env, "ConfigMap", "ai-config")
    assert worker["data"]["AWS_REGION"] == spec.aws.region
    assert worker["data"]["FILES_BUCKET"] == names_for(spec).bucket("files")
    secret_variables = {entry.variable for component in COMPONENTS for entry in component.secret_env}
    for config_map in synthesis.find(env, "ConfigMap"):
        assert not secret_variables & set(config_map["data"]), config_map["metadata"]["name"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_migration_runs_once_before_the_backend_rolls_out(env: str, synthesis: Synthesis) -> None:
    (job,) = synthesis.find(env, "Job", MIGRATION_JOB)
    annotations = job["metadata"]["annotations"]
    assert annotations["argocd.argoproj.io/hook"] == "PreSync"
    assert annotations["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation"
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["activeDeadlineSeconds"] == SPECS[env].workloads.migration_deadline_seconds
    spec = job["spec"]["template"]["spec"]
    assert spec["restartPolicy"] == "Never"
    (container,) = spec["containers"]
    assert container["command"] == ["npx", "prisma", "migrate", "deploy"]
    assert container["image"] == _container(synthesis, env, BACKEND)["image"]
    secrets = {item["name"]: item["valueFrom"]["secretKeyRef"] for item in container["env"] if "valueFrom" in item}
    assert secrets == {"DATABASE_URL": {"name": "database-migration-secret", "key": "url"}}, "the migration role, not the app's"
    # The roles it logs in with are created by the bootstrap hook, an earlier wave of the same phase.
    (bootstrap,) = synthesis.find(env, "Job", "ai-subsidy-database-bootstrap")
    assert bootstrap["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PreSync"
    assert int(bootstrap["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) < int(
        annotations.get("argocd.argoproj.io/sync-wave", "0")
    )
    (scripts,) = synthesis.find(env, "ConfigMap", "ai-subsidy-database-bootstrap")
    assert int(scripts["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) < int(
        bootstrap["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
    )
    # Its ServiceAccount must exist before the Job on the very first sync: an earlier PreSync wave.
    (account,) = synthesis.find(env, "ServiceAccount", spec["serviceAccountName"])
    assert account["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PreSync"
    assert int(account["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) < int(
        annotations.get("argocd.argoproj.io/sync-wave", "0")
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_ingress_serves_https_on_the_spec_hosts(env: str, synthesis: Synthesis) -> None:
    spec = SPECS[env]
    (ingress,) = synthesis.find(env, "Ingress")
    annotations = ingress["metadata"]["annotations"]
    prefix = "alb.ingress.kubernetes.io/"
    assert ingress["spec"]["ingressClassName"] == "alb"
    assert annotations[prefix + "scheme"] == "internet-facing"
    assert annotations[prefix + "target-type"] == "ip"
    # No ARN: the controller discovers the edge stack's certificate by the rules' hosts (tests/test_edge_stack.py).
    assert prefix + "certificate-arn" not in annotations
    assert annotations[prefix + "listen-ports"] == '[{"HTTP":80},{"HTTPS":443}]'
    assert annotations[prefix + "ssl-redirect"] == "443"
    assert annotations[prefix + "ssl-policy"].startswith("ELBSecurityPolicy-TLS13-1-2")
    assert ("deletion_protection.enabled=true" in annotations[prefix + "load-balancer-attributes"]) is spec.is_production
    routes = {
        (rule["host"], path["path"]): (path["backend"]["service"]["name"], path["backend"]["service"]["port"]["name"])
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert routes == {
        (spec.dns.frontend_host, "/"): (FRONTEND.service_name, "http"),
        (spec.dns.frontend_host, "/api"): (BACKEND.service_name, "http"),
        (spec.dns.api_host, "/api"): (BACKEND.service_name, "http"),
        # With a standby, the origin host the Route 53 health check requests (stacks/edge/failover.py).
        **({(names_for(spec).origin_host, "/api"): (BACKEND.service_name, "http")} if spec.dr.has_standby else {}),
    }
    paths = [path["path"] for path in ingress["spec"]["rules"][0]["http"]["paths"]]
    assert paths.index("/api") < paths.index("/"), "the ALB matches rules in order: the more specific path first"
    for service in synthesis.find(env, "Service"):
        assert "http" in {port["name"] for port in service["spec"]["ports"]}


# Kubernetes docs, "Configure Liveness, Readiness and Startup Probes" (HTTP probes): "Any code greater
# than or equal to 200 and less than 400 indicates success."
KUBELET_HTTP_SUCCESS = set(range(200, 400))
ALB_DEFAULT_SUCCESS_CODES = "200"


def alb_success_codes(annotation: str) -> set[int]:
    """kubernetes-sigs/aws-load-balancer-controller v3.4.2 docs/guide/ingress/annotations.md, `success-codes`
    (default '200'): single values `200`, lists `200,201`, ranges `200-300`."""
    codes: set[int] = set()
    for part in annotation.split(","):
        low, _, high = part.strip().partition("-")
        codes |= set(range(int(low), int(high or low) + 1))
    return codes


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_alb_health_check_accepts_what_the_readiness_probe_accepts(env: str, synthesis: Synthesis) -> None:
    """The namespace injects pod readiness gates (`elbv2.k8s.aws/pod-readiness-gate-inject`): a pod is
    Ready only when the ALB's health check passes too. For every Service behind the Ingress, the ALB
    checks the readiness probe's path (Service annotations override the Ingress's, annotations.md:
    `healthcheck-path`, `success-codes` on Ingress,Service) and accepts exactly the kubelet's codes."""
    prefix = "alb.ingress.kubernetes.io"
    (ingress,) = synthesis.find(env, "Ingress")
    for annotation in ("healthcheck-path", "success-codes"):
        assert f"{prefix}/{annotation}" not in ingress["metadata"].get("annotations", {}), "set per Service, beside its probe"
    backends = {p["backend"]["service"]["name"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]}
    assert backends
    for name in sorted(backends):
        (service,) = synthesis.find(env, "Service", name)
        annotations = service["metadata"].get("annotations", {})
        deployment = next(
            d
            for d in synthesis.find(env, "Deployment")
            if service["spec"]["selector"].items() <= d["spec"]["template"]["metadata"]["labels"].items()
        )
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        probe = container["readinessProbe"]["httpGet"]
        assert annotations[f"{prefix}/healthcheck-path"] == probe["path"], name
        codes = alb_success_codes(annotations.get(f"{prefix}/success-codes", ALB_DEFAULT_SUCCESS_CODES))
        assert codes == KUBELET_HTTP_SUCCESS, f"{name}: the ALB accepts {sorted(codes)[:3]}..., the kubelet 200-399"
