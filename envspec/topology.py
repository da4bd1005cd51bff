"""The application's topology: what each component is and what it needs, in one table.

Each component states its names and ports, the Secrets it reads (as environment variables), the
files-bucket access it has, whether it calls AWS, whether the public load balancer reaches it, and
where else it connects. Everything that grants or wires those needs is derived from this table:

- environment variables and the Secrets a Deployment waits for (charts/workloads.py),
- network policies (charts/network_policies.py): a component that reads a data store's Secret may
  reach that store, and nothing reaches a store no component reads,
- the Pod Identity roles (stacks/data/identities.py): files-bucket access, and the secrets it may read
  from Secrets Manager itself: exactly its own Secrets, less the rotating database logins, which reach
  pods only through External Secrets,
- the data stores' security groups (stacks/data/network_access.py): their port, admitted from the
  cluster's pods.

So a component cannot be given a database URL without being allowed to reach the database, and a
role cannot read a secret its component does not use. Names people type stay in `envspec.naming`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from envspec.models import EnvironmentSpec, Workload
from envspec.naming import METRICS_PORT, POSTGRES_PORT, REDIS_PORT


class DataStore(enum.Enum):
    """A data store the components connect to, with its port (security groups, NACLs, policies)."""

    DATABASE = ("database", POSTGRES_PORT, "PostgreSQL in the isolated subnets")
    CACHE = ("cache", REDIS_PORT, "Redis in the isolated subnets")

    def __init__(self, purpose: str, port: int, description: str):
        self.purpose = purpose  # the security group's name suffix
        self.port = port
        self.description = description


@dataclass(frozen=True)
class ApplicationSecret:
    """A Secret in the application namespace, copied by External Secrets from one Secrets Manager secret."""

    kubernetes_name: str
    purpose: str  # Secrets Manager name `ai-subsidy/<env>/app/<purpose>` (Names.secret_name)
    # Keys of the Kubernetes Secret, each a JSON property of the remote secret; except the database
    # secrets' `url`, rendered from the login's connection properties (charts/secrets.py).
    keys: tuple[str, ...]
    type: str = "Opaque"
    store: DataStore | None = None  # the data store it opens
    # A rotating database login (alternating users): it reaches pods through External Secrets only,
    # so a rotation is picked up in one place; no pod role reads it from Secrets Manager.
    login: bool = False


DATABASE_SECRET = ApplicationSecret("database-secret", "database", ("url",), store=DataStore.DATABASE, login=True)
DATABASE_MIGRATION_SECRET = ApplicationSecret(
    "database-migration-secret", "database-migration", ("url",), store=DataStore.DATABASE, login=True
)
REDIS_SECRET = ApplicationSecret("redis-secret", "redis", ("url",), store=DataStore.CACHE)
AI_KEYS_SECRET = ApplicationSecret("ai-keys-secret", "ai-keys", ("openai-key",))
REGISTRY_SECRET = ApplicationSecret("registry-secret", "registry", (".dockerconfigjson",), "kubernetes.io/dockerconfigjson")
APPLICATION_SECRETS = (DATABASE_SECRET, DATABASE_MIGRATION_SECRET, REDIS_SECRET, AI_KEYS_SECRET, REGISTRY_SECRET)


@dataclass(frozen=True)
class SecretEnv:
    """An environment variable read from one key of a Secret that External Secrets produces."""

    variable: str
    secret: str  # Kubernetes Secret name
    key: str


def secret_env(variable: str, secret: ApplicationSecret, key: str) -> SecretEnv:
    if key not in secret.keys:
        raise ValueError(f"{secret.kubernetes_name} has no key {key!r} (keys: {', '.join(secret.keys)})")
    return SecretEnv(variable, secret.kubernetes_name, key)


DATABASE_URL = secret_env("DATABASE_URL", DATABASE_SECRET, "url")
# The migration Job's Prisma reads the same variable, with the migration role's login.
MIGRATION_DATABASE_URL = secret_env("DATABASE_URL", DATABASE_MIGRATION_SECRET, "url")
REDIS_URL = secret_env("REDIS_URL", REDIS_SECRET, "url")
OPENAI_API_KEY = secret_env("OPENAI_API_KEY", AI_KEYS_SECRET, "openai-key")


class Egress(enum.Enum):
    """Destinations outside the pod's own namespace rules (DNS is allowed for every pod)."""

    DATABASE = DataStore.DATABASE.description
    CACHE = DataStore.CACHE.description
    HTTPS = "HTTPS to AWS APIs (the interface VPC endpoints) and the internet (OpenAI, S3 through its gateway endpoint)"
    AWS_CREDENTIALS = "the EKS Pod Identity agent on the node"
    BACKEND = "the backend's http port"


STORE_EGRESS = {DataStore.DATABASE: Egress.DATABASE, DataStore.CACHE: Egress.CACHE}


