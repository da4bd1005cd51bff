"""The environment's disaster-recovery side in `aws.dr_region`: how much of it runs before a region loss.

`backup-restore` keeps only copies (replicated backups, the files replica, secret replicas) and builds the
rest after a loss, in hours. `pilot-light` keeps a VPC, an EKS cluster with its system nodes and add-ons, a
cross-region read replica of the database and an empty cache running, with the application at zero replicas
until failover (docs/disaster-recovery.md, "Region loss"). `warm-standby` is the same with the application at
its minimum replicas. The stacks `<env>-dr-network`, `<env>-dr-cluster`, `<env>-dr-data`, `<env>-dr-edge`
exist only outside `backup-restore`.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from envspec.profiles import allows_burstable, is_burstable
from envspec.replica_lag import MIN_THRESHOLD_SECONDS

if TYPE_CHECKING:
    from envspec.models import EnvironmentSpec

DrMode = Literal["backup-restore", "pilot-light", "warm-standby"]
# Route 53 health checkers probe every 10 or 30 seconds (Route 53 developer guide, "Values that you specify
# when you create or update health checks": RequestInterval 10 (fast) or 30 (standard)).
HealthCheckInterval = Literal[10, 30]


class DisasterRecovery(BaseModel):
    """The standby in `aws.dr_region` (see the module docstring for the modes)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)

    mode: DrMode = Field(
        description="backup-restore: copies only, rebuilt after a region loss (hours); pilot-light: network, cluster "
        "(system nodes), database replica and empty cache running, application at zero replicas; warm-standby: the "
        "application also runs at its minimum replicas."
    )
    vpc_cidr: ipaddress.IPv4Network | None = Field(
        default=None,
        description="CIDR of the DR VPC (between /16 and /20, private); required unless mode is backup-restore. It must "
        "overlap no environment's primary or DR VPC (the loader checks every pair).",
    )
    nat_gateways: Literal["single", "per_az"] = Field(
        default="single", description="NAT gateways of the DR VPC: one shared, or one per availability zone (as the primary)."
    )
    system_node_count: int = Field(
        default=2,
        ge=1,
        le=20,
        description="System nodes the standby cluster runs (the node group's minimum and desired size); its maximum is the "
        "primary's system maximum. The application's nodes come from Karpenter on failover.",
    )
    database_instance_class: str = Field(
        default="db.m7g.large",
        pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$",
        validate_default=True,
        description="Instance class of the cross-region read replica (`<prefix>-dr`); it must keep up with the primary's "
        "write rate and serves the application after promotion. Burstable classes only where the profile allows them.",
    )
    cache_node_type: str = Field(
        default="cache.m7g.large",
        pattern=r"^cache\.[a-z0-9]+\.[a-z0-9]+$",
        validate_default=True,
        description="Node type of the standby's empty Redis (rebuilt empty on failover, docs/disaster-recovery.md, 'Redis "
        "on a region loss').",
    )
    cache_num_nodes: int = Field(
        default=1, ge=1, le=6, description="Nodes of the standby's Redis at idle (replicas are added after a failover)."
    )
    health_check_interval_seconds: HealthCheckInterval = Field(
        default=30, description="Seconds between the Route 53 health checkers' requests to the primary's `/api/health`."
    )
    health_check_failure_threshold: int = Field(
        default=3,
        ge=1,
        le=10,
        description="Consecutive failed checks before Route 53 considers the primary unhealthy and answers with the DR "
        "records (failover after about interval times threshold seconds).",
    )

    @field_validator("vpc_cidr", mode="before")
    @classmethod
    def _parse_vpc(cls, value: object) -> object:
        if value is None:
            return None
        try:
            return ipaddress.IPv4Network(str(value), strict=True)
        except ValueError as error:
            raise ValueError(f"'{value}' is not a valid IPv4 CIDR block ({error})") from None

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_size(cls, value: ipaddress.IPv4Network | None) -> ipaddress.IPv4Network | None:
        if value is not None and not 16 <= value.prefixlen <= 20:
            raise ValueError(f"{value} must be between /16 and /20 (EKS pods take VPC addresses)")
        if value is not None and not value.is_private:
            raise ValueError(f"{value} is not a private (RFC 1918) range")
        return value

    @field_validator("database_instance_class", "cache_node_type")
    @classmethod
    def _burstable(cls, value: str, info: ValidationInfo) -> str:
        profile = (info.context or {}).get("profile")
        if profile is not None and not allows_burstable(profile) and is_burstable(value):
            raise ValueError(f"{value} is a burstable class; the {profile} profile needs a non-burstable one (it serves after failover)")
        return value

    @model_validator(mode="after")
    def _standby_needs_a_network(self) -> DisasterRecovery:
        if self.mode != "backup-restore" and self.vpc_cidr is None:
            raise ValueError(f"vpc_cidr is required for mode {self.mode} (the standby's VPC)")
        return self

    @property
    def has_standby(self) -> bool:
        """Whether the DR stacks and the standby cluster's manifests exist."""
        return self.mode != "backup-restore"

    @property
    def application_runs_idle(self) -> bool:
        """warm-standby runs the application at its minimum replicas; pilot-light at zero until failover."""
        return self.mode == "warm-standby"

    @property
    def failover_detection_seconds(self) -> int:
        """Time Route 53 takes to see the primary unhealthy (interval times threshold)."""
        return self.health_check_interval_seconds * self.health_check_failure_threshold


