"""Defaults per class of environment, merged under each environment file's own values.

An environment file names its `profile`; anything it does not set comes from here. Production is
highly available and keeps data longest; development is the cheapest thing that still behaves the same.
"""

from __future__ import annotations

from typing import Any

# EKS add-on versions for Kubernetes 1.35, each seen released for 1.35 clusters (see README, "Cluster
# stack"). Bump them deliberately, after `aws eks describe-addon-versions --kubernetes-version 1.35
# --addon-name <name>`; kube-proxy must match the cluster's minor version (the spec checks it).
EKS_ADDONS_1_35 = {
    "vpc-cni": "v1.21.1-eksbuild.3",
    "coredns": "v1.13.2-eksbuild.3",
    "kube-proxy": "v1.35.0-eksbuild.2",
    "aws-ebs-csi-driver": "v1.57.1-eksbuild.1",
    "eks-pod-identity-agent": "v1.3.10-eksbuild.3",
}

# Routes of the backend that take document uploads (multipart bodies larger than WAF's 8 KB body inspection).
UPLOADS = ["/api/documents", "/api/applications/attachments"]

_SHARED: dict[str, Any] = {
    "aws": {"region": "ap-northeast-1", "dr_region": "ap-northeast-3"},
    "cluster": {"version": "1.35", "addons": EKS_ADDONS_1_35},
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
        "dns": {"external_dns_policy": "sync"},
        "edge": {
            "waf": {"rate_limit_per_5m": 2000, "api_rate_limit_per_5m": 1000, "max_upload_mib": 20, "upload_path_prefixes": UPLOADS},
            "access_log_retention_days": 30,
            "waf_log_retention_days": 30,
        },
        "security": {"trail_retention_days": 90, "trail_lock_mode": "GOVERNANCE", "trail_log_retention_days": 30, "posture_checks": False},
        "network": {"nat_gateways": "single", "flow_log_retention_days": 30},
        "cluster": {
            "log_retention_days": 30,
            "node_groups": {
                "system": {"instance_types": ["m6i.large"], "min_size": 2, "desired_size": 2, "max_size": 3},
                "application": {
                    "instance_types": ["m6i.large", "m6a.large", "m5.large"],
                    "capacity_type": "SPOT",
                    "min_size": 1,
                    "desired_size": 2,
                    "max_size": 4,
                },
            },
        },
        "database": {"multi_az": False, "deletion_protection": False, "log_retention_days": 30},
        "cache": {"num_nodes": 1, "log_retention_days": 30},
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
        },
        "gitops": {"automated_sync": True},
    },
    "staging": {
        "dns": {"external_dns_policy": "sync"},
        "edge": {
            "waf": {"rate_limit_per_5m": 2000, "api_rate_limit_per_5m": 1000, "max_upload_mib": 20, "upload_path_prefixes": UPLOADS},
            "access_log_retention_days": 90,
            "waf_log_retention_days": 90,
        },
        "security": {"trail_retention_days": 365, "trail_lock_mode": "GOVERNANCE", "trail_log_retention_days": 90, "posture_checks": True},
        "network": {"nat_gateways": "single", "flow_log_retention_days": 90},
        "cluster": {
            "log_retention_days": 90,
            "node_groups": {
                "system": {"instance_types": ["m6i.large"], "min_size": 2, "desired_size": 2, "max_size": 3},
                "application": {
                    "instance_types": ["m6i.xlarge", "m6a.xlarge", "m5.xlarge"],
                    "capacity_type": "SPOT",
                    "min_size": 2,
                    "desired_size": 2,
                    "max_size": 6,
                },
            },
        },
        "database": {"multi_az": False, "deletion_protection": False, "log_retention_days": 90},
        "cache": {"num_nodes": 1, "log_retention_days": 90},
        "backup": {
            "cross_region": True,
            "vault_lock": False,
            "snapshot_retention_days": 14,
            "copy_retention_days": 14,
            "snapshot_schedule": "cron(0 0/6 * * ? *)",  # every 6 hours
        },
        "gitops": {"automated_sync": True},
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
            "node_groups": {
                "system": {"instance_types": ["m6i.large"], "min_size": 3, "desired_size": 3, "max_size": 4},
                "application": {
                    "instance_types": ["m6i.xlarge"],
                    "capacity_type": "ON_DEMAND",
                    "min_size": 3,
                    "desired_size": 3,
                    "max_size": 12,
                },
            },
        },
        "database": {"multi_az": True, "deletion_protection": True, "log_retention_days": 365},
        "cache": {"num_nodes": 3, "log_retention_days": 365},
        "workloads": {"zone_spread": "required"},
        "backup": {
            "cross_region": True,
            "vault_lock": True,
            "snapshot_retention_days": 35,
            "copy_retention_days": 35,
            "snapshot_schedule": "cron(0 * * * ? *)",  # hourly
        },
        # Production changes reach the cluster only when a person syncs them in Argo CD.
        "gitops": {"automated_sync": False},
    },
}


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
        },
        "ci": {"github_environment": "production" if profile == "production" else name},
    }


def defaults_for(name: str, profile: str) -> dict[str, Any]:
    return deep_merge(deep_merge(_SHARED, PROFILES[profile]), _named_defaults(name, profile))
