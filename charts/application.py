"""What each application component needs: its Secrets, its settings and its network paths.

One table read by the workloads chart (environment variables, ConfigMaps) and the network-policies
chart (what a pod may reach), so a component cannot be given a database URL without also being
allowed to reach the database, or the other way round.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from charts.pod import SecretEnv
from envspec.naming import AI_WORKER, BACKEND, FRONTEND, METRICS_PORT, Component, Names


class Egress(enum.Enum):
    """Destinations outside the pod's own namespace rules (DNS is allowed for every pod)."""

    DATABASE = "PostgreSQL in the isolated subnets"
    CACHE = "Redis in the isolated subnets"
    HTTPS = "HTTPS to AWS APIs (the interface VPC endpoints) and the internet (OpenAI, S3 through its gateway endpoint)"
    AWS_CREDENTIALS = "the EKS Pod Identity agent on the node"
    BACKEND = "the backend's http port"


DATABASE_URL = SecretEnv("DATABASE_URL", "database-secret", "url")
# The migration Job's Prisma reads the same variable, with the migration role's login.
MIGRATION_DATABASE_URL = SecretEnv("DATABASE_URL", "database-migration-secret", "url")
REDIS_URL = SecretEnv("REDIS_URL", "redis-secret", "url")
OPENAI_API_KEY = SecretEnv("OPENAI_API_KEY", "ai-keys-secret", "openai-key")
REGISTRY_SECRET = "registry-secret"


@dataclass(frozen=True)
class ComponentNeeds:
    component: Component
    secret_env: tuple[SecretEnv, ...]
    egress: frozenset[Egress]
    public: bool  # reached through the ALB
    termination_grace_seconds: int

    @property
    def secrets(self) -> tuple[str, ...]:
        """Secrets the pods read (sorted, unique); a change to any of them restarts the pods."""
        return tuple(sorted({entry.secret for entry in self.secret_env}))


NEEDS = {
    BACKEND.key: ComponentNeeds(
        BACKEND,
        (DATABASE_URL, REDIS_URL, OPENAI_API_KEY),
        frozenset({Egress.DATABASE, Egress.CACHE, Egress.HTTPS, Egress.AWS_CREDENTIALS}),
        public=True,
        termination_grace_seconds=45,
    ),
    FRONTEND.key: ComponentNeeds(FRONTEND, (), frozenset({Egress.BACKEND}), public=True, termination_grace_seconds=45),
    # Takes jobs from Redis, calls OpenAI, reads and writes files in S3 and results in PostgreSQL;
    # a job in flight gets two minutes to finish when the pod is stopped.
    AI_WORKER.key: ComponentNeeds(
        AI_WORKER,
        (DATABASE_URL, REDIS_URL, OPENAI_API_KEY),
        frozenset({Egress.DATABASE, Egress.CACHE, Egress.HTTPS, Egress.AWS_CREDENTIALS}),
        public=False,
        termination_grace_seconds=120,
    ),
}


def needs_of(component: Component) -> ComponentNeeds:
    return NEEDS[component.key]


def settings_for(component: Component, names: Names) -> dict[str, str]:
    """Non-secret environment of a component (its ConfigMap): derived values, then the spec's `settings`."""
    spec = names.spec
    settings = {"APP_ENV": spec.name, "METRICS_PORT": str(METRICS_PORT)}
    if component.http_port is not None:
        settings |= {"NODE_ENV": "production", "PORT": str(component.http_port), "PUBLIC_URL": f"https://{spec.dns.frontend_host}"}
    if component.needs_aws:
        settings |= {"AWS_REGION": spec.aws.region, "FILES_BUCKET": names.files_bucket}
    if component == FRONTEND:
        # Next.js standalone binds to $HOSTNAME; server-side calls go to the backend inside the cluster.
        settings |= {"HOSTNAME": "0.0.0.0", "API_INTERNAL_URL": f"{names.app_service_url(BACKEND)}/api"}  # noqa: S104
    settings |= names.workload(component).settings
    return dict(sorted(settings.items()))
