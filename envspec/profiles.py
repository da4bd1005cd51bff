"""Defaults per class of environment, merged under each environment file's own values.

An environment file names its `profile`; anything it does not set comes from here. Production is
highly available and keeps data longest; development is the cheapest thing that still behaves the same.
"""

from __future__ import annotations

from typing import Any

# EKS add-on versions for Kubernetes 1.35, each seen released for 1.35 clusters (see docs/cluster.md, "Add-on
# versions"). Bump them deliberately, after `aws eks describe-addon-versions --kubernetes-version 1.35
# --addon-name <name>`; kube-proxy must match the cluster's minor version (the spec checks it).
EKS_ADDONS_1_35 = {
    "vpc-cni": "v1.21.1-eksbuild.3",
    "coredns": "v1.13.2-eksbuild.3",
    "kube-proxy": "v1.35.0-eksbuild.2",
    "aws-ebs-csi-driver": "v1.57.1-eksbuild.1",
    "eks-pod-identity-agent": "v1.3.10-eksbuild.3",
}

# EKS-optimized AL2023 AMI release the managed node groups run (awslabs/amazon-eks-ami, AMI Release
# v20260714). Newer releases: `aws ssm get-parameter --name
# /aws/service/eks/optimized-ami/1.35/amazon-linux-2023/x86_64/standard/recommended/release_version`.
EKS_AL2023_RELEASE_1_35 = "1.35.6-20260714"
# EKS-optimized AL2023 AMI release the nodes boot (EC2NodeClass alias al2023@<version>). Bump it deliberately,
# after `aws ssm get-parameters-by-path --path /aws/service/eks/optimized-ami/1.35/amazon-linux-2023/x86_64/standard`
# shows the release for 1.35; dev and staging take it first.
NODE_IMAGE = "al2023@v20260815"
# Routes of the backend assumed to take document uploads (multipart bodies larger than WAF's 8 KB body
# inspection): not yet confirmed by the backend team (docs/security.md, "Upload paths are an assumption").
UPLOADS = ["/api/documents", "/api/applications/attachments"]

_SHARED: dict[str, Any] = {
    "aws": {"region": "ap-northeast-1", "dr_region": "ap-northeast-3"},
    "cluster": {"version": "1.35", "addons": EKS_ADDONS_1_35, "node_ami_release_version": EKS_AL2023_RELEASE_1_35},
    "workloads": {
        "backend": {
            "image": {"repository": "ghcr.io/ai-subsidy/backend"},
            "resources": {"cpu_request": "250m", "memory_request": "256Mi", "cpu_limit": "500m", "memory_limit": "512Mi"},
            "autoscaling": {"min_replicas": 2, "max_replicas": 10, "cpu_utilization": 70, "memory_utilization": 80},
        },
        "frontend": {
            "image": {"repository": "ghcr.io/ai-subsidy/frontend"},
            "resources": {"cpu_request": "100m", "memory_request": "192Mi", "cpu_limit": "500m", "memory_limit": "384Mi"},
            "autoscaling": {"min_replicas": 2, "max_replicas": 6, "cpu_utilization": 70, "memory_utilization": 80},
        },
        "ai_worker": {
            "image": {"repository": "ghcr.io/ai-subsidy/ai-engine"},
            "resources": {"cpu_request": "500m", "memory_request": "512Mi", "cpu_limit": "1", "memory_limit": "1Gi"},
            "autoscaling": {"min_replicas": 1, "max_replicas": 4, "cpu_utilization": 70, "memory_utilization": 80},
        },
    },
}