class FilesAccess(enum.Enum):
    """What a component's role may do in the files bucket."""

    READ_WRITE = "read, write and delete every object"
    READ_AND_WRITE_DRAFTS = "read every object, write only drafts under DRAFTS_PREFIX, delete nothing"


# Where the AI worker writes the drafts it generates; it only reads everything else.
DRAFTS_PREFIX = "generated/"


@dataclass(frozen=True)
class Component:
    """One application workload: its names and ports, and what it needs.

    Pods carry `selector_labels`; Services, NetworkPolicies, PodDisruptionBudgets and monitors
    select by them. Every container port is named: `http` (when serving HTTP) and `metrics`
    (always, METRICS_PORT). The backend and frontend are scraped through their Service's `metrics`
    port (ServiceMonitor); the AI worker has no Service and is scraped by a PodMonitor.
    """

    key: str  # key under `workloads` in the spec
    name: str  # Deployment, app label, container name prefix
    service_account: str
    http_port: int | None  # None: serves no HTTP traffic besides metrics
    health_path: str | None
    service_name: str | None
    config_map: str  # ConfigMap of non-secret settings, read as environment variables
    secret_env: tuple[SecretEnv, ...] = ()
    files: FilesAccess | None = None
    public: bool = False  # reached through the ALB
    calls: frozenset[Egress] = field(default_factory=frozenset)  # destinations besides its stores and AWS credentials
    termination_grace_seconds: int = 45

    @property
    def metrics_port(self) -> int:
        return METRICS_PORT

    @property
    def container_name(self) -> str:
        """Name of the main container (`kubectl set image deployment/<name> <container>=<image>`)."""
        return self.key.replace("_", "-")

    @property
    def selector_labels(self) -> dict[str, str]:
        return {"app": self.name}

    @property
    def secrets(self) -> tuple[str, ...]:
        """Secrets the pods read (sorted, unique); a change to any of them restarts the pods."""
        return tuple(sorted({entry.secret for entry in self.secret_env}))

    @property
    def application_secrets(self) -> tuple[ApplicationSecret, ...]:
        return tuple(secret for secret in APPLICATION_SECRETS if secret.kubernetes_name in self.secrets)

    @property
    def stores(self) -> frozenset[DataStore]:
        """The data stores it connects to: those whose Secret it reads."""
        return frozenset(secret.store for secret in self.application_secrets if secret.store is not None)

    @property
    def needs_aws(self) -> bool:
        """It calls AWS APIs, so it gets a Pod Identity association (EKS mounts its own token)."""
        return self.files is not None or bool(self.aws_readable_secrets)

    @property
    def aws_readable_secrets(self) -> tuple[ApplicationSecret, ...]:
        """Secrets its role may read from Secrets Manager: its own, less the rotating logins."""
        return tuple(secret for secret in self.application_secrets if not secret.login)

    @property
    def egress(self) -> frozenset[Egress]:
        derived = {STORE_EGRESS[store] for store in self.stores}
        if self.needs_aws:
            derived |= {Egress.HTTPS, Egress.AWS_CREDENTIALS}
        return frozenset(derived | self.calls)


BACKEND = Component(
    key="backend",
    name="ai-subsidy-backend",
    service_account="ai-subsidy-backend",
    http_port=3001,
    health_path="/api/health",
    service_name="ai-subsidy-backend-service",
    config_map="backend-config",
    secret_env=(DATABASE_URL, REDIS_URL, OPENAI_API_KEY),
    files=FilesAccess.READ_WRITE,
    public=True,
)
FRONTEND = Component(
    key="frontend",
    name="ai-subsidy-frontend",
    service_account="ai-subsidy-frontend",
    http_port=3000,
    health_path="/",
    service_name="ai-subsidy-frontend-service",
    config_map="frontend-config",
    public=True,
    calls=frozenset({Egress.BACKEND}),
)
# Takes jobs from Redis, calls OpenAI, reads files in S3 and writes drafts there, and results in
# PostgreSQL; a job in flight gets two minutes to finish when the pod is stopped.
AI_WORKER = Component(
    key="ai_worker",
    name="ai-worker",
    service_account="ai-worker",
    http_port=None,
    health_path=None,
    service_name=None,
    config_map="ai-config",
    secret_env=(DATABASE_URL, REDIS_URL, OPENAI_API_KEY),
    files=FilesAccess.READ_AND_WRITE_DRAFTS,
    termination_grace_seconds=120,
)
COMPONENTS = (BACKEND, FRONTEND, AI_WORKER)


def store_clients(store: DataStore) -> tuple[Component, ...]:
    """The components that connect to a data store (its security group admits the cluster's pods for them)."""
    return tuple(component for component in COMPONENTS if store in component.stores)


def workload(spec: EnvironmentSpec, component: Component) -> Workload:
    """The component's settings in the spec (`workloads.<key>`)."""
    return getattr(spec.workloads, component.key)
