"""The `workloads` chart: what the spec asks for, secure pods, autoscaling, the migration hook, the Ingress."""

from __future__ import annotations

from typing import Any

import pytest

from charts.application import needs_of
from charts.pod import content_hash
from envspec import names_for
from envspec.naming import AI_WORKER, APP_NAMESPACE, BACKEND, COMPONENTS, FRONTEND, MIGRATION_JOB, Component
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
    workload = names_for(SPECS[env]).workload(component)
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
    assert len(pods) == 4  # three Deployments and the migration Job
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
            for probe in (startup, readiness, liveness):
                assert probe["httpGet"] == {"path": component.health_path, "port": "http"}
    backend = _container(synthesis, env, BACKEND)
    assert backend["readinessProbe"]["httpGet"]["path"] == "/api/health"


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
    assert frontend["data"]["API_INTERNAL_URL"] == "http://ai-subsidy-backend-service.ai-subsidy.svc.cluster.local/api"
    assert frontend["data"]["PORT"] == "3000"
    (worker,) = synthesis.find(env, "ConfigMap", "ai-config")
    assert worker["data"]["AWS_REGION"] == spec.aws.region
    assert worker["data"]["FILES_BUCKET"] == names_for(spec).bucket("files")
    secret_variables = {entry.variable for component in COMPONENTS for entry in needs_of(component).secret_env}
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
    assert secrets == {"DATABASE_URL": {"name": "database-secret", "key": "url"}}
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
    }
    paths = [path["path"] for path in ingress["spec"]["rules"][0]["http"]["paths"]]
    assert paths.index("/api") < paths.index("/"), "the ALB matches rules in order: the more specific path first"
    for service in synthesis.find(env, "Service"):
        assert "http" in {port["name"] for port in service["spec"]["ports"]}