PROFILES: dict[str, dict[str, Any]] = {
    "development": {
        "ci": {"deploy_from_branch": True},  # a push to main deploys too; production only through its reviewed environment
        "dns": {"external_dns_policy": "sync"},
        "edge": {
            "waf": {"rate_limit_per_5m": 2000, "api_rate_limit_per_5m": 1000, "max_upload_mib": 20, "upload_path_prefixes": UPLOADS},
            "access_log_retention_days": 30,
            "waf_log_retention_days": 30,
            "load_balancer_deletion_protection": False,
        },
        "security": {"trail_retention_days": 90, "trail_lock_mode": "GOVERNANCE", "trail_log_retention_days": 30, "posture_checks": False},
        "network": {"nat_gateways": "single", "flow_log_retention_days": 30},
        "cluster": {
            "log_retention_days": 30,
            "node_groups": {
                "system": {"instance_types": ["m6i.large"], "min_size": 2, "desired_size": 2, "max_size": 3},
            },
        },
        "database": {
            "multi_az": False,
            "deletion_protection": False,
            "final_snapshot": False,
            "log_retention_days": 30,
            "instance_class": "db.t4g.medium",
        },
        "cache": {"num_nodes": 1, "log_retention_days": 30, "node_type": "cache.t4g.small"},
        "workloads": {
            "backend": {"autoscaling": {"min_replicas": 1, "max_replicas": 3}},
            "frontend": {"autoscaling": {"min_replicas": 1, "max_replicas": 2}},
            "ai_worker": {"autoscaling": {"min_replicas": 1, "max_replicas": 2}},
        },
        "backup": {
            "cross_region": False,
            "vault_lock": False,
            "snapshot_retention_days": 7,
            "copy_retention_days": 7,
            "snapshot_schedule": None,  # the daily snapshot only
            "secret_recovery_window_days": 7,
        },
        "gitops": {"automated_sync": True},
        # Weekly: the rotation path runs often where a failure costs nothing, ahead of production's monthly one.
        "login_rotation": {"frequency": "weekly"},
        # Rebuilt rather than recovered: no standby (docs/disaster-recovery.md).
        "dr": {"mode": "backup-restore"},
        "monitoring": {"prometheus_replicas": 1, "prometheus_retention_days": 7, "prometheus_volume_gib": 20, "alertmanager_replicas": 1},
        # Budget: the estimate at the node autoscaler's maximum plus a margin (docs/cost.md).
        "cost": {"monthly_budget_usd": 1500, "usage": {"nat_processed_gib": 30, "endpoint_processed_gib": 20, "waf_requests_millions": 1}},
        "container_logs": {"application_retention_days": 30, "dataplane_retention_days": 30, "host_retention_days": 30},
        "node_autoscaling": {
            "image_alias": NODE_IMAGE,
            "instance_families": ["m6i", "m6a", "m5"],
            "instance_sizes": ["large", "xlarge"],
            "capacity_types": ["spot", "on-demand"],
            "cpu_limit": 8,
            "memory_limit_gib": 32,
        },
    },
    "staging": {
        "ci": {"deploy_from_branch": True},
        "dns": {"external_dns_policy": "sync"},
        "edge": {
            "waf": {"rate_limit_per_5m": 2000, "api_rate_limit_per_5m": 1000, "max_upload_mib": 20, "upload_path_prefixes": UPLOADS},
            "access_log_retention_days": 90,
            "waf_log_retention_days": 90,
            "load_balancer_deletion_protection": False,
        },
        "security": {"trail_retention_days": 365, "trail_lock_mode": "GOVERNANCE", "trail_log_retention_days": 90, "posture_checks": True},
        "network": {"nat_gateways": "single", "flow_log_retention_days": 90},
        "cluster": {
            "log_retention_days": 90,
            "node_groups": {
                "system": {"instance_types": ["m6i.large"], "min_size": 2, "desired_size": 2, "max_size": 3},
            },
        },
        "database": {
            "multi_az": False,
            "deletion_protection": False,
            "final_snapshot": False,
            "log_retention_days": 90,
            "instance_class": "db.t4g.medium",
        },
        "cache": {"num_nodes": 1, "log_retention_days": 90, "node_type": "cache.t4g.small"},
        "backup": {
            "cross_region": True,
            "vault_lock": False,
            "snapshot_retention_days": 14,
            "copy_retention_days": 14,
            "snapshot_schedule": "cron(0 0/6 * * ? *)",  # every 6 hours
            "secret_recovery_window_days": 7,
        },
        "gitops": {"automated_sync": True},
        "login_rotation": {"frequency": "weekly"},
        # Production's standby at smaller size, so region-loss drills here mean something.
        "dr": {
            "mode": "pilot-light",
            "nat_gateways": "single",
            "system_node_count": 2,
            "database_instance_class": "db.t4g.medium",
            "cache_node_type": "cache.t4g.small",
        },
        "monitoring": {"prometheus_replicas": 1, "prometheus_retention_days": 15, "prometheus_volume_gib": 50, "alertmanager_replicas": 2},
        "cost": {"monthly_budget_usd": 3500},
        "container_logs": {"application_retention_days": 90, "dataplane_retention_days": 90, "host_retention_days": 90},
        "node_autoscaling": {
            "image_alias": NODE_IMAGE,
            "instance_families": ["m6i", "m6a", "m5"],
            "instance_sizes": ["large", "xlarge", "2xlarge"],
            "capacity_types": ["spot", "on-demand"],
            "cpu_limit": 24,
            "memory_limit_gib": 96,
        },
    },
    "production": {
        "dns": {"external_dns_policy": "upsert-only"},
        "edge": {
            "waf": {"rate_limit_per_5m": 2000, "api_rate_limit_per_5m": 1000, "max_upload_mib": 20, "upload_path_prefixes": UPLOADS},
            "access_log_retention_days": 365,
        },
        "security": {
            "trail_retention_days": 2557,  # seven years
            "trail_lock_mode": "COMPLIANCE",
            "trail_log_retention_days": 365,
            "posture_checks": True,
        },
        "network": {"nat_gateways": "per_az", "flow_log_retention_days": 365},
        "cluster": {
            "log_retention_days": 365,
            "api_access_host": True,  # the API endpoint is private only
            "node_groups": {
                "system": {"instance_types": ["m6i.large"], "min_size": 3, "desired_size": 3, "max_size": 4},
            },
        },
        # Sized in docs/data.md, "Data stack" (sizing): non-burstable Graviton classes.
        "database": {"multi_az": True, "deletion_protection": True, "log_retention_days": 365, "instance_class": "db.m7g.large"},
        "cache": {"num_nodes": 3, "log_retention_days": 365, "node_type": "cache.m7g.large"},
        # A drain must leave every component serving: two replicas at least (the AI worker's shared default is 1).
        "workloads": {"zone_spread": "required", "serve_through_drains": True, "ai_worker": {"autoscaling": {"min_replicas": 2}}},
        "backup": {
            "cross_region": True,
            "vault_lock": True,
            "snapshot_retention_days": 35,
            "copy_retention_days": 35,
            "snapshot_schedule": "cron(0 * * * ? *)",  # hourly
        },
        # Production changes reach the cluster only when a person syncs them in Argo CD.
        "gitops": {"automated_sync": False, "highly_available_addons": True},
        "login_rotation": {"frequency": "monthly"},
        # A standby that meets the 30-minute region-loss RTO; the replica has the primary's class (it must keep up).
        "dr": {
            "mode": "pilot-light",
            "nat_gateways": "per_az",
            "system_node_count": 3,
            "database_instance_class": "db.m7g.large",
            "cache_node_type": "cache.m7g.large",
            "health_check_interval_seconds": 10,
        },
        # Two Prometheus and three Alertmanager replicas in different zones: a drain or a lost zone keeps monitoring up.
        "monitoring": {
            "prometheus_replicas": 2,
            "prometheus_retention_days": 30,
            "prometheus_volume_gib": 100,
            "alertmanager_replicas": 3,
        },
        "cost": {
            "monthly_budget_usd": 6500,
            "anomaly_threshold_usd": 100,
            "usage": {
                "nat_processed_gib": 300,
                "endpoint_processed_gib": 200,
                "bucket_storage_gib": {"files": 200, "files-dr": 200, "backups": 100, "cloudtrail": 20},
                "replicated_gib": 20,
                "database_changed_gib_per_day": 2,
                "backup_vault_gib": 100,
                "waf_requests_millions": 20,
                "guardduty_events_millions": 2,
                "guardduty_flow_dns_gib": 30,
                "config_items": 5000,
                "security_hub_checks": 20000,
                "logs": {"cluster": 40, "flow_logs": 30, "waf": 15},
            },
        },
        "container_logs": {"application_retention_days": 365, "dataplane_retention_days": 365, "host_retention_days": 365},
        # Only production pages; development and staging alerts go to Slack.
        "alerting": {"page_on_call": True},
        # On-demand only: a spot reclaim of a user-facing replica is an outage risk production does not take.
        # No voluntary disruption of non-empty nodes in the Tokyo business day; empty nodes still go.
        "node_autoscaling": {
            "image_alias": NODE_IMAGE,
            "instance_families": ["m6i", "m6a"],
            "instance_sizes": ["xlarge", "2xlarge"],
            "capacity_types": ["on-demand"],
            "cpu_limit": 48,
            "memory_limit_gib": 192,
            "consolidate_after": "30m",
            "business_hours": {"timezone_offset_hours": 9, "start_hour": 9, "end_hour": 18, "weekdays_only": True},
        },
    },
}


