"""Every name both layers (and the operations tools) must agree on, computed once from the spec.

The Terraform stacks, the Kubernetes charts, the runbooks and the `ops` CLI all read names from here;
the contract tests prove the two synthesized outputs agree. Names people type (namespace,
Deployments, Services) are fixed and carry no hash suffix.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Literal

from envspec.layout import SubnetLayout, subnet_layout
from envspec.models import DEFAULT_AVAILABILITY_ZONES, EnvironmentSpec

if TYPE_CHECKING:
    # The component catalogue (what each component is and needs) is envspec.topology's.
    from envspec.topology import Component

PROJECT = "ai-subsidy"
PROJECT_TAG = "ai-subsidy-system"
MANAGED_BY = "cdktf"
# The tag key every resource carries (Names.tags()), activated as the cost allocation tag the weekly cost
# report groups by (stacks/observability/cost_guardrails.py, ops/cost/report.py).
ENVIRONMENT_TAG = "Environment"
APP_NAMESPACE = "ai-subsidy"
MONITORING_NAMESPACE = "monitoring"
EXTERNAL_SECRETS_NAMESPACE = "external-secrets"
ARGOCD_NAMESPACE = "argocd"
KUBE_SYSTEM = "kube-system"
# Node groups (stacks/cluster/nodes.py) carry NODE_ROLE_LABEL=<role>; the system group is also tainted
# CRITICAL_ADDONS_TAINT (key, value; NoSchedule), so only the cluster's controllers run there (charts/addons.py).
NODE_ROLE_LABEL = "ai-subsidy.io/node-role"
SYSTEM_NODE_ROLE = "system"
APPLICATION_NODE_ROLE = "application"
CRITICAL_ADDONS_TAINT = ("CriticalAddonsOnly", "true")

# Stack layers in dependency order (a layer only reads outputs of layers before it); stacks.app
# builds exactly these for every environment, and the tests parametrize over them.
LAYERS = ("state", "network", "cluster", "data", "observability", "edge", "security", "backup", "ci")
# The standby's stacks in `aws.dr_region` (envspec/dr.py), after every primary layer; only where `dr.mode`
# is not backup-restore. Same constructs as their primary layer, with the DR region and the DR role;
# `dr-dns` (the failover records and the primary's health check) last, once both origins' records exist.
DR_LAYERS = ("dr-network", "dr-cluster", "dr-data", "dr-edge", "dr-dns")
# Application secrets the standby creates itself (its Redis is its own, rebuilt empty); it reads every
# other one from the primary's replica in the DR region.
STANDBY_SECRETS = ("redis",)

# No `backups` bucket: AWS Backup's vaults and the RDS backup replication hold the recovery points
# (stacks/backup), and nothing ever wrote to the bucket the original sketch synced backups into.
BUCKET_PURPOSES = ("files", "diagnostics", "access-logs", "files-dr", "access-logs-dr", "tfstate-logs")
METRICS_PORT = 9464
METRICS_PATH = "/metrics"
HTTP_PORT_NAME = "http"
METRICS_PORT_NAME = "metrics"
POSTGRES_PORT = 5432
REDIS_PORT = 6379

# --- Kubernetes application layer (charts/) ---
# Charts of the application namespace in the order Argo CD must apply them: the migration Job (a
# PreSync hook of `workloads`) runs before anything else of its own Application, so the Secrets it
# reads and the policies that let it reach the database must already be there.
APPLICATION_CHARTS = ("namespaces", "scheduling", "secrets", "network-policies", "workloads")
INGRESS_CLASS = "alb"  # IngressClass of the AWS Load Balancer Controller
INGRESS_NAME = "ai-subsidy"
MIGRATION_JOB = "ai-subsidy-backend-migrate"
MIGRATION_SERVICE_ACCOUNT = "ai-subsidy-backend-migrate"
MIGRATION_SELECTOR_LABELS = {"app": MIGRATION_JOB}
# Pods of kube-prometheus-stack's Prometheus (namespace MONITORING_NAMESPACE) carry these labels.
PROMETHEUS_POD_LABELS = {"app.kubernetes.io/name": "prometheus"}
# RDS tags the master-user secret it manages with the instance's ARN; External Secrets finds it so.
RDS_MANAGED_SECRET_TAG = "aws:rds:primaryDBInstanceArn"
# JSON properties of a database login secret, in the format of the Secrets Manager alternating-users
# rotation for RDS PostgreSQL (it also reads `masterarn`, the RDS-managed master secret).
DATABASE_CONNECTION_KEYS = ("host", "port", "dbname", "username", "password")
# PostgreSQL roles (charts/database_roles.py): a NOLOGIN owner of the schema, a NOLOGIN DML-only
# group, and per purpose a login user and its rotation twin (`<user>_clone`, the name the AWS
# alternating-users rotation switches to and back).
DATABASE_OWNER_ROLE = "ai_subsidy_owner"
DATABASE_APP_GROUP = "ai_subsidy_app"
DATABASE_APP_USER = "ai_subsidy_app_user"
DATABASE_MIGRATION_USER = "ai_subsidy_migrate"
ROTATION_CLONE_SUFFIX = "_clone"
# The RDS root certificates of the primary and DR regions, mounted into every pod that connects.
RDS_CA_CONFIG_MAP = "rds-ca-bundle"
RDS_CA_MOUNT_PATH = "/etc/rds-ca"
RDS_CA_FILE = "rds-ca-ap-northeast.pem"

# External Secrets: one ClusterSecretStore per cluster, reading this environment's Secrets Manager.
CLUSTER_SECRET_STORE = "aws-secrets-manager"
# kube-prometheus-stack (installed by Argo CD): its Helm release name, the label its Prometheus and
# Alertmanager select monitoring objects by, and the label its Grafana sidecar loads dashboards by.
KUBE_PROMETHEUS_RELEASE = "kube-prometheus-stack"
MONITORING_SELECTOR_LABELS = {"release": KUBE_PROMETHEUS_RELEASE}
GRAFANA_DASHBOARD_LABELS = {"grafana_dashboard": "1"}
# kube-prometheus-stack's Prometheus Service (chart fullname + "-prometheus") and its web port name;
# the ops CLI reads alert state through the API server's service proxy.
PROMETHEUS_SERVICE = f"{KUBE_PROMETHEUS_RELEASE}-prometheus"
PROMETHEUS_PORT_NAME = "http-web"
# `kubectl rollout restart` writes this pod-template annotation; `ops incident recover` does the same.
RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt"
# External Secrets refreshes an ExternalSecret when this annotation's value changes.
EXTERNAL_SECRET_FORCE_SYNC_ANNOTATION = "force-sync"
# AWS Backup selects resources by this tag (value: `Names.backup_plan`); the data stack tags the RDS
# instance and the files bucket with `Names.backup_selection_tag`.
BACKUP_SELECTION_TAG_KEY = "backup-plan"
# Scrape jobs kube-prometheus-stack names its exporters' targets by (`up{job="node-exporter"}`); the
# alert rules select node and Kubernetes-object metrics by them.
NODE_EXPORTER_JOB = "node-exporter"
KUBE_STATE_METRICS_JOB = "kube-state-metrics"
# The PrometheusRule holding the application's recording and alerting rules.
PROMETHEUS_RULE = "ai-subsidy-alerts"
# Charts of the `monitoring` namespace (dist/<env>/<chart>.k8s.yaml). They need kube-prometheus-stack's
# CRDs and namespace, and the ClusterSecretStore for the alert receivers' credentials.
MONITORING_CHARTS = ("scrape-targets", "alert-rules", "alert-routing", "dashboards")
# The Secret holding the dead man's switch URL that Alertmanager calls while Watchdog fires.
HEARTBEAT_SECRET = "alertmanager-heartbeat"
# The StorageClass of Prometheus' and Alertmanager's EBS volumes (chart `storage`, synced before the add-ons).
GP3_STORAGE_CLASS = "gp3"
STORAGE_CHART = "storage"

# GitOps (Argo CD). Argo CD syncs the rendered `dist/<env>/` from a branch per environment that only
# the deploy workflow writes (`gitops_branch`). The chart GITOPS_CHART holds the Argo CD objects
# themselves; the application Application syncs every other chart of the folder.
GITOPS_CHART = "gitops"
ARGOCD_IN_CLUSTER = "https://kubernetes.default.svc"
# AppProjects: the application manifests, the cluster add-ons, and the Argo CD objects themselves.
ARGOCD_APP_PROJECT = "ai-subsidy"
ARGOCD_PLATFORM_PROJECT = "platform"
ARGOCD_GITOPS_PROJECT = "gitops"
# Applications: the root (app of apps), one per chart of the application manifests
# (`argocd_application(chart)`, synced in APPLICATION_CHARTS order), one per add-on (its Helm release).
ARGOCD_ROOT_APPLICATION = "gitops"
ARGOCD_APPLICATION_PREFIX = "ai-subsidy"
LOAD_BALANCER_CONTROLLER_RELEASE = "aws-load-balancer-controller"
EXTERNAL_SECRETS_RELEASE = "external-secrets"
METRICS_SERVER_RELEASE = "metrics-server"
# Stakater Reloader rolls the Deployments annotated `secret.reloader.stakater.com/reload` when a
# listed Secret changes (a rotated database password); it runs in a namespace of its own.
RELOADER_RELEASE = "reloader"
# Karpenter (node autoscaling): its Helm release and service account in kube-system, the tag that lets
# it discover the private subnets and the node security group (value: the cluster name), and the
# NodePool/EC2NodeClass that provision the application nodes.
KARPENTER_RELEASE = "karpenter"
KARPENTER_DISCOVERY_TAG = "karpenter.sh/discovery"
KARPENTER_NODE_POOL = "application"
KARPENTER_NODE_CLASS = "application"
# PriorityClasses (charts/priority_classes.py): who waits when the nodes are full.
PRIORITY_PLATFORM = "ai-subsidy-platform"
PRIORITY_USER_FACING = "ai-subsidy-user-facing"
PRIORITY_BACKGROUND = "ai-subsidy-background"
# ExternalDNS writes the Ingress hosts' records into the environment's hosted zone (`<env>-edge`).
EXTERNAL_DNS_RELEASE = "external-dns"
# The log agent (charts/log_agent.py): its release, namespace (privileged: it reads the nodes' /var/log)
# and the log groups it writes to, one per purpose, in Container Insights' layout.
LOG_AGENT_RELEASE = "aws-for-fluent-bit"
LOG_AGENT_NAMESPACE = "logging"
LOG_AGENT_NAME = "fluent-bit"  # DaemonSet, Service and ServiceAccount (the chart's fullnameOverride)
CONTAINER_LOG_PURPOSES = ("application", "dataplane", "host")


def argocd_application(chart: str) -> str:
    """The Argo CD Application that syncs one chart (`dist/<env>/<chart>.k8s.yaml`)."""
    return f"{ARGOCD_APPLICATION_PREFIX}-{chart}"


@dataclass(frozen=True)
class ServiceAccountRef:
    namespace: str
    name: str


@dataclass(frozen=True)
class SecretBinding:
    """A Kubernetes Secret produced by an ExternalSecret from one Secrets Manager secret."""

    kubernetes_name: str
    namespace: str
    remote_name: str  # Secrets Manager secret name
    # Keys of the Kubernetes Secret, each a JSON property of the remote secret; except the database
    # secrets' `url`, rendered from DATABASE_CONNECTION_KEYS (charts/secrets.py).
    keys: tuple[str, ...]
    type: str = "Opaque"


@dataclass(frozen=True)
class Names:
    """Names of one side of the environment: the primary (`side="primary"`, the default), or its standby
    (`Names.standby`: `side="dr"`, built from `envspec.standby.standby_spec`, whose `aws.region` is the DR
    region). The standby's own resources carry `<prefix>-dr`; what both sides share (the state bucket, the
    buckets, the CI roles, the secrets and their replicas) keeps the environment's names."""

    spec: EnvironmentSpec
    side: Literal["primary", "dr"] = "primary"

    @property
    def env(self) -> str:
        return self.spec.name

    @property
    def env_prefix(self) -> str:
        """Prefix of the environment's shared names (both sides)."""
        return f"{PROJECT}-{self.env}"

    @property
    def prefix(self) -> str:
        """Prefix of every AWS resource name of this side (`<env_prefix>-dr` for the standby)."""
        return self.env_prefix if self.side == "primary" else f"{self.env_prefix}-dr"

    @property
    def is_standby(self) -> bool:
        return self.side == "dr"

    @property
    def primary_region(self) -> str:
        """The primary's region, on either side (the standby's spec has the regions swapped)."""
        return self.spec.aws.dr_region if self.is_standby else self.spec.aws.region

    @cached_property
    def standby(self) -> Names:
        """The standby's names (its spec is `standby_spec(spec)`)."""
        from envspec.standby import standby_spec

        if self.is_standby:
            return self
        return names_for(standby_spec(self.spec))

    @property
    def account(self) -> str:
        return self.spec.aws.account_id

    def stack_id(self, layer: str) -> str:
        """`<env>-<layer>`; the standby's stacks are `<env>-dr-<layer>` (a DR layer, or a primary layer on the standby's names)."""
        if self.is_standby and f"dr-{layer}" in DR_LAYERS:
            layer = f"dr-{layer}"
        if layer not in LAYERS + DR_LAYERS:
            raise ValueError(f"unknown layer {layer!r}")
        return f"{self.env}-{layer}"

    def tags(self) -> dict[str, str]:
        """Tags applied to every AWS resource through the provider's default_tags (the standby's also say so)."""
        side = {"Side": "dr"} if self.is_standby else {}
        return {ENVIRONMENT_TAG: self.env, "Project": PROJECT_TAG, "ManagedBy": MANAGED_BY, **side}

    # --- Terraform state ---
    @property
    def state_bucket(self) -> str:
        return f"{self.env_prefix}-tfstate-{self.account}"

    @property
    def state_kms_alias(self) -> str:
        return f"alias/{self.env_prefix}-tfstate"

    @property
    def state_kms_alias_arn(self) -> str:
        return f"arn:aws:kms:{self.primary_region}:{self.account}:{self.state_kms_alias}"

    def state_key(self, layer: str) -> str:
        return f"{self.stack_id(layer)}/terraform.tfstate"

    # --- Compute and data ---
    @property
    def region(self) -> str:
        return self.spec.aws.region

    @property
    def cluster_name(self) -> str:
        return self.prefix

    @property
    def cluster_arn(self) -> str:
        return f"arn:aws:eks:{self.region}:{self.account}:cluster/{self.cluster_name}"

    @property
    def database_username(self) -> str:
        """Master user; its password is generated and rotated by RDS in Secrets Manager."""
        return "ai_subsidy_admin"

    def secret_arn(self, name: str, region: str | None = None) -> str:
        """ARN pattern of a Secrets Manager secret: AWS appends six random characters to the name. In
        `dr_region` the same name is the secret's replica."""
        return f"arn:aws:secretsmanager:{region or self.region}:{self.account}:secret:{name}-??????"

    def role_arn(self, role_name: str) -> str:
        return f"arn:aws:iam::{self.account}:role/{role_name}"

    @property
    def database_identifier(self) -> str:
        return self.prefix

    @property
    def database_name(self) -> str:
        return f"{PROJECT}_{self.env}".replace("-", "_")

    @property
    def cache_replication_group(self) -> str:
        return self.prefix

    @property
    def secret_scope(self) -> str:
        """Path segment of the secrets this side owns: the environment, or `<env>-dr` for the standby's own (its
        Redis token and URL). Every other secret of the standby is the primary's replica, by the same name."""
        return f"{self.env}-dr" if self.is_standby else self.env

    @property
    def cache_auth_token_secret(self) -> str:
        """Secrets Manager secret with the Redis AUTH token; Terraform reads it, applications read the redis URL secret."""
        return f"{PROJECT}/{self.secret_scope}/cache/auth-token"

    @property
    def database_arn(self) -> str:
        """ARN of the RDS instance (deterministic, so later stacks need not read the data stack)."""
        return f"arn:aws:rds:{self.region}:{self.account}:db:{self.database_identifier}"

    def restored_database_identifier(self, purpose: str, stamp: str) -> str:
        """Identifier of an instance restored by `ops dr` (purpose: restore, drill, replaced)."""
        identifier = f"{self.database_identifier}-{purpose}-{stamp}"
        if len(identifier) > 63:
            raise ValueError(f"{identifier} is longer than the 63 characters RDS allows")
        return identifier

    def bucket(self, purpose: str) -> str:
        """Globally unique bucket name: files, diagnostics, access-logs, files-dr, access-logs-dr, tfstate-logs."""
        if purpose not in BUCKET_PURPOSES:
            raise ValueError(f"unknown bucket purpose {purpose!r}")
        return f"{self.env_prefix}-{purpose}-{self.account}"

    def bucket_arn(self, purpose: str) -> str:
        return f"arn:aws:s3:::{self.bucket(purpose)}"

    def kms_alias(self, purpose: str) -> str:
        return f"alias/{self.prefix}-{purpose}"

    def kms_alias_arn(self, purpose: str, region: str | None = None) -> str:
        return f"arn:aws:kms:{region or self.region}:{self.account}:{self.kms_alias(purpose)}"

    # --- Backup and disaster recovery ---
    @property
    def backup_vault(self) -> str:
        """AWS Backup vault; the DR region's vault has the same name (vault names are per region)."""
        return f"{self.prefix}-backup"

    @property
    def backup_frequent_vault(self) -> str:
        """Unlocked vault of the short-lived frequent snapshots (a lock's minimum retention would not fit them)."""
        return f"{self.prefix}-backup-frequent"

    @property
    def backup_plan(self) -> str:
        return f"{self.prefix}-backup"

    @property
    def backup_tags(self) -> dict[str, str]:
        """Tags of a resource the environment's AWS Backup plan protects (RDS, the files bucket)."""
        key, value = self.backup_selection_tag
        return {key: value}

    @property
    def backup_selection_tag(self) -> tuple[str, str]:
        """Tag (key, value) that puts a resource under the environment's AWS Backup plan."""
        return (BACKUP_SELECTION_TAG_KEY, self.backup_plan)

    @property
    def backup_role(self) -> str:
        return f"{self.prefix}-backup"

    @property
    def files_replication_role(self) -> str:
        return f"{self.prefix}-files-replication"

    @property
    def files_replication_rule(self) -> str:
        return "files-to-dr-region"

    def incident_bundle_key(self, component: str, stamp: str) -> str:
        """Key of an `ops incident collect` tarball in the diagnostics bucket."""
        return f"incidents/{component}/{self.env}-{component}-{stamp}.tar.gz"

    @property
    def alarm_topic(self) -> str:
        return f"{self.prefix}-infrastructure-alarms"

    @property
    def notice_topic(self) -> str:
        """SNS topic of infrastructure events that warn (Slack) rather than page (the alarm topic)."""
        return f"{self.prefix}-infrastructure-notices"

    def topic_arn(self, name: str) -> str:
        return f"arn:aws:sns:{self.region}:{self.account}:{name}"

    @property
    def budget(self) -> str:
        """AWS Budgets cost budget of the environment's account (observability stack)."""
        return f"{self.prefix}-monthly-cost"

    @property
    def cost_anomaly_monitor(self) -> str:
        return f"{self.prefix}-services"

    @property
    def budgets_source_arn_pattern(self) -> str:
        """What AWS Budgets sends as aws:SourceArn when it publishes (AWS Budgets guide, budgets-sns-policy)."""
        return f"arn:aws:budgets::{self.account}:*"

    @property
    def cost_explorer_source_arn_pattern(self) -> str:
        """Cost Anomaly Detection's aws:SourceArn: a Cost Explorer resource of this account (global, no region)."""
        return f"arn:aws:ce::{self.account}:*"

    @property
    def oncall_forwarder(self) -> str:
        """Lambda function forwarding the infrastructure topics to PagerDuty and Slack."""
        return f"{self.prefix}-oncall-forwarder"

    @property
    def login_rotation_function(self) -> str:
        """Lambda function rotating the database login secrets (alternating users)."""
        return f"{self.prefix}-db-login-rotation"

    def alarm_name(self, purpose: str) -> str:
        """CloudWatch alarm name; every alarm of the environment starts with the prefix."""
        return f"{self.prefix}-{purpose}"

    @property
    def alarm_arn_pattern(self) -> str:
        """ARN pattern matching every CloudWatch alarm of this environment (and nothing else)."""
        return f"arn:aws:cloudwatch:{self.region}:{self.account}:alarm:{self.prefix}-*"

    @property
    def cache_node_ids(self) -> tuple[str, ...]:
        """Member clusters ElastiCache creates for the replication group: `<group>-001` upwards."""
        return tuple(f"{self.cache_replication_group}-{index:03d}" for index in range(1, self.spec.cache.num_nodes + 1))

    # --- The standby in the DR region (envspec/dr.py; stacks <env>-dr-*) ---
    @property
    def dr_region(self) -> str:
        """The standby's region, on either side."""
        return self.spec.aws.region if self.is_standby else self.spec.aws.dr_region

    @property
    def dr_cluster_name(self) -> str:
        """The standby EKS cluster (also the `Name` tag of the DR VPC and its Karpenter discovery value)."""
        return f"{self.env_prefix}-dr"

    @property
    def dr_cluster_arn(self) -> str:
        return f"arn:aws:eks:{self.dr_region}:{self.account}:cluster/{self.dr_cluster_name}"

    @property
    def dr_database_identifier(self) -> str:
        """The cross-region read replica of `database_identifier`, in `dr_region`; promoted on failover."""
        return f"{self.env_prefix}-dr"

    @property
    def dr_database_arn(self) -> str:
        return f"arn:aws:rds:{self.dr_region}:{self.account}:db:{self.dr_database_identifier}"

    @property
    def dr_cache_replication_group(self) -> str:
        """The standby's Redis, empty until failover (docs/disaster-recovery.md, 'Redis on a region loss')."""
        return f"{self.env_prefix}-dr"

    @property
    def dr_vpc_name(self) -> str:
        return f"{self.env_prefix}-dr"

    @property
    def dr_availability_zones(self) -> tuple[str, ...]:
        """The standby's zones: the DR region's first zones, as many as the primary uses."""
        return DEFAULT_AVAILABILITY_ZONES[self.dr_region][: len(self.spec.availability_zones)]

    @cached_property
    def dr_subnets(self) -> SubnetLayout:
        """The DR VPC's subnet plan, the same layout as the primary's."""
        if self.spec.dr.vpc_cidr is None:
            raise ValueError(f"{self.env} has no standby (dr.mode {self.spec.dr.mode})")
        return subnet_layout(self.spec.dr.vpc_cidr, len(self.dr_availability_zones))

    @property
    def files_bucket(self) -> str:
        """The bucket this side's application reads and writes: the files bucket, or on the standby its replica."""
        return self.bucket("files-dr" if self.is_standby else "files")

    @property
    def dr_files_bucket(self) -> str:
        """The files replica (backup stack) the standby's application reads and writes after failover."""
        return self.bucket("files-dr")

    @property
    def dr_alarm_topic_arn(self) -> str:
        """The standby's alarm topic (`<env_prefix>-dr-infrastructure-alarms`, in the DR region, `<env>-dr-data`): the
        replica-lag alarm notifies it, as a region loss takes the primary's topic with it."""
        return f"arn:aws:sns:{self.dr_region}:{self.account}:{self.env_prefix}-dr-infrastructure-alarms"

    @property
    def dr_manifests_path(self) -> str:
        """Folder of the standby cluster's rendered manifests (on `gitops_branch` too)."""
        return f"dist/{self.env}-dr"

    @property
    def argocd_dr_cluster(self) -> str:
        """Name of the standby cluster in Argo CD (its cluster Secret's `name`), which Applications target."""
        return self.dr_cluster_name

    @property
    def argocd_dr_cluster_secret(self) -> str:
        """Secrets Manager secret (primary region) with the standby's API endpoint and CA, written by `<env>-dr-cluster`;
        an ExternalSecret renders Argo CD's cluster Secret from it. No token: Argo CD authenticates through IAM."""
        return f"{PROJECT}/{self.env}/argocd/dr-cluster"

    @property
    def argocd_dr_manager_role(self) -> str:
        """IAM role Argo CD's controller and server assume (Pod Identity) to reach the standby cluster."""
        return f"{self.env_prefix}-argocd-dr"

    @property
    def failover_health_check(self) -> str:
        """`Name` tag of the Route 53 health check on the primary's `/api/health`."""
        return f"{self.env_prefix}-primary-health"

    def failover_set_identifier(self, role: str) -> str:
        """`set_identifier` of a failover record: `primary` or `dr`."""
        return f"{self.env}-{role}"

    # --- Documentation ---
    @property
    def runbook_base_url(self) -> str:
        """Folder of the runbooks on the repository's deploy branch; alerts and alarms link into it."""
        return f"https://github.com/{self.spec.ci.github_repository}/blob/{self.spec.ci.branch}/docs/runbooks"

    def runbook_url(self, page: str, anchor: str | None = None) -> str:
        return f"{self.runbook_base_url}/{page}.md" + (f"#{anchor}" if anchor else "")

    @property
    def deploy_role(self) -> str:
        return f"{self.env_prefix}-github-deploy"

    @property
    def plan_role(self) -> str:
        return f"{self.env_prefix}-github-plan"

    @property
    def permissions_boundary(self) -> str:
        """Managed policy (ci stack) every role the deploy role creates or changes must carry."""
        return f"{self.env_prefix}-permissions-boundary"

    @property
    def permissions_boundary_arn(self) -> str:
        return f"arn:aws:iam::{self.account}:policy/{self.permissions_boundary}"

    @cached_property
    def subnets(self) -> SubnetLayout:
        """The VPC's subnet plan: the network stack builds it, the network policies allow traffic by it."""
        return subnet_layout(self.spec.network.vpc_cidr, len(self.spec.availability_zones))

    # --- Kubernetes ---
    def app_service_account(self, component: Component) -> ServiceAccountRef:
        return ServiceAccountRef(APP_NAMESPACE, component.service_account)

    @property
    def external_secrets_service_account(self) -> ServiceAccountRef:
        return ServiceAccountRef(EXTERNAL_SECRETS_NAMESPACE, "external-secrets")

    @property
    def load_balancer_controller_service_account(self) -> ServiceAccountRef:
        return ServiceAccountRef(KUBE_SYSTEM, "aws-load-balancer-controller")

    @property
    def karpenter_service_account(self) -> ServiceAccountRef:
        return ServiceAccountRef(KUBE_SYSTEM, KARPENTER_RELEASE)

    @property
    def karpenter_discovery_tags(self) -> dict[str, str]:
        """On the private subnets (network stack) and the node security group (cluster stack)."""
        return {KARPENTER_DISCOVERY_TAG: self.cluster_name}

    @property
    def karpenter_interruption_queue(self) -> str:
        """SQS queue of the EC2 interruption events (Karpenter's `settings.interruptionQueue`)."""
        return f"{self.prefix}-karpenter-interruption"

    @property
    def karpenter_node_role(self) -> str:
        """IAM role of the nodes Karpenter launches (EC2NodeClass `spec.role`)."""
        return f"{self.prefix}-karpenter-node"

    @property
    def external_dns_service_account(self) -> ServiceAccountRef:
        return ServiceAccountRef(KUBE_SYSTEM, EXTERNAL_DNS_RELEASE)

    @property
    def log_agent_service_account(self) -> ServiceAccountRef:
        return ServiceAccountRef(LOG_AGENT_NAMESPACE, LOG_AGENT_NAME)

    def container_log_group(self, purpose: str) -> str:
        """Container Insights' names, which the CloudWatch console's Container Insights views and AWS's sample
        Logs Insights queries read: application (pods), dataplane (kubelet, containerd, aws-node, kube-proxy), host."""
        if purpose not in CONTAINER_LOG_PURPOSES:
            raise ValueError(f"unknown container log purpose {purpose!r}")
        return f"/aws/containerinsights/{self.cluster_name}/{purpose}"

    @property
    def ebs_csi_service_account(self) -> ServiceAccountRef:
        return ServiceAccountRef(KUBE_SYSTEM, "ebs-csi-controller-sa")

    def secret_name(self, purpose: str) -> str:
        """Secrets Manager name of an application secret; the standby's Redis URL is its own (`STANDBY_SECRETS`)."""
        scope = self.secret_scope if purpose in STANDBY_SECRETS else self.env
        return f"{PROJECT}/{scope}/app/{purpose}"

    @cached_property
    def app_secrets(self) -> tuple[SecretBinding, ...]:
        from envspec.topology import APPLICATION_SECRETS  # the topology imports this module

        return tuple(
            SecretBinding(secret.kubernetes_name, APP_NAMESPACE, self.secret_name(secret.purpose), secret.keys, secret.type)
            for secret in APPLICATION_SECRETS
        )

    @property
    def slack_secret(self) -> SecretBinding:
        return SecretBinding("alertmanager-slack", MONITORING_NAMESPACE, self.spec.alerting.slack.secret_name, ("webhook-url",))

    @property
    def pagerduty_secret(self) -> SecretBinding | None:
        """PagerDuty's routing key, only where the environment pages (`alerting.page_on_call`)."""
        if not self.spec.alerting.page_on_call:
            return None
        return SecretBinding("alertmanager-pagerduty", MONITORING_NAMESPACE, self.spec.alerting.pagerduty.secret_name, ("routing-key",))

    @property
    def heartbeat_secret(self) -> SecretBinding:
        """The dead man's switch URL Alertmanager calls while Watchdog fires."""
        return SecretBinding(HEARTBEAT_SECRET, MONITORING_NAMESPACE, self.spec.alerting.heartbeat.secret_name, ("url",))

    @cached_property
    def alerting_secrets(self) -> tuple[SecretBinding, ...]:
        """Alertmanager's receiver credentials."""
        pagerduty = self.pagerduty_secret
        return (self.slack_secret, *((pagerduty,) if pagerduty else ()), self.heartbeat_secret)

    @property
    def grafana_admin_secret(self) -> SecretBinding:
        """Grafana's admin login (kube-prometheus-stack reads it through `grafana.admin.existingSecret`);
        the data stack generates it."""
        return SecretBinding(
            "grafana-admin", MONITORING_NAMESPACE, f"{PROJECT}/{self.env}/monitoring/grafana-admin", ("admin-user", "admin-password")
        )

    @cached_property
    def synced_secrets(self) -> tuple[SecretBinding, ...]:
        """Every secret the data stack creates for External Secrets to copy into the cluster."""
        return (*self.app_secrets, *self.alerting_secrets, self.grafana_admin_secret)

    @property
    def vpc_name(self) -> str:
        """`Name` tag of the VPC; the load balancer controller finds its VPC by it."""
        return self.prefix

    # --- Delivery (GitOps) ---
    @property
    def repository_url(self) -> str:
        """HTTPS clone URL of this repository (the only Git source Argo CD may read)."""
        return f"https://github.com/{self.spec.ci.github_repository}.git"

    @property
    def gitops_branch(self) -> str:
        """Branch holding this environment's rendered manifests; written only by the deploy workflow."""
        return f"gitops/{self.env}"

    @property
    def manifests_path(self) -> str:
        """Folder of the rendered manifests, the same in the work tree and on `gitops_branch` (the standby's:
        `dist/<env>-dr`, on the same branch)."""
        return f"dist/{self.env}-dr" if self.is_standby else f"dist/{self.env}"

    def app_secret(self, kubernetes_name: str) -> SecretBinding:
        return next(binding for binding in self.app_secrets if binding.kubernetes_name == kubernetes_name)

    @property
    def database_bootstrap_secret(self) -> SecretBinding:
        """The role bootstrap Job's connection (the master login) and the two initial passwords, rendered
        from the RDS-managed master secret and the two login secrets; Terraform creates no secret for it."""
        return SecretBinding(
            "database-bootstrap-secret",
            APP_NAMESPACE,
            self.secret_name("database"),
            ("PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "APP_PASSWORD", "MIGRATE_PASSWORD"),
        )

    @property
    def database_master_secret_tags(self) -> dict[str, str]:
        """Tags that find the RDS-managed master secret of the environment's database instance."""
        return {RDS_MANAGED_SECRET_TAG: self.database_arn}

    @property
    def load_balancer_name(self) -> str:
        """Name of the internet-facing ALB the Ingress gets (32 characters at most); names are per region, so the
        standby's ALB has the same one."""
        return self.env_prefix

    @property
    def origin_host(self) -> str | None:
        """With a standby: the host that always names this side's ALB (ExternalDNS writes only it, the public hosts
        are the failover records of `<env>-dr-dns`); the primary's is what the Route 53 health check probes."""
        if not self.spec.dr.has_standby:
            return None
        return f"{'dr' if self.is_standby else 'primary'}-origin.{self.spec.dns.zone_name}"

    @property
    def primary_origin_host(self) -> str | None:
        """The primary's origin host, from either side (the health check's target)."""
        return f"primary-origin.{self.spec.dns.zone_name}" if self.spec.dr.has_standby else None

    @property
    def ingress_hosts(self) -> tuple[str, ...]:
        """Hosts of this side's Ingress and certificate: the public hosts, and the origin host where there is one."""
        dns = self.spec.dns
        return (dns.frontend_host, dns.api_host, *((self.origin_host,) if self.origin_host else ()))

    def app_service_url(self, component: Component) -> str:
        """In-cluster URL of a component's Service, on its http port (Service port = container port)."""
        if component.service_name is None or component.http_port is None:
            raise ValueError(f"{component.name} has no Service")
        return f"http://{component.service_name}.{APP_NAMESPACE}.svc.cluster.local:{component.http_port}"

    # --- Edge and security operations (`<env>-edge`, `<env>-security`) ---
    @property
    def web_acl(self) -> str:
        """Name of the regional WAF web ACL; the Ingress names it (`wafv2-acl-name`), as its ARN ends in a random id."""
        return self.prefix

    @property
    def waf_log_group(self) -> str:
        """WAF only logs to CloudWatch Logs groups whose name starts with `aws-waf-logs-`."""
        return f"aws-waf-logs-{self.prefix}"

    @property
    def alb_access_log_bucket(self) -> str:
        return f"{self.prefix}-alb-logs-{self.account}"

    @property
    def alb_access_log_prefix(self) -> str:
        return "alb"

    @property
    def trail(self) -> str:
        return f"{self.prefix}-audit"

    @property
    def trail_arn(self) -> str:
        return f"arn:aws:cloudtrail:{self.region}:{self.account}:trail/{self.trail}"

    @property
    def trail_bucket(self) -> str:
        return f"{self.prefix}-cloudtrail-{self.account}"

    @property
    def trail_log_group(self) -> str:
        return f"/aws/cloudtrail/{self.prefix}"

    @property
    def config_bucket(self) -> str:
        return f"{self.prefix}-config-{self.account}"

    @property
    def config_role(self) -> str:
        return f"{self.prefix}-config-recorder"

    @property
    def trail_logs_role(self) -> str:
        return f"{self.prefix}-cloudtrail-logs"

    @property
    def external_dns_txt_owner(self) -> str:
        """`txtOwnerId` of this cluster's ExternalDNS: it changes only records whose TXT marker names it."""
        return self.cluster_name

    def event_rule(self, purpose: str) -> str:
        return f"{self.prefix}-{purpose}"

    @property
    def event_rule_arn_pattern(self) -> str:
        """ARN pattern of this environment's EventBridge rules (default bus); they may publish to the alarm topic."""
        return f"arn:aws:events:{self.region}:{self.account}:rule/{self.prefix}-*"


# Specs made by `envspec.standby.standby_spec`, by identity: `names_for` gives them the standby's names, so a
# chart or stack built from the standby's spec names its resources as the standby's without being told.
_STANDBY_SPECS: dict[int, EnvironmentSpec] = {}


def mark_standby(spec: EnvironmentSpec) -> EnvironmentSpec:
    _STANDBY_SPECS[id(spec)] = spec
    return spec


def names_for(spec: EnvironmentSpec) -> Names:
    return Names(spec, side="dr" if _STANDBY_SPECS.get(id(spec)) is spec else "primary")
