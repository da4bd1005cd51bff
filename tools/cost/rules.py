"""Price rules per Terraform resource type: what AWS bills for the resource, from its own arguments.

A rule returns the resource's lines; a price it needs and the region's file lacks raises MissingPrice,
which the estimate turns into a "not priced" line. Billing facts each rule encodes, and where from:
- RDS Multi-AZ bills the standby's instance hours and storage too (RDS User Guide, "On-Demand DB
  instances for Amazon RDS", Multi-AZ DB instances); backup storage up to the provisioned storage is
  free per region, beyond it billed per GB-month (Amazon RDS pricing, backup storage);
- Performance Insights keeps 7 days free (Amazon RDS Performance Insights pricing, free tier);
- KMS: a customer managed key is billed monthly, and each of the first two automatic rotations adds
  one more month's key price (AWS KMS pricing, "Keys");
- interface VPC endpoints bill per endpoint ENI (one per subnet/AZ) and hour, plus per GB; gateway
  endpoints (S3, DynamoDB) are free (AWS PrivateLink pricing);
- Secrets Manager bills each replica as a secret (AWS Secrets Manager pricing);
- CloudWatch alarms bill per metric an alarm evaluates (CloudWatch pricing, alarms); metric filters
  publish custom metrics (CloudWatch pricing, metrics);
- WAF bills the web ACL, each rule (a rule group reference is a rule) and the requests (AWS WAF pricing).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tools.cost.model import Context, Line, Resource

Rule = Callable[[Resource, Context], list[Line]]
DAYS_PER_MONTH = 30.4
EKS_DEFAULT_DISK_GIB = 20  # aws_eks_node_group disk_size default without a launch template


def line(resource: Resource, description: str, low: float, high: float | None = None, *skus: str) -> Line:
    return Line(resource.stack, resource.address, resource.type, "priced", description, low, low if high is None else high, skus)


def charge(resource: Resource, ctx: Context, description: str, quantity: float, sku: str, ceiling: float | None = None) -> Line:
    """`quantity` (up to `ceiling`) units of `sku` a month in the resource's region; `.hour` SKUs run all month."""
    unit = ctx.hourly(resource.region, sku) if sku.endswith(".hour") else ctx.price(resource.region, sku)
    return line(resource, description, quantity * unit, (quantity if ceiling is None else ceiling) * unit, sku)


def _eks_cluster(resource: Resource, ctx: Context) -> list[Line]:
    support = (resource.body.get("upgrade_policy") or {}).get("support_type", "STANDARD")
    sku = "eks.cluster.hour" if support == "STANDARD" else "eks.cluster_extended.hour"
    return [line(resource, f"control plane ({support.lower()} support)", ctx.hourly(resource.region, sku), None, sku)]


def _launch_template_disk(resource: Resource, ctx: Context) -> int:
    template = resource.body.get("launch_template") or {}
    found = ctx.find(resource.stack, str(template.get("id", "")))
    if found is not None:
        for mapping in found.body.get("block_device_mappings", []):
            size = (mapping.get("ebs") or {}).get("volume_size")
            if size:
                return int(size)
    return int(resource.body.get("disk_size", EKS_DEFAULT_DISK_GIB))


def _eks_node_group(resource: Resource, ctx: Context) -> list[Line]:
    body = resource.body
    scaling = body["scaling_config"]
    instance_type = body["instance_types"][0]
    sku = f"ec2.{instance_type}.hour"
    price = ctx.hourly(resource.region, sku)
    disk = _launch_template_disk(resource, ctx) * ctx.price(resource.region, "ebs.gp3.gib_month")
    capacity = body.get("capacity_type", "ON_DEMAND")
    note = "" if capacity == "ON_DEMAND" else f" ({capacity.lower()}: on-demand price shown as the ceiling)"
    low, high = scaling["min_size"], scaling["max_size"]
    return [
        line(resource, f"{low}-{high} x {instance_type}{note}", low * price, high * price, sku),
        line(resource, f"{low}-{high} root volumes (gp3)", low * disk, high * disk, "ebs.gp3.gib_month"),
    ]


def _instance(resource: Resource, ctx: Context) -> list[Line]:
    instance_type = resource.body["instance_type"]
    size = int((resource.body.get("root_block_device") or {}).get("volume_size", 8))
    return [
        line(resource, f"1 x {instance_type}", ctx.hourly(resource.region, f"ec2.{instance_type}.hour"), None, f"ec2.{instance_type}.hour"),
        line(resource, f"{size} GiB root volume (gp3)", size * ctx.price(resource.region, "ebs.gp3.gib_month"), None, "ebs.gp3.gib_month"),
    ]