# Profiles that may run burstable (T) RDS and ElastiCache classes. AWS positions them for development
# and test: once CPU credits run out the instance is throttled to its baseline (db.t3.medium: 20%).
BURSTABLE_ALLOWED = {"development": True, "staging": True, "production": False}


def allows_burstable(profile: str) -> bool:
    return BURSTABLE_ALLOWED.get(profile, False)


def is_burstable(instance_class: str) -> bool:
    """`db.t4g.medium`, `cache.t3.micro`: the family (second part) starts with `t`."""
    parts = instance_class.split(".")
    return len(parts) == 3 and parts[1].startswith("t")


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` wins; nested mappings merge, everything else (lists included) is replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _named_defaults(name: str, profile: str) -> dict[str, Any]:
    """Defaults that follow from the environment's name."""
    return {
        "alerting": {
            "slack": {"secret_name": f"ai-subsidy/{name}/alerting/slack-webhook", "channel": "#ai-subsidy-alerts"},
            "pagerduty": {"secret_name": f"ai-subsidy/{name}/alerting/pagerduty-routing-key"},
            "heartbeat": {"secret_name": f"ai-subsidy/{name}/alerting/heartbeat-url"},
        },
        "ci": {
            "github_environment": "production" if profile == "production" else name,
            # Production plans read production secrets and state: only after a reviewer's approval.
            "plan_environment": f"{name}-plan" if profile == "production" else None,
        },
    }


def defaults_for(name: str, profile: str) -> dict[str, Any]:
    return deep_merge(deep_merge(_SHARED, PROFILES[profile]), _named_defaults(name, profile))
