"""Shapes the spec allows that no checked-in environment has, synthesized from the spec factory
(tests/spec_factory.py): two zones, one NAT gateway in production, no DR copy, a public API range,
and the longest environment name the spec accepts, with every AWS name it produces within the
limit the AWS API enforces.

The spec has no notion of a preview environment (an environment file with a name of its own and
the development profile is one; tests/test_synth_cli.py adds such a file), so there is no preview
variant here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from envspec import EnvironmentSpec, SpecError, names_for
from envspec.naming import DR_LAYERS, LAYERS
from tests.conftest import VariantSynthesis, resources_of
from tests.spec_factory import Variant, variant

MAX_NAME = next(meta.max_length for meta in EnvironmentSpec.model_fields["name"].metadata if hasattr(meta, "max_length"))
TWO_ZONES = variant("two-zones", profile="production", network={"az_count": 2})
ONE_NAT = variant("one-nat", profile="production", network={"nat_gateways": "single"})
NO_DR = variant("no-dr", profile="production", backup={"cross_region": False}, dr={"mode": "backup-restore"})
PUBLIC_API = variant("public-api", profile="production", cluster={"public_access_cidrs": ["198.51.100.0/28"]})
# The longest name the spec accepts, with a hyphen (names.database_name turns it into an underscore).
LONGEST = variant(f"max-{'n' * (MAX_NAME - 4)}", profile="production")

# (resource type, attribute) -> the longest value the AWS API accepts, and where it says so.
NAME_LIMITS: dict[tuple[str, str], tuple[int, str]] = {
    ("aws_iam_role", "name"): (64, "IAM User Guide, IAM and AWS STS quotas: role name 64 characters"),
    ("aws_iam_role", "name_prefix"): (38, "Terraform aws_iam_role: name_prefix plus 26 generated characters within the 64"),
    ("aws_iam_role_policy", "name"): (128, "IAM User Guide, IAM and AWS STS quotas: policy name 128 characters"),
    ("aws_iam_policy", "name"): (128, "IAM User Guide, IAM and AWS STS quotas: policy name 128 characters"),
    ("aws_s3_bucket", "bucket"): (63, "Amazon S3 User Guide, General purpose bucket naming rules: 3 to 63 characters"),
    ("aws_lb", "name"): (32, "Elastic Load Balancing API Reference, CreateLoadBalancer: Name at most 32 characters"),
    ("aws_lb_target_group", "name"): (32, "Elastic Load Balancing API Reference, CreateTargetGroup: Name at most 32 characters"),
    ("aws_elasticache_replication_group", "replication_group_id"): (
        40,
        "ElastiCache API Reference, CreateReplicationGroup: ReplicationGroupId 1 to 40 alphanumeric characters or hyphens",
    ),
    ("aws_db_instance", "identifier"): (63, "Amazon RDS API Reference, CreateDBInstance: DBInstanceIdentifier 1 to 63 characters"),
    ("aws_db_instance", "db_name"): (63, "Amazon RDS API Reference, CreateDBInstance: DBName (PostgreSQL) at most 63 characters"),
    ("aws_sns_topic", "name"): (256, "Amazon SNS API Reference, CreateTopic: topic names 1 to 256 characters"),
    ("aws_sqs_queue", "name"): (80, "Amazon SQS API Reference, CreateQueue: a queue name can have up to 80 characters"),
    ("aws_kms_alias", "name"): (256, "AWS KMS API Reference, CreateAlias: AliasName maximum length 256"),
    ("aws_eks_cluster", "name"): (100, "Amazon EKS API Reference, CreateCluster: name 1 to 100 characters"),
    ("aws_secretsmanager_secret", "name"): (512, "Secrets Manager API Reference, CreateSecret: Name maximum length 512"),
    ("aws_backup_vault", "name"): (50, "AWS Backup API Reference, CreateBackupVault: pattern ^[a-zA-Z0-9\\-\\_]{2,50}$"),
    ("aws_backup_plan", "name"): (50, "AWS Backup API Reference, CreateBackupPlan: BackupPlanName 1 to 50 characters"),
    ("aws_backup_selection", "name"): (50, "AWS Backup API Reference, CreateBackupSelection: SelectionName ^[a-zA-Z0-9\\-\\_\\.]{1,50}$"),
    ("aws_cloudwatch_metric_alarm", "alarm_name"): (255, "CloudWatch API Reference, PutMetricAlarm: AlarmName maximum length 255"),
    ("aws_cloudwatch_log_group", "name"): (512, "CloudWatch Logs API Reference, CreateLogGroup: logGroupName maximum length 512"),
    ("aws_cloudwatch_event_rule", "name"): (64, "EventBridge API Reference, PutRule: Name maximum length 64"),
    ("aws_wafv2_web_acl", "name"): (128, "AWS WAF API Reference, CreateWebACL: Name 1 to 128 characters"),
    ("aws_db_subnet_group", "name"): (255, "Amazon RDS API Reference, CreateDBSubnetGroup: DBSubnetGroupName up to 255 characters"),
    ("aws_elasticache_subnet_group", "name"): (255, "ElastiCache API Reference, CreateCacheSubnetGroup: CacheSubnetGroupName up to 255"),
}
# What the longest name must actually produce, so the check above cannot pass on nothing.
MUST_EXIST = {
    "aws_iam_role",
    "aws_s3_bucket",
    "aws_elasticache_replication_group",
    "aws_db_instance",
    "aws_sns_topic",
    "aws_kms_alias",
    "aws_eks_cluster",
    "aws_secretsmanager_secret",
    "aws_backup_vault",
}
CACHE_CLUSTER_ID_LIMIT = 50  # ElastiCache API Reference, CreateCacheCluster: CacheClusterId 1 to 50 characters
LOAD_BALANCER_NAME = "alb.ingress.kubernetes.io/load-balancer-name"


def _stack(variants: VariantSynthesis, declared: Variant, layer: str) -> dict[str, Any]:
    return variants.stack(f"{declared.name}-{layer}")


def _spec(variants: VariantSynthesis, declared: Variant) -> EnvironmentSpec:
    return variants.specs[declared.name]


def test_two_zones_span_subnets_nat_gateways_cluster_and_stores_over_two_zones(variants: VariantSynthesis) -> None:
    spec = _spec(variants, TWO_ZONES)
    zones = spec.availability_zones
    assert spec.network.az_count == 2 and len(zones) == 2
    network = _stack(variants, TWO_ZONES, "network")
    subnets = resources_of(network, "aws_subnet")
    for tier in ("public", "private", "isolated"):
        assert sorted(s["availability_zone"] for s in subnets.values() if s["tags"]["Tier"] == tier) == sorted(zones), tier
    assert len(resources_of(network, "aws_nat_gateway")) == 2, "production keeps one NAT gateway per zone"
    routes = resources_of(network, "aws_route").values()
    assert sum(1 for route in routes if "nat_gateway_id" in route) == 2
    endpoints = [e for e in resources_of(network, "aws_vpc_endpoint").values() if e["vpc_endpoint_type"] == "Interface"]
    assert endpoints and all(len(e["subnet_ids"]) == 2 for e in endpoints)
    (cluster,) = resources_of(_stack(variants, TWO_ZONES, "cluster"), "aws_eks_cluster").values()
    assert len(cluster["vpc_config"]["subnet_ids"]) == 2
    data = _stack(variants, TWO_ZONES, "data")
    (subnet_group,) = resources_of(data, "aws_db_subnet_group").values()
    assert len(subnet_group["subnet_ids"]) == 2
    (cache_subnets,) = resources_of(data, "aws_elasticache_subnet_group").values()
    assert len(cache_subnets["subnet_ids"]) == 2


def test_one_nat_gateway_serves_every_private_route_table_in_production(variants: VariantSynthesis) -> None:
    network = _stack(variants, ONE_NAT, "network")
    ((nat_id, nat),) = resources_of(network, "aws_nat_gateway").items()
    assert len(resources_of(network, "aws_eip")) == 1
    private_routes = [route for route in resources_of(network, "aws_route").values() if "nat_gateway_id" in route]
    assert len(private_routes) == len(_spec(variants, ONE_NAT).availability_zones)
    assert {route["nat_gateway_id"] for route in private_routes} == {f"${{aws_nat_gateway.{nat_id}.id}}"}
    public = resources_of(network, "aws_subnet")[nat["subnet_id"].split(".")[1]]
    assert public["tags"]["Tier"] == "public"
    alarms = [a["alarm_name"] for a in resources_of(_stack(variants, ONE_NAT, "observability"), "aws_cloudwatch_metric_alarm").values()]
    assert len([name for name in alarms if "nat-port-allocation-" in name]) == 1, "the one NAT gateway is watched, once"


def test_no_dr_copy_leaves_out_every_dr_region_resource(variants: VariantSynthesis) -> None:
    """Without backup.cross_region nothing is created through the DR-region provider, and the
    backup plan copies nowhere."""
    spec = _spec(variants, NO_DR)
    assert spec.backup.cross_region is False and spec.is_production
    for layer in LAYERS:
        stack = _stack(variants, NO_DR, layer)
        dr_aliases = {f"aws.{p['alias']}" for p in stack["provider"]["aws"] if p.get("region") == spec.aws.dr_region and "alias" in p}
        in_dr = [
            f"{kind}.{logical_id}"
            for kind, items in stack.get("resource", {}).items()
            for logical_id, body in items.items()
            if body.get("provider") in dr_aliases
        ]
        assert not in_dr, f"{layer}: {in_dr}"
    backup = _stack(variants, NO_DR, "backup")
    assert not resources_of(backup, "aws_s3_bucket_replication_configuration")
    assert not resources_of(backup, "aws_db_instance_automated_backups_replication")
    for plan in resources_of(backup, "aws_backup_plan").values():
        assert all(not rule.get("copy_action") for rule in plan["rule"]), plan["name"]
    with_dr = _stack(variants, LONGEST, "backup")  # the same profile with its DR copy, for contrast
    assert resources_of(with_dr, "aws_s3_bucket_replication_configuration")


def test_a_public_api_range_opens_the_endpoint_to_that_range_only(variants: VariantSynthesis) -> None:
    (cluster,) = resources_of(_stack(variants, PUBLIC_API, "cluster"), "aws_eks_cluster").values()
    vpc = cluster["vpc_config"]
    assert vpc["endpoint_public_access"] is True and vpc["endpoint_private_access"] is True
    assert vpc["public_access_cidrs"] == ["198.51.100.0/28"]
    (private,) = resources_of(_stack(variants, LONGEST, "cluster"), "aws_eks_cluster").values()
    assert private["vpc_config"]["endpoint_public_access"] is False


def test_every_name_of_the_longest_environment_name_fits_its_aws_limit(variants: VariantSynthesis) -> None:
    assert len(LONGEST.name) == MAX_NAME
    names = names_for(_spec(variants, LONGEST))
    found: set[str] = set()
    too_long = []
    for layer in LAYERS + DR_LAYERS:  # the standby's names carry `-dr` too
        for kind, items in _stack(variants, LONGEST, layer).get("resource", {}).items():
            for body in items.values():
                for (limited_kind, attribute), (limit, source) in NAME_LIMITS.items():
                    value = body.get(attribute) if kind == limited_kind else None
                    if isinstance(value, str) and "${" not in value:
                        found.add(kind)
                        if len(value) > limit:
                            too_long.append(f"{kind}.{attribute} {value!r}: {len(value)} > {limit} ({source})")
    too_long += [f"cache cluster {node!r}" for node in names.cache_node_ids if len(node) > CACHE_CLUSTER_ID_LIMIT]
    too_long += [f"standby cache cluster {node!r}" for node in names.standby.cache_node_ids if len(node) > CACHE_CLUSTER_ID_LIMIT]
    ingresses = variants.find(LONGEST.name, "Ingress") + variants.find(f"{LONGEST.name}-dr", "Ingress")
    assert ingresses
    for ingress in ingresses:
        name = ingress["metadata"].get("annotations", {}).get(LOAD_BALANCER_NAME)
        assert name is not None
        if len(name) > NAME_LIMITS[("aws_lb", "name")][0]:
            too_long.append(f"Ingress {ingress['metadata']['name']} load balancer {name!r}")
    assert not too_long, "\n".join(too_long)
    assert found >= MUST_EXIST, f"the longest name produced none of {sorted(MUST_EXIST - found)}"


def test_a_name_one_character_longer_is_refused_in_one_line(tmp_path: Path) -> None:
    too_long = Variant(
        f"max-{'n' * (MAX_NAME - 3)}", "production", vpc_cidr="10.250.0.0/16", account_id="900000000999", dr_vpc_cidr="10.127.0.0/16"
    )
    with pytest.raises(SpecError) as error:
        too_long.spec(tmp_path)
    (problem,) = error.value.problems
    assert problem.field == "name" and problem.line is not None and problem.file.endswith(f"{too_long.name}.yaml")
    assert re.search(rf"at most {MAX_NAME} characters", problem.reason), problem.reason