def _serving_share(resource: Resource, ctx: Context, serving: list[Resource], total_gib: float) -> float:
    """A traffic assumption is the serving side's: split over the primary region's resources; an idle standby's get none."""
    primary = [r for r in serving if r.region == ctx.spec.aws.region]
    return total_gib / len(primary) if resource in primary else 0.0


def _nat_gateway(resource: Resource, ctx: Context) -> list[Line]:
    share = _serving_share(resource, ctx, ctx.of_type("aws_nat_gateway"), ctx.spec.cost.usage.nat_processed_gib)
    return [
        charge(resource, ctx, "gateway hours", 1, "vpc.nat_gateway.hour"),
        charge(resource, ctx, f"{share:g} GiB processed (cost.usage.nat_processed_gib, split)", share, "vpc.nat_gateway.gib"),
    ]


def _eip(resource: Resource, ctx: Context) -> list[Line]:
    return [charge(resource, ctx, "public IPv4 address", 1, "vpc.public_ipv4.hour")]


def _vpc_endpoint(resource: Resource, ctx: Context) -> list[Line]:
    kind = resource.body.get("vpc_endpoint_type", "Gateway")
    if kind == "Gateway":
        return [Line(resource.stack, resource.address, resource.type, "free", "gateway endpoint: no hourly or data charge")]
    if kind != "Interface":
        return [Line(resource.stack, resource.address, resource.type, "not priced", f"{kind} endpoint: no rule")]
    zones = len(resource.body.get("subnet_ids", [])) or 1
    interfaces = [r for r in ctx.of_type("aws_vpc_endpoint") if r.body.get("vpc_endpoint_type") == "Interface"]
    share = _serving_share(resource, ctx, interfaces, ctx.spec.cost.usage.endpoint_processed_gib)
    az_hour = "vpc.interface_endpoint.az_hour"
    return [
        line(resource, f"interface endpoint in {zones} AZs", ctx.hourly(resource.region, az_hour, zones), None, az_hour),
        charge(resource, ctx, f"{share:g} GiB processed (cost.usage.endpoint_processed_gib, split)", share, "vpc.interface_endpoint.gib"),
    ]


def _database_storage(resource: Resource, ctx: Context) -> tuple[int, int]:
    allocated = resource.body.get("allocated_storage")
    if allocated is None:  # a read replica inherits the source's storage
        allocated = ctx.spec.database.allocated_storage_gib
    return int(allocated), int(resource.body.get("max_allocated_storage") or allocated)


def _db_instance(resource: Resource, ctx: Context) -> list[Line]:
    body, region, usage = resource.body, resource.region, ctx.spec.cost.usage
    engine = body.get("engine", "postgres")
    copies = 2 if body.get("multi_az") else 1
    instance_class = body["instance_class"]
    sku = f"rds.{engine}.{instance_class}.hour"
    storage_type = body.get("storage_type", "gp3")
    storage_sku = f"rds.{storage_type}.gib_month"
    allocated, ceiling = _database_storage(resource, ctx)
    per_gib = ctx.price(region, storage_sku) * copies
    where = "Multi-AZ, primary and standby" if copies == 2 else "Single-AZ"
    lines = [
        line(resource, f"{instance_class} ({where})", ctx.hourly(region, sku, copies), None, sku),
        line(
            resource,
            f"{allocated}-{ceiling} GiB {storage_type} (allocated to the ceiling)",
            allocated * per_gib,
            ceiling * per_gib,
            storage_sku,
        ),
    ]
    retention = int(body.get("backup_retention_period", 0) or 0)
    if retention:
        beyond = retention * usage.database_changed_gib_per_day
        described = f"{beyond:g} GiB backups beyond the free allowance ({retention} days x cost.usage.database_changed_gib_per_day)"
        lines.append(charge(resource, ctx, described, beyond, "rds.backup.gib_month"))
    if body.get("performance_insights_enabled"):
        days = int(body.get("performance_insights_retention_period", 7))
        if days <= 7:
            lines.append(Line(resource.stack, resource.address, resource.type, "free", "Performance Insights, 7 days: free tier"))
        else:
            ctx.price(region, "rds.performance_insights.vcpu_month")  # no row: reported as not priced
    return lines


def _backup_replication(resource: Resource, ctx: Context) -> list[Line]:
    """Automated backups copied to another region: all of it billed there (no free allowance), and the
    changes cross regions every day."""
    identifier = str(resource.body.get("source_db_instance_arn", "")).rsplit(":", 1)[-1]
    source = next((r for r in ctx.of_type("aws_db_instance") if r.body.get("identifier") == identifier), None)
    allocated = _database_storage(source, ctx)[0] if source else ctx.spec.database.allocated_storage_gib
    source_region = source.region if source else ctx.spec.aws.region
    retention = int(resource.body.get("retention_period", 7))
    changed = ctx.spec.cost.usage.database_changed_gib_per_day
    stored = allocated + retention * changed
    moved = changed * DAYS_PER_MONTH
    transfer = "data_transfer.inter_region.gib"
    return [
        charge(resource, ctx, f"{stored:g} GiB replicated backups ({resource.region})", stored, "rds.backup.gib_month"),
        line(resource, f"{moved:g} GiB a month across regions", moved * ctx.price(source_region, transfer), None, transfer),
    ]