# AWS General Reference, "Amazon EKS endpoints and quotas": "Public endpoint access CIDR ranges per
# cluster", 40, not adjustable.
PUBLIC_ACCESS_CIDRS_PER_CLUSTER = 40


def dr_problems(spec: EnvironmentSpec) -> list[tuple[tuple[str, ...], str]]:
    """What the loader refuses about `dr` once the spec parsed (reported on the field's line)."""
    problems: list[tuple[tuple[str, ...], str]] = []
    if spec.dr.has_standby and not spec.backup.cross_region:
        reason = f"{spec.dr.mode} needs backup.cross_region: true (the standby reads the files replica and the secret replicas)"
        problems.append((("dr", "mode"), reason))
    rpo_seconds = spec.backup.recovery_point_objective_minutes * 60
    if spec.dr.has_standby and spec.alarms.rds_replica_lag_seconds > rpo_seconds:
        reason = (
            f"{spec.alarms.rds_replica_lag_seconds} s is above the RPO ({rpo_seconds} s): the standby's replica could lag past "
            "what a region loss may lose before anyone is told"
        )
        problems.append((("alarms", "rds_replica_lag_seconds"), reason))
    if spec.dr.has_standby and spec.alarms.rds_replica_lag_seconds < MIN_THRESHOLD_SECONDS:
        reason = (
            f"{spec.alarms.rds_replica_lag_seconds} s is below {MIN_THRESHOLD_SECONDS} s (two ReplicaLag periods): an idle primary's "
            "replica would breach it right after each reset (envspec/replica_lag.py)"
        )
        problems.append((("alarms", "rds_replica_lag_seconds"), reason))
    nat_addresses = spec.network.nat_gateway_count
    admitted = len(spec.cluster.public_access_cidrs) + nat_addresses
    if spec.dr.has_standby and admitted > PUBLIC_ACCESS_CIDRS_PER_CLUSTER:
        reason = (
            f"the standby's API admits these {len(spec.cluster.public_access_cidrs)} ranges and the primary's {nat_addresses} "
            f"NAT address(es), {admitted} in all; EKS takes at most {PUBLIC_ACCESS_CIDRS_PER_CLUSTER} (not adjustable)"
        )
        problems.append((("cluster", "public_access_cidrs"), reason))
    if spec.dr.vpc_cidr is not None and spec.dr.vpc_cidr.overlaps(spec.network.vpc_cidr):
        problems.append((("dr", "vpc_cidr"), f"{spec.dr.vpc_cidr} overlaps {spec.network.vpc_cidr}, the primary VPC (network.vpc_cidr)"))
    return problems
