"""Typed environment spec: the single source of truth for both synthesizers and the operations tools.

Every field has a description and, where one exists, a safe default. Defaults that differ per
environment class live in `envspec.profiles`, not here.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from envspec import windows
from envspec.cost import CostSettings
from envspec.dr import DisasterRecovery
from envspec.eks_versions import addon_problems, release_version_problem
from envspec.profiles import allows_burstable, is_burstable
from envspec.quantities import parse_cpu, parse_memory
from envspec.rotation import LoginRotation
from envspec.slo import ServiceLevels

ENVIRONMENT_NAME = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
# Retention values CloudWatch Logs accepts.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
# Availability zones that offer the instance types used here, per region.
DEFAULT_AVAILABILITY_ZONES = {
    "ap-northeast-1": ("ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"),
    "ap-northeast-3": ("ap-northeast-3a", "ap-northeast-3b", "ap-northeast-3c"),
}
WINDOW = r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$"
WEEKLY_WINDOW = r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$"
SECRET_NAME = r"^[A-Za-z0-9/_+=.@-]{1,512}$"
# A Go duration as External Secrets reads it: hours, minutes, hours and minutes, or seconds (1h, 15m, 1h30m, 90s).
GO_DURATION = r"^(\d+h\d+m|\d+h|\d+m|\d+s)$"


class Strict(BaseModel):
    """Base for every spec model: unknown keys are errors, values are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


def _check_retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(f"{value} is not a CloudWatch Logs retention period (allowed: {', '.join(map(str, LOG_RETENTION_DAYS))})")
    return value


RetentionDays = Annotated[
    int, AfterValidator(_check_retention), Field(description="Log retention in days; a value CloudWatch Logs accepts.")
]


def _network(value: object) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(str(value), strict=True)
    except ValueError as error:
        raise ValueError(f"'{value}' is not a valid IPv4 CIDR block ({error})") from None


class AwsTarget(Strict):
    account_id: str = Field(pattern=r"^\d{12}$", description="AWS account the environment lives in (12 digits).")
    region: str = Field(default="ap-northeast-1", pattern=r"^[a-z]{2}-[a-z]+-\d$", description="Primary region.")
    dr_region: str = Field(default="ap-northeast-3", pattern=r"^[a-z]{2}-[a-z]+-\d$", description="Disaster-recovery region.")

    @model_validator(mode="after")
    def _distinct_regions(self) -> AwsTarget:
        if self.region == self.dr_region:
            raise ValueError(f"dr_region must differ from region (both are {self.region})")
        return self