def _cache_nodes(resource: Resource, ctx: Context, nodes: int) -> list[Line]:
    node_type = resource.body["node_type"]
    sku = f"elasticache.{node_type}.hour"
    return [line(resource, f"{nodes} x {node_type}", ctx.hourly(resource.region, sku, nodes), None, sku)]


def _replication_group(resource: Resource, ctx: Context) -> list[Line]:
    body = resource.body
    if body.get("num_cache_clusters"):
        nodes = int(body["num_cache_clusters"])
    else:
        nodes = int(body.get("num_node_groups", 1)) * (int(body.get("replicas_per_node_group", 0)) + 1)
    return _cache_nodes(resource, ctx, nodes)


def _cache_cluster(resource: Resource, ctx: Context) -> list[Line]:
    return _cache_nodes(resource, ctx, int(resource.body.get("num_cache_nodes", 1)))


def bucket_purpose(ctx: Context, bucket: str) -> str:
    return bucket.removeprefix(f"{ctx.names.prefix}-").removesuffix(f"-{ctx.names.account}")


def _s3_bucket(resource: Resource, ctx: Context) -> list[Line]:
    usage = ctx.spec.cost.usage
    purpose = bucket_purpose(ctx, str(resource.body.get("bucket", resource.name)))
    gib = usage.bucket_storage_gib.get(purpose, usage.default_bucket_storage_gib)
    return [charge(resource, ctx, f"{gib:g} GiB stored ({purpose}; cost.usage)", gib, "s3.standard.gib_month")]


def _s3_replication(resource: Resource, ctx: Context) -> list[Line]:
    gib = ctx.spec.cost.usage.replicated_gib
    return [charge(resource, ctx, f"{gib:g} GiB a month replicated across regions", gib, "data_transfer.inter_region.gib")]


LOG_KINDS = (("/aws/eks/", "cluster"), ("/aws/vpc/", "flow_logs"), ("/aws/rds/", "database"), ("/aws/elasticache/", "cache"),
             ("aws-waf-logs", "waf"), ("/aws/cloudtrail/", "trail"))  # fmt: skip


def _log_group(resource: Resource, ctx: Context) -> list[Line]:
    name = str(resource.body.get("name", resource.name))
    kind = next((kind for marker, kind in LOG_KINDS if name.startswith(marker)), "other")
    gib = getattr(ctx.spec.cost.usage.logs, kind)
    retention = resource.body.get("retention_in_days") or 0
    months = retention / DAYS_PER_MONTH if retention else 12.0  # never expires: a year's worth shown
    return [
        charge(resource, ctx, f"{gib:g} GiB/month ingested ({kind}; cost.usage.logs)", gib, "logs.ingest.gib"),
        charge(resource, ctx, f"stored: month 1 to {retention or 'no'}-day retention", gib, "logs.storage.gib_month", gib * max(months, 1)),
    ]


def _metric_alarm(resource: Resource, ctx: Context) -> list[Line]:
    queries = resource.body.get("metric_query") or []
    metrics = sum(1 for query in queries if query.get("metric")) or 1
    return [charge(resource, ctx, f"alarm on {metrics} metric(s)", metrics, "cloudwatch.alarm.metric_month")]


def _metric_filter(resource: Resource, ctx: Context) -> list[Line]:
    return [charge(resource, ctx, "custom metric", 1, "cloudwatch.custom_metric.month")]


def _kms_key(resource: Resource, ctx: Context) -> list[Line]:
    month = ctx.price(resource.region, "kms.key.month")
    rotates = bool(resource.body.get("enable_key_rotation"))
    description = "key; up to 3 key-months after two rotations" if rotates else "key"
    return [line(resource, description, month, 3 * month if rotates else month, "kms.key.month")]


def _secret(resource: Resource, ctx: Context) -> list[Line]:
    sku = "secretsmanager.secret.month"
    lines = [line(resource, "secret", ctx.price(resource.region, sku), None, sku)]
    for replica in resource.body.get("replica", []):
        lines.append(line(resource, f"replica in {replica['region']}", ctx.price(replica["region"], sku), None, sku))
    return lines


def _hosted_zone(resource: Resource, ctx: Context) -> list[Line]:
    return [charge(resource, ctx, "hosted zone", 1, "route53.hosted_zone.month")]


