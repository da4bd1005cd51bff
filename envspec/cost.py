"""What an environment may cost, and the usage the cost estimate assumes.

The estimate (`python -m tools.cost`) prices what the synthesized Terraform provisions; what it cannot
read from the output (gigabytes of logs, NAT traffic, stored objects, WAF requests) comes from these
assumptions, so every figure in the estimate is traceable to a field here or to a resource. The
budget and the anomaly alert (observability stack) read the same model, and so does the weekly cost
report (`python -m ops cost report`). Per-profile values are in `envspec.profiles`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class LogIngest(_Strict):
    """GiB ingested per month into one log group of each kind (the log group name tells the kind)."""

    cluster: float = Field(default=20.0, ge=0, description="EKS control-plane logs (/aws/eks/...), audit logs included.")
    flow_logs: float = Field(default=10.0, ge=0, description="VPC flow logs (/aws/vpc/...).")
    database: float = Field(default=2.0, ge=0, description="Each RDS log export (/aws/rds/...).")
    cache: float = Field(default=0.5, ge=0, description="Each ElastiCache log delivery (/aws/elasticache/...).")
    waf: float = Field(default=5.0, ge=0, description="WAF logs (aws-waf-logs-...).")
    trail: float = Field(default=2.0, ge=0, description="CloudTrail events delivered to CloudWatch Logs (/aws/cloudtrail/...).")
    other: float = Field(default=0.5, ge=0, description="Any other log group (Lambda functions, ...).")


class CostUsage(_Strict):
    """Monthly usage the estimate assumes where the synthesized output cannot say."""

    nat_processed_gib: float = Field(
        default=100.0, ge=0, description="GiB a month through all NAT gateways together (image pulls, external APIs), split evenly."
    )
    endpoint_processed_gib: float = Field(
        default=50.0, ge=0, description="GiB a month through all interface VPC endpoints together (ECR, logs, STS, ...), split evenly."
    )
    logs: LogIngest = Field(default_factory=LogIngest, description="GiB a month ingested per log group, by kind.")
    bucket_storage_gib: dict[str, float] = Field(
        default_factory=lambda: {"files": 50.0, "files-dr": 50.0, "backups": 20.0},
        description="Stored GiB per S3 bucket, keyed by the bucket's purpose (its name without the environment prefix and "
        "account suffix, e.g. files, backups, files-dr); others take default_bucket_storage_gib.",
    )
    default_bucket_storage_gib: float = Field(default=2.0, ge=0, description="Stored GiB of a bucket not in bucket_storage_gib.")
    replicated_gib: float = Field(default=5.0, ge=0, description="GiB a month S3 replication copies to the DR region (new objects).")
    database_changed_gib_per_day: float = Field(
        default=1.0,
        ge=0,
        description="GiB of database change a day: automated backups beyond the free allowance (one copy of the provisioned "
        "storage) grow by this per retained day.",
    )
    backup_vault_gib: float = Field(default=20.0, ge=0, description="GiB of recovery points held in each AWS Backup vault.")
    alb_lcus: float = Field(
        default=1.0, ge=0, description="Average load balancer capacity units of the public ALB (new connections, bytes, rule evaluations)."
    )
    waf_requests_millions: float = Field(default=5.0, ge=0, description="Millions of requests a month the web ACL inspects.")
    guardduty_events_millions: float = Field(
        default=1.0, ge=0, description="Millions of CloudTrail management events GuardDuty analyses a month."
    )
    guardduty_flow_dns_gib: float = Field(default=10.0, ge=0, description="GiB of VPC flow and DNS logs GuardDuty analyses a month.")
    config_items: int = Field(default=3000, ge=0, description="AWS Config configuration items recorded a month.")
    security_hub_checks: int = Field(default=10000, ge=0, description="Security Hub security checks a month.")


class CostSettings(_Strict):
    """The monthly budget, its alerts, and the usage the estimate assumes."""

    monthly_budget_usd: int = Field(ge=1, le=1_000_000, description="AWS Budgets monthly cost budget of the environment's account, in USD.")
    forecast_alert_percent: int = Field(
        default=80,
        ge=1,
        le=1000,
        description="Notify the notice topic (Slack, a warning) when the month's forecast passes this share of the budget.",
    )
    actual_alert_percent: int = Field(
        default=100,
        ge=1,
        le=1000,
        description="Notify the alarm topic (pages) when the month's actual cost passes this share of the budget.",
    )
    anomaly_threshold_usd: int = Field(
        default=50,
        ge=1,
        le=100_000,
        description="Cost Anomaly Detection notifies the notice topic (Slack) when an anomaly's total impact reaches this many USD.",
    )
    activate_allocation_tag: bool = Field(
        default=False,
        description="Activate the Environment tag key as a cost allocation tag from this account (observability stack), "
        "which Cost Explorer needs before it groups by the tag (ops cost report). Off by default: only a standalone "
        "account or an organization's management account may activate (a member account is refused, and the "
        "management account activates for it), and no account may before the tag is in its billing data, so the "
        "first apply would fail. Set true in a standalone account a day after its first apply (docs/cost.md).",
    )
    usage: CostUsage = Field(default_factory=CostUsage, description="Usage assumptions of the cost estimate.")
