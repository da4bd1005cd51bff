"""`workloads`: the backend, frontend and AI worker, their configuration, the migration hook and the ingress."""

from __future__ import annotations

from typing import Any

from constructs import Construct

from charts.base import EnvironmentChart
from charts.objects import checkov_skips, manifest
from charts.workload import (
    IMAGE_SKIPS,
    PodSettings,
    Workload,
    container_security_context,
    pod_security_context,
    writable_volumes,
)
from envspec import EnvironmentSpec
from envspec.naming import (
    AI_CONFIG,
    AI_WORKER,
    APP_NAMESPACE,
    BACKEND,
    FRONTEND,
    FRONTEND_CONFIG,
    HTTP_PORT_NAME,
    INGRESS,
    METRICS_PORT,
    MIGRATION_JOB,
    REGISTRY_SECRET,
)

MIGRATION_DEADLINE_SECONDS = 600
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def secret_env(variable: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": variable, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def plain_env(values: dict[str, str]) -> list[dict[str, Any]]:
    return [{"name": name, "value": value} for name, value in values.items()]


class WorkloadsChart(EnvironmentChart):
    def __init__(self, scope: Construct, spec: EnvironmentSpec):
        super().__init__(scope, "workloads", spec, namespace=APP_NAMESPACE)
        names = self.names
        database_url = secret_env("DATABASE_URL", "database-secret", "url")
        redis_url = secret_env("REDIS_URL", "redis-secret", "url")
        openai_key = secret_env("OPENAI_API_KEY", "ai-keys-secret", "openai-key")
        aws = {"AWS_REGION": spec.aws.region, "FILES_BUCKET": names.bucket("files")}
        # npm and Node write caches under HOME; the root filesystem is read-only.
        node_home = {"HOME": "/tmp", "NPM_CONFIG_CACHE": "/tmp/.npm"}

        manifest(
            self,
            "frontend_config",
            "v1",
            "ConfigMap",
            FRONTEND_CONFIG,
            APP_NAMESPACE,
            labels=FRONTEND.selector_labels,
            data={
                "NODE_ENV": "production",
                "NEXT_TELEMETRY_DISABLED": "1",
                "NEXT_PUBLIC_API_URL": f"https://{spec.dns.api_host}/api",
                "BACKEND_INTERNAL_URL": f"http://{BACKEND.service_name}.{APP_NAMESPACE}.svc.cluster.local",
                "PORT": str(FRONTEND.http_port),
                "METRICS_PORT": str(METRICS_PORT),
                **node_home,
            },
        )
        manifest(
            self,
            "ai_config",
            "v1",
            "ConfigMap",
            AI_CONFIG,
            APP_NAMESPACE,
            labels=AI_WORKER.selector_labels,
            data={"NODE_ENV": "production", "METRICS_PORT": str(METRICS_PORT), "OUTPUT_PREFIX": "generated/", **aws, **node_home},
        )
        backend_env = plain_env(
            {"NODE_ENV": "production", "PORT": str(BACKEND.http_port), "METRICS_PORT": str(METRICS_PORT), **aws, **node_home}
        )
        Workload(self, "backend", names, BACKEND, PodSettings(env=[*backend_env, database_url, redis_url, openai_key]))
        Workload(
            self,
            "frontend",
            names,
            FRONTEND,
            PodSettings(
                env_from=[{"configMapRef": {"name": FRONTEND_CONFIG}}], writable_paths={"tmp": "/tmp", "next-cache": "/app/.next/cache"}
            ),
        )
        Workload(
            self,
            "ai_worker",
            names,
            AI_WORKER,
            PodSettings(env_from=[{"configMapRef": {"name": AI_CONFIG}}], env=[database_url, redis_url, openai_key]),
        )
        self._migration_job(names.image(BACKEND), database_url, node_home)
        self._ingress(spec)

    def _migration_job(self, image: str, database_url: dict[str, Any], node_home: dict[str, str]) -> None:
        """`prisma migrate deploy` as an Argo CD PreSync hook: it runs, and must succeed, before the
        backend rolls out. No retries (backoffLimit 0) so a half-applied migration is never re-run
        blindly; a deadline so a stuck lock fails the sync instead of hanging it."""
        volumes, mounts = writable_volumes({"tmp": "/tmp"})
        labels = {"app": MIGRATION_JOB}
        manifest(
            self,
            "migration_service_account",
            "v1",
            "ServiceAccount",
            MIGRATION_JOB,
            APP_NAMESPACE,
            labels=labels,
            automountServiceAccountToken=False,
        )
        manifest(
            self,
            "migration",
            "batch/v1",
            "Job",
            MIGRATION_JOB,
            APP_NAMESPACE,
            labels=labels,
            annotations={
                "argocd.argoproj.io/hook": "PreSync",
                "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
                **checkov_skips(
                    *IMAGE_SKIPS,
                    ("CKV_K8S_35", "Prisma reads DATABASE_URL from the environment; the Secret comes from External Secrets"),
                ),
            },
            spec={
                "backoffLimit": 0,
                "activeDeadlineSeconds": MIGRATION_DEADLINE_SECONDS,
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "restartPolicy": "Never",
                        "serviceAccountName": MIGRATION_JOB,
                        "automountServiceAccountToken": False,
                        "imagePullSecrets": [{"name": REGISTRY_SECRET}],
                        "securityContext": pod_security_context(),
                        "containers": [
                            {
                                "name": "migrate",
                                "image": image,
                                "imagePullPolicy": "IfNotPresent",
                                "command": ["npx", "prisma", "migrate", "deploy"],
                                "env": [*plain_env(node_home), database_url],
                                "resources": {
                                    "requests": {"cpu": "100m", "memory": "256Mi"},
                                    "limits": {"cpu": "500m", "memory": "512Mi"},
                                },
                                "securityContext": container_security_context(),
                                "volumeMounts": mounts,
                            }
                        ],
                        "volumes": volumes,
                    },
                },
            },
        )

    def _ingress(self, spec: EnvironmentSpec) -> None:
        """One internet-facing ALB (AWS Load Balancer Controller): HTTPS with the spec's ACM certificate,
        HTTP redirected, `/api` to the backend and everything else to the frontend on both hosts."""
        attributes = ["routing.http.drop_invalid_header_fields.enabled=true"]
        if spec.is_production:
            attributes.append("deletion_protection.enabled=true")
        paths = [
            {
                "path": "/api",
                "pathType": "Prefix",
                "backend": {"service": {"name": BACKEND.service_name, "port": {"name": HTTP_PORT_NAME}}},
            },
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": FRONTEND.service_name, "port": {"name": HTTP_PORT_NAME}}}},
        ]
        manifest(
            self,
            "ingress",
            "networking.k8s.io/v1",
            "Ingress",
            INGRESS,
            APP_NAMESPACE,
            annotations={
                "alb.ingress.kubernetes.io/scheme": "internet-facing",
                "alb.ingress.kubernetes.io/target-type": "ip",
                "alb.ingress.kubernetes.io/listen-ports": '[{"HTTP": 80}, {"HTTPS": 443}]',
                "alb.ingress.kubernetes.io/ssl-redirect": "443",
                "alb.ingress.kubernetes.io/certificate-arn": spec.dns.certificate_arn,
                "alb.ingress.kubernetes.io/ssl-policy": TLS_POLICY,
                "alb.ingress.kubernetes.io/load-balancer-attributes": ",".join(attributes),
            },
            spec={
                "ingressClassName": "alb",
                "rules": [{"host": host, "http": {"paths": paths}} for host in (spec.dns.frontend_host, spec.dns.api_host)],
            },
        )