def _health_check(resource: Resource, ctx: Context) -> list[Line]:
    """Route 53 bills a health check of an AWS endpoint per month, and each optional feature (HTTPS, string
    matching, the 10-second interval, latency) on top (Amazon Route 53 pricing, "Health checks")."""
    body = resource.body
    features = [
        name
        for name, used in (
            ("HTTPS", str(body.get("type", "")).startswith("HTTPS")),
            ("string matching", str(body.get("type", "")).endswith("STR_MATCH")),
            ("fast interval", int(body.get("request_interval", 30)) == 10),
            ("latency", bool(body.get("measure_latency"))),
        )
        if used
    ]
    lines = [charge(resource, ctx, "health check (AWS endpoint)", 1, "route53.health_check.month")]
    if features:
        lines.append(
            charge(resource, ctx, f"optional features: {', '.join(features)}", len(features), "route53.health_check_feature.month")
        )
    return lines


def _web_acl(resource: Resource, ctx: Context) -> list[Line]:
    rules: list[Any] = list(resource.body.get("rule", []))
    if resource.body.get("rule_json"):
        rules = json.loads(resource.body["rule_json"])
    requests = ctx.spec.cost.usage.waf_requests_millions
    return [
        charge(resource, ctx, "web ACL", 1, "waf.web_acl.month"),
        charge(resource, ctx, f"{len(rules)} rules", len(rules), "waf.rule.month"),
        charge(resource, ctx, f"{requests:g} M requests (cost.usage.waf_requests_millions)", requests, "waf.requests.million"),
    ]


def _guardduty(resource: Resource, ctx: Context) -> list[Line]:
    events, logs = ctx.spec.cost.usage.guardduty_events_millions, ctx.spec.cost.usage.guardduty_flow_dns_gib
    return [
        charge(resource, ctx, f"{events:g} M CloudTrail events analysed", events, "guardduty.cloudtrail_events.million"),
        charge(resource, ctx, f"{logs:g} GiB flow and DNS logs analysed", logs, "guardduty.flow_dns.gib"),
    ]


def _cloudtrail(resource: Resource, ctx: Context) -> list[Line]:
    selectors = resource.body.get("event_selector") or []
    if resource.body.get("advanced_event_selector") or any(s.get("data_resource") for s in selectors):
        return [Line(resource.stack, resource.address, resource.type, "not priced", "data events: no usage assumption")]
    return [Line(resource.stack, resource.address, resource.type, "free", "first copy of management events (storage priced at its bucket)")]


def _config_recorder(resource: Resource, ctx: Context) -> list[Line]:
    items = ctx.spec.cost.usage.config_items
    return [charge(resource, ctx, f"{items} configuration items (cost.usage.config_items)", items, "config.item")]


def _security_hub(resource: Resource, ctx: Context) -> list[Line]:
    checks = ctx.spec.cost.usage.security_hub_checks
    return [charge(resource, ctx, f"{checks} security checks (cost.usage.security_hub_checks)", checks, "securityhub.check")]


def _backup_vault(resource: Resource, ctx: Context) -> list[Line]:
    gib = ctx.spec.cost.usage.backup_vault_gib
    return [charge(resource, ctx, f"{gib:g} GiB recovery points (cost.usage.backup_vault_gib)", gib, "backup.warm.gib_month")]


RULES: dict[str, Rule] = {
    "aws_eks_cluster": _eks_cluster,
    "aws_eks_node_group": _eks_node_group,
    "aws_instance": _instance,
    "aws_nat_gateway": _nat_gateway,
    "aws_eip": _eip,
    "aws_vpc_endpoint": _vpc_endpoint,
    "aws_db_instance": _db_instance,
    "aws_db_instance_automated_backups_replication": _backup_replication,
    "aws_elasticache_replication_group": _replication_group,
    "aws_elasticache_cluster": _cache_cluster,
    "aws_s3_bucket": _s3_bucket,
    "aws_s3_bucket_replication_configuration": _s3_replication,
    "aws_cloudwatch_log_group": _log_group,
    "aws_cloudwatch_metric_alarm": _metric_alarm,
    "aws_cloudwatch_log_metric_filter": _metric_filter,
    "aws_kms_key": _kms_key,
    "aws_kms_replica_key": _kms_key,
    "aws_secretsmanager_secret": _secret,
    "aws_route53_zone": _hosted_zone,
    "aws_route53_health_check": _health_check,
    "aws_wafv2_web_acl": _web_acl,
    "aws_guardduty_detector": _guardduty,
    "aws_cloudtrail": _cloudtrail,
    "aws_config_configuration_recorder": _config_recorder,
    "aws_securityhub_account": _security_hub,
    "aws_backup_vault": _backup_vault,
}