class Network(Strict):
    vpc_cidr: ipaddress.IPv4Network = Field(description="VPC CIDR block, between /16 and /20; must not overlap another environment's.")
    az_count: int = Field(default=3, ge=2, le=3, description="Number of availability zones the subnets span.")
    availability_zones: tuple[str, ...] | None = Field(
        default=None, description="Explicit zone names; default: the region's first `az_count` zones."
    )
    nat_gateways: Literal["single", "per_az"] = Field(description="One shared NAT gateway, or one per availability zone.")
    flow_log_retention_days: RetentionDays = Field(default=365, description="Days the VPC flow logs are kept (CloudWatch Logs).")
    flow_log_traffic_type: Literal["ALL", "REJECT"] = Field(
        default="ALL", description="Flow-log records of all traffic, or only of connections the security groups and network ACLs rejected."
    )

    @field_validator("vpc_cidr", mode="before")
    @classmethod
    def _parse_vpc(cls, value: object) -> ipaddress.IPv4Network:
        return _network(value)

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_size(cls, value: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
        if not 16 <= value.prefixlen <= 20:
            raise ValueError(f"{value} must be between /16 and /20 (EKS pods take VPC addresses)")
        if not value.is_private:
            raise ValueError(f"{value} is not a private (RFC 1918) range")
        return value

    @model_validator(mode="after")
    def _zones(self) -> Network:
        if self.availability_zones is not None and len(self.availability_zones) != self.az_count:
            raise ValueError(f"availability_zones lists {len(self.availability_zones)} zones but az_count is {self.az_count}")
        if self.availability_zones is not None and len(set(self.availability_zones)) != len(self.availability_zones):
            raise ValueError("availability_zones repeats a zone")
        return self

    @property
    def nat_gateway_count(self) -> int:
        """How many NAT gateways (each with its own Elastic IP) the private tier leaves through."""
        return self.az_count if self.nat_gateways == "per_az" else 1


class Taint(Strict):
    key: str = Field(description="Taint key; only pods with a matching toleration run on the group's nodes.")
    value: str = Field(default="", description="Taint value; empty: the taint has a key only.")
    effect: Literal["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"] = Field(
        default="NO_SCHEDULE", description="What the taint does to pods without a toleration (EKS spelling of the Kubernetes effects)."
    )


class NodeGroup(Strict):
    instance_types: tuple[str, ...] = Field(min_length=1, description="EC2 instance types, most preferred first.")
    capacity_type: Literal["ON_DEMAND", "SPOT"] = Field(default="ON_DEMAND", description="EC2 purchase option of the group's nodes.")
    min_size: int = Field(ge=0, le=100, description="Fewest nodes the group keeps.")
    desired_size: int = Field(
        ge=0, le=100, description="Nodes the group starts with; between min_size and max_size (EKS keeps what scaling set later)."
    )
    max_size: int = Field(ge=1, le=100, description="Most nodes the group may grow to.")
    disk_size_gib: int = Field(default=50, ge=20, le=1000, description="Encrypted gp3 root volume size.")
    labels: dict[str, str] = Field(
        default_factory=dict, description="Extra Kubernetes labels on the group's nodes (the node-role label is always set)."
    )
    taints: tuple[Taint, ...] = Field(default=(), description="Kubernetes taints on the group's nodes.")

    @model_validator(mode="after")
    def _bounds(self) -> NodeGroup:
        if self.min_size > self.max_size:
            raise ValueError(f"min_size ({self.min_size}) is greater than max_size ({self.max_size})")
        if not self.min_size <= self.desired_size <= self.max_size:
            raise ValueError(f"desired_size ({self.desired_size}) is outside min_size..max_size ({self.min_size}..{self.max_size})")
        return self


class NodeGroups(Strict):
    system: NodeGroup = Field(description="On-demand nodes for cluster add-ons and controllers.")
    application: NodeGroup | None = Field(
        default=None,
        description="A managed node group for the application workloads; null: Karpenter provisions them (node_autoscaling). "
        "Set it only while switching to or rolling back from Karpenter (docs/cluster.md, 'Node autoscaling').",
    )

    @field_validator("system")
    @classmethod
    def _system_on_demand(cls, value: NodeGroup) -> NodeGroup:
        if value.capacity_type != "ON_DEMAND":
            raise ValueError("the system node group must be ON_DEMAND (controllers must not be reclaimed)")
        return value


class Cluster(Strict):
    version: str = Field(
        default="1.35", pattern=r"^1\.\d{2}$", description="EKS Kubernetes version (1.34 leaves standard support on 2026-12-02)."
    )
    public_access_cidrs: tuple[ipaddress.IPv4Network, ...] = Field(
        default=(), description="CIDRs allowed to reach the public API endpoint; empty keeps the endpoint private only."
    )
    admin_role_name: str = Field(
        default="ai-subsidy-platform-admin",
        pattern=r"^[\w+=,.@-]{1,64}$",
        description="IAM role granted cluster admin through an access entry.",
    )
    log_retention_days: RetentionDays = Field(default=365, description="Days the control plane's logs are kept (CloudWatch Logs).")
    api_access_host: bool = Field(
        default=False,
        description="Run the Session Manager host through which operators port-forward to a private-only API endpoint "
        "(docs/cluster.md, 'Reaching a private API endpoint').",
    )
    node_groups: NodeGroups = Field(description="The EKS managed node groups.")
    node_ami_release_version: str = Field(
        description="EKS-optimized AL2023 AMI release of every managed node group, `<Kubernetes patch>-<YYYYMMDD>` "
        "(e.g. 1.35.6-20260714); its minor must be `version`. Raising it rolls the nodes (docs/upgrades.md)."
    )
    addons: dict[str, str] = Field(description="EKS add-on name to pinned version.")

    @field_validator("public_access_cidrs", mode="before")
    @classmethod
    def _parse_cidrs(cls, value: object) -> object:
        return tuple(_network(item) for item in value) if isinstance(value, (list, tuple)) else value

    @field_validator("public_access_cidrs")
    @classmethod
    def _not_world(cls, value: tuple[ipaddress.IPv4Network, ...]) -> tuple[ipaddress.IPv4Network, ...]:
        for network in value:
            if network.prefixlen < 8:
                raise ValueError(f"{network} would open the Kubernetes API to the internet; name an office or VPN range")
        return value

    @field_validator("addons")
    @classmethod
    def _required_addons(cls, value: dict[str, str]) -> dict[str, str]:
        required = {"vpc-cni", "coredns", "kube-proxy", "aws-ebs-csi-driver", "eks-pod-identity-agent"}
        missing = sorted(required - value.keys())
        if missing:
            raise ValueError(f"missing pinned version for add-on(s): {', '.join(missing)}")
        for name, version in value.items():
            if not re.fullmatch(r"v\d+\.\d+\.\d+-eksbuild\.\d+", version):
                raise ValueError(f"add-on {name}: '{version}' is not a pinned EKS add-on version like v1.2.3-eksbuild.1")
        return value

    @model_validator(mode="after")
    def _versions_belong_to_the_cluster_version(self) -> Cluster:
        problems = addon_problems(self.version, self.addons)
        if problems:
            raise ValueError(f"addons: {problems[0]}")
        problem = release_version_problem(self.version, self.node_ami_release_version)
        if problem:
            raise ValueError(f"node_ami_release_version: {problem}")
        return self


def _refuse_burstable(value: str, info: ValidationInfo) -> str:
    """A profile rule: T classes (burstable CPU credits) only where the profile allows them."""
    profile = (info.context or {}).get("profile")
    if profile is not None and not allows_burstable(profile) and is_burstable(value):
        raise ValueError(
            f"{value} is a burstable class; the {profile} profile needs a non-burstable one "
            "(AWS: T classes are for development and test, they throttle once CPU credits run out)"
        )
    return value


def _window_problems(label: str, window: str, minimum: int, length: int) -> None:
    if length < minimum:
        raise ValueError(f"{window} is {length} minutes long; {label} must be at least {minimum} minutes")


class PostgresParameters(Strict):
    """Settings of the instance's DB parameter group that the environment chooses (RDS applies the rest)."""

    idle_in_transaction_session_timeout_ms: int = Field(
        default=60_000,
        ge=0,
        le=2_147_483_647,
        description="End a session idle inside an open transaction after this many milliseconds (it holds locks and blocks "
        "vacuum); 0 disables.",
    )
    log_min_duration_statement_ms: int = Field(default=1000, ge=-1, description="Log statements slower than this (ms); -1 disables.")
    log_autovacuum_min_duration_ms: int = Field(
        default=1000, ge=-1, description="Log autovacuum runs longer than this (ms), to see tables vacuum cannot keep up with."
    )
    log_temp_files_kb: int = Field(
        default=10_240, ge=-1, description="Log temporary files at least this large (kB): queries that spill sorts and hashes to disk."
    )


class Database(Strict):
    engine_major_version: str = Field(
        default="15", pattern=r"^\d{2}$", description="PostgreSQL major version; minors upgrade automatically."
    )
    instance_class: str = Field(
        default="db.m7g.large",
        pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$",
        validate_default=True,
        description="RDS instance class; burstable (db.t*) classes are refused in production (docs/data.md, 'Data stack').",
    )
    allocated_storage_gib: int = Field(default=100, ge=20, le=65536, description="Initial gp3 storage of the instance in GiB.")
    max_allocated_storage_gib: int = Field(default=1000, ge=20, le=65536, description="Storage autoscaling ceiling.")
    multi_az: bool = Field(description="A synchronous standby in another availability zone that RDS fails over to.")
    backup_retention_days: int = Field(
        default=30,
        ge=1,
        le=35,
        description="Days of automated backups (point-in-time restore window); the DR-region replication keeps as many.",
    )
    backup_window: str = Field(
        default="03:00-04:00",
        pattern=WINDOW,
        description=f"Daily backup window in {windows.WINDOW_TIME_ZONE} time (converted to UTC for RDS); at least 30 minutes.",
    )
    maintenance_window: str = Field(
        default="mon:04:00-mon:05:00",
        pattern=WEEKLY_WINDOW,
        validate_default=True,
        description=f"Weekly maintenance window in {windows.WINDOW_TIME_ZONE} time (converted to UTC for RDS); at least 30 "
        "minutes, not overlapping backup_window.",
    )
    deletion_protection: bool = Field(description="RDS refuses to delete the instance until this is turned off.")
    final_snapshot: bool = Field(
        default=True, description="Deleting the instance first takes the snapshot `<identifier>-final`; false: deleted without one."
    )
    performance_insights_retention_days: int = Field(default=7, description="7, or a multiple of 31 up to 731.")
    monitoring_interval_seconds: Literal[1, 5, 10, 15, 30, 60] = Field(
        default=60, description="Enhanced Monitoring interval in seconds (operating-system metrics of the instance)."
    )
    log_retention_days: RetentionDays = Field(default=365, description="Days the PostgreSQL and upgrade logs are kept (CloudWatch Logs).")
    parameters: PostgresParameters = Field(default_factory=PostgresParameters, description="PostgreSQL settings of the parameter group.")

    _instance_class = field_validator("instance_class")(_refuse_burstable)

    @field_validator("backup_window")
    @classmethod
    def _backup_length(cls, value: str) -> str:
        _window_problems("the RDS backup window", value, 30, windows.daily_length(value))
        return value

    @field_validator("maintenance_window")
    @classmethod
    def _maintenance_fits(cls, value: str, info: ValidationInfo) -> str:
        _window_problems("the RDS maintenance window", value, 30, windows.weekly_length(value))
        backup = info.data.get("backup_window")
        if backup and windows.overlap(windows.daily_span(backup), windows.weekly_span(value)):
            raise ValueError(f"{value} overlaps backup_window {backup} ({windows.WINDOW_TIME_ZONE}); RDS refuses overlapping windows")
        return value

    @property
    def backup_window_utc(self) -> str:
        return windows.daily_utc(self.backup_window)

    @property
    def maintenance_window_utc(self) -> str:
        return windows.weekly_utc(self.maintenance_window)

    @field_validator("performance_insights_retention_days")
    @classmethod
    def _pi_retention(cls, value: int) -> int:
        if value != 7 and (value % 31 or not 31 <= value <= 731):
            raise ValueError(f"{value} is not a Performance Insights retention (7, or a multiple of 31 up to 731)")
        return value

    @model_validator(mode="after")
    def _storage(self) -> Database:
        if self.allocated_storage_gib > self.max_allocated_storage_gib:
            raise ValueError(
                f"allocated_storage_gib ({self.allocated_storage_gib}) is greater than "
                f"max_allocated_storage_gib ({self.max_allocated_storage_gib})"
            )
        return self


class Cache(Strict):
    engine_version: str = Field(default="7.1", pattern=r"^7\.\d$", description="Redis OSS engine version.")
    node_type: str = Field(
        default="cache.m7g.large",
        pattern=r"^cache\.[a-z0-9]+\.[a-z0-9]+$",
        validate_default=True,
        description="ElastiCache node type; burstable (cache.t*) types are refused in production (docs/data.md, 'Data stack').",
    )
    num_nodes: int = Field(ge=1, le=6, description="Primary plus replicas; 2 or more enables automatic failover and Multi-AZ.")
    snapshot_retention_days: int = Field(default=7, ge=1, le=35, description="Days ElastiCache keeps its daily snapshots.")
    snapshot_window: str = Field(
        default="02:00-03:00",
        pattern=WINDOW,
        description=f"Daily snapshot window in {windows.WINDOW_TIME_ZONE} time (converted to UTC for ElastiCache).",
    )
    maintenance_window: str = Field(
        default="mon:05:00-mon:06:00",
        pattern=WEEKLY_WINDOW,
        validate_default=True,
        description=f"Weekly maintenance window in {windows.WINDOW_TIME_ZONE} time (converted to UTC); at least 60 minutes, "
        "overlapping neither snapshot_window nor the database's maintenance window.",
    )
    log_retention_days: RetentionDays = Field(default=365, description="Days the Redis slow and engine logs are kept (CloudWatch Logs).")
    auth_token_version: int = Field(
        default=1,
        ge=1,
        description="Generation of the Redis AUTH token; raise it by one to rotate the token (docs/data.md, 'Redis AUTH token').",
    )

    _node_type = field_validator("node_type")(_refuse_burstable)

    @field_validator("maintenance_window")
    @classmethod
    def _maintenance_fits(cls, value: str, info: ValidationInfo) -> str:
        _window_problems("the ElastiCache maintenance window", value, 60, windows.weekly_length(value))
        snapshot = info.data.get("snapshot_window")
        if snapshot and windows.overlap(windows.daily_span(snapshot), windows.weekly_span(value)):
            raise ValueError(f"{value} overlaps snapshot_window {snapshot} ({windows.WINDOW_TIME_ZONE})")
        return value

    @property
    def snapshot_window_utc(self) -> str:
        return windows.daily_utc(self.snapshot_window)

    @property
    def maintenance_window_utc(self) -> str:
        return windows.weekly_utc(self.maintenance_window)


class Image(Strict):
    repository: str = Field(pattern=r"^[a-z0-9.-]+(:\d+)?(/[a-z0-9._-]+)+$", description="Image repository without a tag.")
    tag: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", description="Pinned image tag (never `latest`).")

    @field_validator("tag")
    @classmethod
    def _pinned(cls, value: str) -> str:
        if value == "latest":
            raise ValueError("'latest' is not a pinned tag; use a release or commit tag")
        return value

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.tag}"


