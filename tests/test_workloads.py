"""The Kubernetes layer per environment: workloads, autoscaling, network policies, secrets wiring."""

from __future__ import annotations

from typing import Any

import pytest

from envspec.layout import layout_for
from envspec.naming import AI_WORKER, BACKEND, COMPONENTS, FRONTEND
from tests.conftest import ENVIRONMENTS, SPECS, Synthesis


def _one(synthesis: Synthesis, env: str, kind: str, name: str) -> dict[str, Any]:
    (doc,) = synthesis.find(env, kind, name)
    return doc


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_namespace_enforces_the_restricted_pod_security_standard(env: str, synthesis: Synthesis) -> None:
    labels = _one(synthesis, env, "Namespace", "ai-subsidy")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_backend_deployment(env: str, synthesis: Synthesis) -> None:
    spec = SPECS[env]
    container = _container(_one(synthesis, env, "Deployment", "ai-subsidy-backend"))
    assert container["image"] == f"ghcr.io/ai-subsidy/backend:{spec.workloads.backend.image.tag}"
    assert {"name": "http", "containerPort": 3001, "protocol": "TCP"} in container["ports"]
    secret_env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    assert secret_env == {
        "DATABASE_URL": {"name": "database-secret", "key": "url"},
        "REDIS_URL": {"name": "redis-secret", "key": "url"},
        "OPENAI_API_KEY": {"name": "ai-keys-secret", "key": "openai-key"},
    }
    assert container["resources"] == {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"] == {"path": "/api/health", "port": 3001}
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 120, "a slow start must not be killed by liveness"
    service = _one(synthesis, env, "Service", "ai-subsidy-backend-service")
    assert service["spec"]["type"] == "ClusterIP"
    ports = {port["name"]: port for port in service["spec"]["ports"]}
    assert (ports["http"]["port"], ports["http"]["targetPort"]) == (80, 3001)
    assert ports["metrics"]["targetPort"] == 9464


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_frontend_and_worker(env: str, synthesis: Synthesis) -> None:
    spec = SPECS[env]
    frontend = _container(_one(synthesis, env, "Deployment", "ai-subsidy-frontend"))
    assert frontend["image"] == f"ghcr.io/ai-subsidy/frontend:{spec.workloads.frontend.image.tag}"
    assert {"name": "http", "containerPort": 3000, "protocol": "TCP"} in frontend["ports"]
    assert frontend["envFrom"] == [{"configMapRef": {"name": "frontend-config"}}]
    assert _one(synthesis, env, "ConfigMap", "frontend-config")["data"]["NEXT_PUBLIC_API_URL"] == f"https://{spec.dns.api_host}/api"
    worker = _container(_one(synthesis, env, "Deployment", "ai-worker"))
    assert worker["image"] == f"ghcr.io/ai-subsidy/ai-engine:{spec.workloads.ai_worker.image.tag}"
    assert worker["envFrom"] == [{"configMapRef": {"name": "ai-config"}}]
    assert _one(synthesis, env, "ConfigMap", "ai-config")
    assert [port["name"] for port in worker["ports"]] == ["metrics"]
    assert not synthesis.find(env, "Service", "ai-worker"), "the worker is scraped by a PodMonitor, it serves nothing else"


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("component", COMPONENTS, ids=lambda component: component.name)
def test_autoscaled_hardened_and_spread(env: str, component, synthesis: Synthesis) -> None:
    wanted = getattr(SPECS[env].workloads, component.key)
    deployment = _one(synthesis, env, "Deployment", component.name)
    assert "replicas" not in deployment["spec"], "the HPA owns the replica count"
    hpa = _one(synthesis, env, "HorizontalPodAutoscaler", component.name)
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": component.name}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (wanted.autoscaling.min_replicas, wanted.autoscaling.max_replicas)
    targets = {m["resource"]["name"]: m["resource"]["target"]["averageUtilization"] for m in hpa["spec"]["metrics"]}
    assert targets == {"cpu": wanted.autoscaling.cpu_utilization, "memory": wanted.autoscaling.memory_utilization}
    assert _one(synthesis, env, "PodDisruptionBudget", component.name)["spec"]["selector"] == {"matchLabels": {"app": component.name}}

    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == component.service_account
    assert pod["automountServiceAccountToken"] is component.needs_aws
    assert _one(synthesis, env, "ServiceAccount", component.service_account)["automountServiceAccountToken"] is component.needs_aws
    assert pod["imagePullSecrets"] == [{"name": "registry-secret"}]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "topology.kubernetes.io/zone" in [constraint["topologyKey"] for constraint in pod["topologySpreadConstraints"]]
    container = _container(deployment)
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert "/tmp" in [mount["mountPath"] for mount in container["volumeMounts"]]
    assert {volume["name"]: volume for volume in pod["volumes"]}["tmp"]["emptyDir"]
    assert not container["image"].endswith(":latest") and ":" in container["image"]


def test_production_backend_scales_between_2_and_10(synthesis: Synthesis) -> None:
    hpa = _one(synthesis, "production", "HorizontalPodAutoscaler", "ai-subsidy-backend")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 10)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_migration_runs_before_the_backend_rolls_out(env: str, synthesis: Synthesis) -> None:
    job = _one(synthesis, env, "Job", "ai-subsidy-backend-migrate")
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PreSync"
    assert job["spec"]["backoffLimit"] == 0 and job["spec"]["activeDeadlineSeconds"] > 0
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["npx", "prisma", "migrate", "deploy"]
    assert container["image"] == _container(_one(synthesis, env, "Deployment", "ai-subsidy-backend"))["image"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_ingress_through_the_alb(env: str, synthesis: Synthesis) -> None:
    spec = SPECS[env]
    ingress = _one(synthesis, env, "Ingress", "ai-subsidy")
    annotations = ingress["metadata"]["annotations"]
    assert ingress["spec"]["ingressClassName"] == "alb"
    assert annotations["alb.ingress.kubernetes.io/certificate-arn"] == spec.dns.certificate_arn
    assert annotations["alb.ingress.kubernetes.io/ssl-redirect"] == "443"
    assert {rule["host"] for rule in ingress["spec"]["rules"]} == {spec.dns.frontend_host, spec.dns.api_host}
    for rule in ingress["spec"]["rules"]:
        routes = {path["path"]: path["backend"]["service"]["name"] for path in rule["http"]["paths"]}
        assert routes == {"/": "ai-subsidy-frontend-service", "/api": "ai-subsidy-backend-service"}


def _policy(synthesis: Synthesis, env: str, name: str) -> dict[str, Any]:
    return _one(synthesis, env, "NetworkPolicy", name)["spec"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_default_deny(env: str, synthesis: Synthesis) -> None:
    policy = _policy(synthesis, env, "default-deny")
    assert policy == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_backend_network_policy(env: str, synthesis: Synthesis) -> None:
    layout = layout_for(SPECS[env])
    policy = _policy(synthesis, env, "ai-subsidy-backend")
    assert policy["podSelector"] == {"matchLabels": BACKEND.selector_labels}
    app_rule, metrics_rule = policy["ingress"]
    assert app_rule["ports"] == [{"protocol": "TCP", "port": 3001}]
    assert {"podSelector": {"matchLabels": FRONTEND.selector_labels}} in app_rule["from"]
    assert {peer["ipBlock"]["cidr"] for peer in app_rule["from"] if "ipBlock" in peer} == {str(cidr) for cidr in layout.public}
    assert metrics_rule["from"][0]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    egress_ports = sorted((port["protocol"], port["port"]) for rule in policy["egress"] for port in rule["ports"])
    assert egress_ports == [("TCP", 53), ("TCP", 80), ("TCP", 443), ("TCP", 5432), ("TCP", 6379), ("UDP", 53)]
    dns = next(rule for rule in policy["egress"] if {"protocol": "UDP", "port": 53} in rule["ports"])
    assert dns["to"][0]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}
    database = next(rule for rule in policy["egress"] if {"protocol": "TCP", "port": 5432} in rule["ports"])
    assert {peer["ipBlock"]["cidr"] for peer in database["to"]} == {str(cidr) for cidr in layout.isolated}
    identity = next(rule for rule in policy["egress"] if {"protocol": "TCP", "port": 80} in rule["ports"])
    assert identity["to"] == [{"ipBlock": {"cidr": "169.254.170.23/32"}}], "port 80 only to the Pod Identity agent"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_frontend_and_worker_network_policies(env: str, synthesis: Synthesis) -> None:
    frontend = _policy(synthesis, env, "ai-subsidy-frontend")
    assert {(p["protocol"], p["port"]) for rule in frontend["egress"] for p in rule["ports"]} == {
        ("UDP", 53),
        ("TCP", 53),
        ("TCP", 3001),
        ("TCP", 443),
    }
    worker = _policy(synthesis, env, AI_WORKER.name)
    assert [port["port"] for rule in worker["ingress"] for port in rule["ports"]] == [9464]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_secrets_wiring(env: str, synthesis: Synthesis) -> None:
    store = _one(synthesis, env, "ClusterSecretStore", "aws-secrets-manager")
    assert store["spec"]["provider"]["aws"] == {"region": SPECS[env].aws.region, "service": "SecretsManager"}
    assert "auth" not in store["spec"]["provider"]["aws"], "the controller's Pod Identity, no static credentials"
    externals = {
        doc["spec"]["target"]["name"]: doc for doc in synthesis.find(env, "ExternalSecret") if doc["metadata"]["namespace"] == "ai-subsidy"
    }
    assert set(externals) == {"database-secret", "redis-secret", "ai-keys-secret", "registry-secret"}
    assert externals["registry-secret"]["spec"]["target"]["template"]["type"] == "kubernetes.io/dockerconfigjson"
    assert all(doc["spec"]["refreshInterval"] for doc in externals.values())
    assert "url" in externals["database-secret"]["spec"]["target"]["template"]["data"]