class Resources(Strict):
    cpu_request: str = Field(description="CPU request, e.g. 250m.")
    memory_request: str = Field(description="Memory request, e.g. 256Mi.")
    cpu_limit: str = Field(description="CPU limit, at least the request; the container is throttled above it.")
    memory_limit: str = Field(description="Memory limit, at least the request; the container is killed above it.")

    @model_validator(mode="after")
    def _requests_within_limits(self) -> Resources:
        for field, parse in (("cpu", parse_cpu), ("memory", parse_memory)):
            request, limit = getattr(self, f"{field}_request"), getattr(self, f"{field}_limit")
            if parse(request) > parse(limit):
                raise ValueError(f"{field}_request ({request}) is greater than {field}_limit ({limit})")
        return self


class Autoscaling(Strict):
    min_replicas: int = Field(ge=1, le=100, description="Fewest replicas the HorizontalPodAutoscaler keeps.")
    max_replicas: int = Field(ge=1, le=100, description="Most replicas the HorizontalPodAutoscaler may run.")
    cpu_utilization: int = Field(default=70, ge=10, le=100, description="Target average CPU utilization, percent of requests.")
    memory_utilization: int | None = Field(
        default=80, ge=10, le=100, description="Target average memory utilization; null to scale on CPU only."
    )

    @model_validator(mode="after")
    def _bounds(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas ({self.min_replicas}) is greater than max_replicas ({self.max_replicas})")
        return self


ENV_VAR_NAME = r"^[A-Z_][A-Z0-9_]*$"


class Workload(Strict):
    image: Image = Field(description="Container image of the component.")
    resources: Resources = Field(description="Requests and limits of the component's container.")
    autoscaling: Autoscaling = Field(description="HorizontalPodAutoscaler bounds and targets.")
    settings: dict[str, str] = Field(
        default_factory=dict,
        description="Extra non-secret environment variables for the workload's ConfigMap (NAME: value); secrets belong in "
        "Secrets Manager and reach pods through External Secrets.",
    )

    @field_validator("settings")
    @classmethod
    def _plain_settings(cls, value: dict[str, str]) -> dict[str, str]:
        for name, setting in value.items():
            if not re.fullmatch(ENV_VAR_NAME, name):
                raise ValueError(f"{name!r} is not an environment variable name (upper case, digits, underscores)")
            password_in_url = re.search(r"://[^/@:]+:[^/@]+@", setting)
            secret_like = re.search(r"PASSWORD|SECRET|TOKEN|API_KEY|PRIVATE_KEY", name) and re.fullmatch(r"\S{16,}", setting)
            if password_in_url or secret_like:
                raise ValueError(f"{name} looks like a credential; store it in Secrets Manager, not in the spec")
        return dict(sorted(value.items()))


# Every workload's PodDisruptionBudget lets a drain evict this many of its pods at a time.
DRAIN_MAX_UNAVAILABLE = 1


class Workloads(Strict):
    backend: Workload = Field(description="The API (Deployment `ai-subsidy-backend`).")
    frontend: Workload = Field(description="The web front end (Deployment `ai-subsidy-frontend`).")
    ai_worker: Workload = Field(description="The AI engine (Deployment `ai-worker`).")
    serve_through_drains: bool = Field(
        default=False,
        description="Every workload keeps a pod running while a node drains: `min_replicas` must exceed what the "
        "PodDisruptionBudget lets a drain evict at once (1), so at least 2.",
    )
    zone_spread: Literal["required", "preferred"] = Field(
        default="preferred",
        description="Spread replicas over availability zones as a hard rule (`required`: a replica stays pending rather "
        "than crowd one zone) or best effort (`preferred`). Zones whose nodes are tainted (unreachable) do not count.",
    )
    migration_deadline_seconds: int = Field(
        default=900, ge=60, le=3600, description="Longest the database migration Job may run; past it the Job and the sync fail."
    )

    @model_validator(mode="after")
    def _replicas_outlast_a_drain(self) -> Workloads:
        if self.serve_through_drains:
            for key in ("backend", "frontend", "ai_worker"):
                floor = getattr(self, key).autoscaling.min_replicas
                if floor <= DRAIN_MAX_UNAVAILABLE:
                    raise ValueError(
                        f"{key}.autoscaling.min_replicas is {floor}: a drain may evict {DRAIN_MAX_UNAVAILABLE} pod at a time, "
                        f"so serve_through_drains needs at least {DRAIN_MAX_UNAVAILABLE + 1}"
                    )
        return self


def duration_seconds(value: str) -> int:
    """Seconds in a GO_DURATION string."""
    units = {"h": 3600, "m": 60, "s": 1}
    return sum(int(number) * units[unit] for number, unit in re.findall(r"(\d+)([hms])", value))


def _check_refresh_interval(value: str) -> str:
    if not 60 <= duration_seconds(value) <= 86400:
        raise ValueError(f"{value} is outside 1m..24h (0 would stop refreshing; less than a minute floods Secrets Manager)")
    return value


RefreshInterval = Annotated[str, Field(pattern=GO_DURATION), AfterValidator(_check_refresh_interval)]


class SecretSync(Strict):
    """How External Secrets keeps the application's Kubernetes Secrets in step with Secrets Manager."""

    refresh_interval: RefreshInterval = Field(
        default="1h", description="How often the application secrets are re-read (Go duration between 1m and 24h, e.g. 1h)."
    )
    database_refresh_interval: RefreshInterval = Field(
        default="5m",
        description="How often the database Secrets are re-read; short, so pods pick up a rotated login well within the "
        "rotation period during which the previous password still works (alternating users).",
    )


HOST_NAME = r"^([a-z0-9-]+\.)+[a-z]{2,}$"


class Dns(Strict):
    frontend_host: str = Field(pattern=HOST_NAME, description="Public host name of the web application.")
    api_host: str = Field(pattern=HOST_NAME, description="Public host name that also serves /api.")
    zone_name: str = Field(
        pattern=HOST_NAME,
        description="Route 53 public hosted zone the edge stack creates for this environment (a subdomain delegated from the "
        "parent zone, docs/edge-and-security.md 'DNS delegation'); both hosts must be inside it. The ACM certificate for "
        "the hosts is validated by records in this zone, so no certificate ARN is entered anywhere.",
    )
    external_dns_policy: Literal["sync", "upsert-only"] = Field(
        description="ExternalDNS policy: `sync` also deletes records of removed Ingress hosts; `upsert-only` never deletes (production)."
    )

    @field_validator("zone_name")
    @classmethod
    def _hosts_in_zone(cls, zone_name: str, info: ValidationInfo) -> str:
        # On zone_name (validated after both hosts), so the error names the field and its line.
        for field in ("frontend_host", "api_host"):
            host = info.data.get(field)
            if host is not None and host != zone_name and not host.endswith(f".{zone_name}"):
                raise ValueError(f"{field} {host} is not inside zone_name {zone_name} (ExternalDNS and ACM validation write there)")
        return zone_name


# AWS WAF: a rate-based rule's limit per 5-minute evaluation window (AWS WAF developer guide, "Rate-based rule statement").
WAF_RATE_LIMIT_RANGE = (10, 2_000_000_000)


class Waf(Strict):
    """The regional web ACL in front of the public load balancer (`<env>-edge`)."""

    rate_limit_per_5m: int = Field(
        ge=WAF_RATE_LIMIT_RANGE[0],
        le=WAF_RATE_LIMIT_RANGE[1],
        description="Requests one client IP may send in any 5 minutes before WAF blocks it (AWS WAF accepts 10 to 2e9).",
    )
    api_rate_limit_per_5m: int = Field(
        ge=WAF_RATE_LIMIT_RANGE[0],
        le=WAF_RATE_LIMIT_RANGE[1],
        description="Requests to /api one client IP may send in any 5 minutes (at most rate_limit_per_5m).",
    )
    max_upload_mib: int = Field(
        ge=1,
        le=1024,
        description="Largest document upload the application accepts, in MiB; requests declaring a larger Content-Length are "
        "blocked (WAF sees only 8 KB of a body on an ALB, so the ceiling is checked on the header; 1024 guards against a "
        "value in bytes or KiB).",
    )
    upload_path_prefixes: tuple[Annotated[str, Field(pattern=r"^/api/[A-Za-z0-9/_-]+$")], ...] = Field(
        min_length=1,
        description="Paths that accept document uploads (multipart bodies over the 8 KB WAF inspects on an ALB); the common rule "
        "set's body-size rule does not block them.",
    )
    count_only: bool = Field(
        default=False,
        description="Count instead of block for every rule (trying new rules in development); never for production.",
    )

    @model_validator(mode="after")
    def _api_within_overall(self) -> Waf:
        if self.api_rate_limit_per_5m > self.rate_limit_per_5m:
            raise ValueError(
                f"api_rate_limit_per_5m ({self.api_rate_limit_per_5m}) is greater than rate_limit_per_5m ({self.rate_limit_per_5m})"
            )
        return self


class Edge(Strict):
    waf: Waf = Field(description="Rules and limits of the web ACL.")
    access_log_retention_days: int = Field(ge=1, le=3650, description="Days the ALB access logs are kept in their bucket.")
    waf_log_retention_days: RetentionDays = Field(default=365, description="Days the WAF's request logs are kept (CloudWatch Logs).")
    load_balancer_deletion_protection: bool = Field(
        default=True, description="The ALB refuses deletion (the load balancer controller cannot remove it) until this is turned off."
    )


class Security(Strict):
    """Threat detection, the audit trail and posture checks (`<env>-security`)."""

    trail_retention_days: int = Field(
        ge=1, le=3650, description="Days each CloudTrail log file is kept under S3 Object Lock (and then expires)."
    )
    trail_lock_mode: Literal["GOVERNANCE", "COMPLIANCE"] = Field(
        description="Object Lock mode of the trail bucket: COMPLIANCE (nobody, root included, deletes early) or GOVERNANCE."
    )
    trail_log_retention_days: RetentionDays = Field(
        default=365, description="Days the trail's CloudWatch Logs copy (read by the CIS metric filters) is kept."
    )
    finding_min_severity: float = Field(
        default=4.0, ge=1.0, le=8.9, description="GuardDuty findings at or above this severity page on-call (4.0 is Medium)."
    )
    posture_checks: bool = Field(
        description="Security Hub (FSBP and CIS AWS Foundations standards) and the AWS Config recorder they evaluate."
    )


class AlertReceiver(Strict):
    secret_name: str = Field(pattern=SECRET_NAME, description="Secrets Manager secret that holds the credential (never the credential).")

    @field_validator("secret_name", mode="before")
    @classmethod
    def _is_a_name(cls, value: object) -> object:
        if isinstance(value, str) and ("://" in value or re.fullmatch(r"[A-Za-z0-9+=_-]{32,}", value)):
            raise ValueError("looks like a credential, not a secret name; store the value in Secrets Manager and name it here")
        return value


class SlackReceiver(AlertReceiver):
    channel: str = Field(pattern=r"^#[a-z0-9_-]{1,80}$", description="Slack channel the alerts are posted to.")


class Alerting(Strict):
    slack: SlackReceiver = Field(description="Slack incoming webhook that receives every alert.")
    pagerduty: AlertReceiver = Field(description="PagerDuty Events API v2 routing key that pages on-call (used with page_on_call).")
    heartbeat: AlertReceiver = Field(
        description="Secrets Manager secret holding the URL of the dead man's switch (a heartbeat check outside the cluster, "
        "e.g. a PagerDuty or Healthchecks.io heartbeat) that Alertmanager calls while the always-firing Watchdog alert arrives."
    )
    page_on_call: bool = Field(
        default=False,
        description="Page the on-call engineer through PagerDuty for critical alerts that mean users or data are at risk; "
        "false: every alert goes to Slack only, and no PagerDuty receiver, route or secret is made.",
    )


class Monitoring(Strict):
    """Prometheus and Alertmanager of kube-prometheus-stack: replicas and their EBS volumes (StorageClass `gp3`)."""

    prometheus_replicas: int = Field(
        default=1, ge=1, le=3, description="Prometheus replicas; each scrapes everything and keeps its own copy of the data."
    )
    prometheus_retention_days: int = Field(default=10, ge=1, le=365, description="Days Prometheus keeps samples.")
    prometheus_volume_gib: int = Field(
        default=20,
        ge=5,
        le=1000,
        description="EBS volume per Prometheus replica in GiB; Prometheus also deletes the oldest data before it fills 85% of it.",
    )
    alertmanager_replicas: int = Field(
        default=1, ge=1, le=5, description="Alertmanager replicas; they gossip silences and notification state among themselves."
    )
    alertmanager_volume_gib: int = Field(
        default=1, ge=1, le=100, description="EBS volume per Alertmanager replica in GiB (silences and the notification log)."
    )


class ContainerLogs(Strict):
    """Retention of the log groups the log agent writes to (`/aws/containerinsights/<cluster>/<purpose>`)."""

    application_retention_days: RetentionDays = Field(description="Days every pod's stdout and stderr are kept.")
    dataplane_retention_days: RetentionDays = Field(description="Days the kubelet, containerd, aws-node and kube-proxy logs are kept.")
    host_retention_days: RetentionDays = Field(description="Days the nodes' kernel and system journal (OOM kills) is kept.")

    def retention_days(self, purpose: str) -> int:
        return getattr(self, f"{purpose}_retention_days")


class Alarms(Strict):
    """Thresholds of the CloudWatch alarms of the `<env>-observability` stack (all notify the alarm topic)."""

    rds_cpu_percent: int = Field(default=80, ge=1, le=100, description="RDS CPUUtilization, average over 5 minutes, three in a row.")
    rds_free_storage_gib: int = Field(
        default=10, ge=1, description="RDS FreeStorageSpace floor in GiB (storage autoscaling grows the volume before this)."
    )
    rds_max_connections: int = Field(
        default=300, ge=1, description="RDS DatabaseConnections ceiling, maximum over 5 minutes, three in a row."
    )
    rds_replica_lag_seconds: int = Field(
        default=120,
        ge=1,
        description=(
            "ReplicaLag ceiling of the standby's cross-region read replica (`<env>-dr-data`, alarm to the DR region's topic) "
            "when it holds for longer than an idle primary's 5-minute climb; at least 120 s and at most the RPO. Without a "
            "standby no replica, hence no such alarm (a Multi-AZ standby publishes no ReplicaLag)."
        ),
    )
    cache_cpu_percent: int = Field(
        default=75, ge=1, le=100, description="ElastiCache EngineCPUUtilization (the Redis thread) per node, average over 5 minutes."
    )
    cache_memory_percent: int = Field(
        default=80, ge=1, le=100, description="ElastiCache DatabaseMemoryUsagePercentage (of maxmemory) per node."
    )
    cache_evictions_per_5m: int = Field(default=100, ge=0, description="Keys evicted across the replication group in 5 minutes.")
    cache_replication_lag_seconds: int = Field(
        default=30, ge=1, description="ElastiCache ReplicationLag of a replica node (only with two or more nodes)."
    )
    nat_port_allocation_errors: int = Field(
        default=0, ge=0, description="ErrorPortAllocation count per NAT gateway in 5 minutes above which the alarm fires."
    )
    nat_packet_drop_percent: float = Field(
        default=0.01,
        gt=0,
        le=100,
        description="PacketsDropCount per NAT gateway as a percentage of the packets it handled in 5 minutes (AWS suggests 0.01).",
    )
    certificate_days_to_expiry: int = Field(
        default=30,
        ge=1,
        le=365,
        description="Alarm when the load balancer's ACM certificate (the edge stack's) expires in fewer days (renewal failed).",
    )
    notification_emails: tuple[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")], ...] = Field(
        default=(),
        description=(
            "Addresses subscribed to the alarm topic (each confirms by mail), besides the forwarder to PagerDuty and Slack; "
            "they also hear of notifications the forwarder could not deliver (docs/observability.md, 'Infrastructure alarms')."
        ),
    )


AWS_BACKUP_CRON = r"^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$"


def _check_backup_cron(value: str) -> str:
    if not re.fullmatch(AWS_BACKUP_CRON, value):
        raise ValueError(f"'{value}' is not an AWS Backup schedule; use six cron fields in UTC, e.g. cron(0 * * * ? *) for hourly")
    return value


class Backup(Strict):
    recovery_point_objective_minutes: int = Field(
        default=5, ge=1, description="Most data, in minutes, a restore may lose; alarms on file replication latency use it."
    )
    recovery_time_objective_minutes: int = Field(
        default=30, ge=1, description="Budget, in minutes, for a full restore; `ops dr drill` measures against it."
    )
    cross_region: bool = Field(description="Copy backups and replicate files to the DR region.")
    vault_lock: bool = Field(description="Lock the backup vaults (compliance mode) so recovery points cannot be deleted early.")
    snapshot_retention_days: int = Field(
        default=35, ge=1, le=36500, description="Days AWS Backup keeps a daily recovery point in the primary vault."
    )
    copy_retention_days: int = Field(default=35, ge=1, le=36500, description="Days the DR-region copy of a daily recovery point is kept.")
    snapshot_schedule: Annotated[str, AfterValidator(_check_backup_cron)] | None = Field(
        default="cron(0 * * * ? *)",
        description=(
            "AWS Backup schedule (UTC, six-field cron) of the frequent RDS and files-bucket snapshots, kept "
            "`frequent_snapshot_retention_days` and not copied; hourly is the most S3 allows. null: daily snapshots only."
        ),
    )
    frequent_snapshot_retention_days: int = Field(
        default=2, ge=1, le=35, description="Days the frequent snapshots are kept (bounded: each one is an RDS snapshot)."
    )
    secret_recovery_window_days: int = Field(
        default=30, ge=7, le=30, description="Days a deleted Secrets Manager secret of the environment can still be restored."
    )


class ContinuousIntegration(Strict):
    github_repository: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", description="owner/name of this repository.")
    branch: str = Field(default="main", description="Branch whose pushes may assume the deploy role where deploy_from_branch is set.")
    deploy_from_branch: bool = Field(
        default=False,
        description="Jobs of pushes to `branch` may also assume the deploy role; false: only jobs of `github_environment`, "
        "whose protection rules then gate every deploy.",
    )
    github_environment: str = Field(description="GitHub environment whose jobs may assume the deploy role.")
    plan_environment: str | None = Field(
        default=None,
        description=(
            "GitHub environment (with required reviewers) whose pull-request jobs alone may assume the plan role; "
            "null: any pull-request job of the repository may (the role then reads secrets and state no reviewer approved)."
        ),
    )


class GitOps(Strict):
    automated_sync: bool = Field(
        default=False,
        description=(
            "Argo CD applies every change of the rendered manifests by itself, pruning what was removed and reverting "
            "drift (self-heal); false: changes wait for a person to sync them (production)."
        ),
    )
    highly_available_addons: bool = Field(
        default=False,
        description=(
            "The add-ons the cluster cannot do without (admission webhooks with failurePolicy Fail, the metrics API) "
            "run two replicas on different nodes with a PodDisruptionBudget, so a node drain never stops them."
        ),
    )


# --- Node autoscaling (Karpenter) ---
# A Karpenter budget window: a five-field cron in UTC (Karpenter evaluates `schedule` in UTC) and a Go duration.
KARPENTER_DURATION = r"^(\d+h\d+m|\d+h|\d+m)$"
INSTANCE_SIZE = r"^(\d*x)?(medium|large|xlarge|\d+xlarge|metal)$"


class BusinessHours(Strict):
    """Local working hours during which non-empty nodes are not disrupted voluntarily."""

    timezone_offset_hours: int = Field(default=9, ge=-12, le=14, description="Offset of the local time from UTC (Tokyo: +9, no DST).")
    start_hour: int = Field(default=9, ge=0, le=23, description="Local hour the business day starts.")
    end_hour: int = Field(default=18, ge=1, le=24, description="Local hour the business day ends.")
    weekdays_only: bool = Field(default=True, description="Monday to Friday (local) only; false: every day.")

    @model_validator(mode="after")
    def _order(self) -> BusinessHours:
        if self.end_hour <= self.start_hour:
            raise ValueError(f"end_hour ({self.end_hour}) must be after start_hour ({self.start_hour})")
        return self


class NodeAutoscaling(Strict):
    """Karpenter: the NodePool and EC2NodeClass that provision the application nodes."""

    image_alias: str = Field(
        pattern=r"^al2023@(v\d{8}|latest)$",
        description="EC2NodeClass AMI alias al2023@<release> (the EKS-optimized AL2023 AMI, root device /dev/xvda); "
        "`latest` only outside production.",
    )
    architectures: tuple[Literal["amd64", "arm64"], ...] = Field(
        default=("amd64",), min_length=1, description="CPU architectures the images are built for."
    )
    instance_families: tuple[str, ...] = Field(
        min_length=1, description="EC2 instance families Karpenter may choose from (m6i, m6a, ...), all in the capacity table."
    )
    instance_sizes: tuple[Annotated[str, Field(pattern=INSTANCE_SIZE)], ...] = Field(
        min_length=1, description="Instance sizes Karpenter may choose from (large, xlarge, ...)."
    )
    capacity_types: tuple[Literal["spot", "on-demand"], ...] = Field(
        min_length=1, description="Purchase options; Karpenter prefers spot when both are allowed."
    )
    cpu_limit: int = Field(ge=1, le=10000, description="NodePool `limits.cpu`: vCPUs of all nodes it may run together.")
    memory_limit_gib: int = Field(ge=1, le=100000, description="NodePool `limits.memory` in GiB, of all nodes together.")
    consolidation_policy: Literal["WhenEmptyOrUnderutilized", "WhenEmpty"] = Field(
        default="WhenEmptyOrUnderutilized", description="Which nodes Karpenter may remove or replace to save cost."
    )
    consolidate_after: str = Field(
        default="5m", pattern=KARPENTER_DURATION, description="How long a node must be consolidatable before Karpenter acts."
    )
    expire_after: str = Field(
        default="720h", pattern=KARPENTER_DURATION, description="Age at which a node is replaced (fresh AMI and kernel)."
    )
    disruption_budget_nodes: str = Field(
        default="1",
        pattern=r"^(\d+|\d+%)$",
        description="Most nodes disrupted voluntarily at once (a count or a percentage); one node at a time keeps within the PDBs.",
    )
    business_hours: BusinessHours | None = Field(
        default=None, description="No voluntary disruption of non-empty nodes in these hours (null: none)."
    )
    disk_size_gib: int = Field(default=50, ge=20, le=1000, description="Encrypted gp3 root volume size of each node.")
    pending_alert_minutes: int = Field(
        default=10, ge=2, le=60, description="Alert when a pod stays unschedulable longer than this (a node launch takes about 2)."
    )
    limit_alert_percent: int = Field(
        default=90, ge=50, le=100, description="Alert when a NodePool uses this share of its CPU or memory limit."
    )


class EnvironmentSpec(Strict):
    """One environment, fully resolved (profile defaults applied)."""

    name: str = Field(pattern=ENVIRONMENT_NAME, max_length=20, description="Environment name; equals the file name.")
    profile: Literal["development", "staging", "production"] = Field(description="Class of environment whose defaults apply.")
    aws: AwsTarget = Field(description="The AWS account and regions.")
    network: Network = Field(description="The VPC, its subnets, NAT gateways and flow logs.")
    cluster: Cluster = Field(description="The EKS cluster, its add-ons and managed node groups.")
    database: Database = Field(description="The RDS for PostgreSQL instance.")
    cache: Cache = Field(description="The ElastiCache for Redis replication group.")
    workloads: Workloads = Field(description="The three application components.")
    dns: Dns = Field(description="Public host names and the Route 53 zone.")
    edge: Edge = Field(description="WAF and ALB access logs of the public load balancer.")
    security: Security = Field(description="GuardDuty, CloudTrail, Security Hub and AWS Config.")
    alerting: Alerting = Field(description="Where Alertmanager sends alerts (credentials by Secrets Manager name).")
    alarms: Alarms = Field(default_factory=Alarms, description="Thresholds of the CloudWatch alarms.")
    monitoring: Monitoring = Field(default_factory=Monitoring, description="Prometheus and Alertmanager replicas and storage.")
    slos: ServiceLevels = Field(default_factory=ServiceLevels, description="Service-level objectives and their burn-rate alerts.")
    container_logs: ContainerLogs = Field(description="CloudWatch Logs groups of the pods', the nodes' and the data plane's logs.")
    secret_sync: SecretSync = Field(default_factory=SecretSync, description="How often External Secrets re-reads Secrets Manager.")
    login_rotation: LoginRotation = Field(default_factory=LoginRotation, description="When the database logins are rotated.")
    backup: Backup = Field(description="AWS Backup, recovery objectives and the DR-region copies.")
    ci: ContinuousIntegration = Field(description="The GitHub repository and environments the CI roles trust.")
    gitops: GitOps = Field(default_factory=GitOps, description="How Argo CD delivers the rendered manifests.")
    node_autoscaling: NodeAutoscaling = Field(description="Karpenter's NodePool for the application nodes.")
    cost: CostSettings = Field(description="Monthly budget, cost alerts and the usage the cost estimate assumes (envspec/cost.py).")
    dr: DisasterRecovery = Field(description="The standby in aws.dr_region (envspec/dr.py): backup-restore, pilot-light or warm-standby.")

    @field_validator("cache")
    @classmethod
    def _maintenance_apart(cls, value: Cache, info: ValidationInfo) -> Cache:
        database = info.data.get("database")
        if database is not None and windows.overlap(
            windows.weekly_span(database.maintenance_window), windows.weekly_span(value.maintenance_window)
        ):
            raise ValueError(
                f"maintenance_window {value.maintenance_window} overlaps database.maintenance_window "
                f"{database.maintenance_window}: the cache and the database would be down together"
            )
        return value

    @model_validator(mode="after")
    def _no_burstable_where_refused(self) -> EnvironmentSpec:
        # The loader reports this on the field's own line (validation context); this catches direct construction.
        for label, value in (("database.instance_class", self.database.instance_class), ("cache.node_type", self.cache.node_type)):
            if not allows_burstable(self.profile) and is_burstable(value):
                raise ValueError(f"{label}: {value} is a burstable class, refused in the {self.profile} profile")
        return self

    @property
    def is_production(self) -> bool:
        return self.profile == "production"

    @property
    def availability_zones(self) -> tuple[str, ...]:
        if self.network.availability_zones is not None:
            return self.network.availability_zones
        return DEFAULT_AVAILABILITY_ZONES[self.aws.region][: self.network.az_count]

    @model_validator(mode="after")
    def _waf_blocks_in_production(self) -> EnvironmentSpec:
        if self.is_production and self.edge.waf.count_only:
            raise ValueError("edge.waf.count_only must be false in production (count mode blocks nothing)")
        return self

    @model_validator(mode="after")
    def _zones_in_region(self) -> EnvironmentSpec:
        zones = self.network.availability_zones
        if zones is None and self.aws.region not in DEFAULT_AVAILABILITY_ZONES:
            raise ValueError(f"network.availability_zones must be listed for region {self.aws.region}")
        for zone in zones or ():
            if not zone.startswith(self.aws.region):
                raise ValueError(f"network.availability_zones: {zone} is not in region {self.aws.region}")
        return self
