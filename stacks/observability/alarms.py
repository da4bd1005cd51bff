"""CloudWatch alarms as typed definitions: what each watches, its threshold (from `spec.alarms`), how
missing data counts and why, and the runbook section an operator opens when it fires.

Every alarm notifies the alarm topic when it fires and when it recovers (OK). Names start with the
environment prefix (`names.alarm_name`), which is what the topic and key policies admit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import (
    CloudwatchMetricAlarm,
    CloudwatchMetricAlarmMetricQuery,
    CloudwatchMetricAlarmMetricQueryMetric,
)
from cdktf_cdktf_provider_aws.nat_gateway import NatGateway
from constructs import Construct

from envspec import EnvironmentSpec, Names
from synth.errors import construct_error

GIB = 1024**3
MAX_DESCRIPTION = 1024
COMPARISONS = {
    "GreaterThanThreshold": ">",
    "GreaterThanOrEqualToThreshold": ">=",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
}


@dataclass(frozen=True)
class MissingData:
    """`treat_missing_data` with the reason it is right for this metric."""

    treatment: str  # missing | notBreaching | breaching | ignore
    reason: str


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    dimensions: dict[str, str]
    statistic: str


@dataclass(frozen=True, kw_only=True)
class AlarmDefinition:
    purpose: str  # alarm name suffix
    summary: str
    comparison: str
    threshold: float
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    missing: MissingData
    runbook: tuple[str, str]  # docs/runbooks/<page>.md#<anchor>
    metric: Metric | None = None
    expression: str | None = None  # metric math over `inputs`, referenced as m0, m1, ...
    inputs: tuple[Metric, ...] = field(default=())
    watched: str | None = None  # what the expression computes, in words

    def description(self, names: Names) -> str:
        watched = self.watched or f"{self.metric.statistic} of {self.metric.namespace} {self.metric.name}"
        text = (
            f"{self.summary} Fires when {watched} {COMPARISONS[self.comparison]} {self.threshold:g} in {self.datapoints_to_alarm} of "
            f"{self.evaluation_periods} periods of {self.period}s. Missing data: {self.missing.treatment} ({self.missing.reason}). "
            f"Runbook: {names.runbook_url(*self.runbook)}"
        )
        if len(text) > MAX_DESCRIPTION:
            raise ValueError(f"alarm {self.purpose}: description is {len(text)} characters, CloudWatch allows {MAX_DESCRIPTION}")
        return text


def create_alarm(scope: Construct, *, names: Names, definition: AlarmDefinition, topic_arn: str) -> CloudwatchMetricAlarm:
    if (definition.metric is None) == (definition.expression is None) or (definition.expression and not definition.watched):
        raise construct_error(
            scope, f"alarm {definition.purpose}: give either a metric, or an expression over inputs with what it computes"
        )
    name = names.alarm_name(definition.purpose)
    try:
        description = definition.description(names)
    except ValueError as error:
        raise construct_error(scope, str(error)) from None
    common = {
        "alarm_name": name,
        "alarm_description": description,
        "comparison_operator": definition.comparison,
        "threshold": definition.threshold,
        "evaluation_periods": definition.evaluation_periods,
        "datapoints_to_alarm": definition.datapoints_to_alarm,
        "treat_missing_data": definition.missing.treatment,
        "actions_enabled": True,
        "alarm_actions": [topic_arn],
        "ok_actions": [topic_arn],
        "tags": {"Name": name},
    }
    if definition.metric is not None:
        metric = definition.metric
        return CloudwatchMetricAlarm(
            scope,
            definition.purpose.replace("-", "_"),
            namespace=metric.namespace,
            metric_name=metric.name,
            dimensions=dict(metric.dimensions),
            statistic=metric.statistic,
            period=definition.period,
            **common,
        )
    queries = [
        CloudwatchMetricAlarmMetricQuery(
            id=f"m{index}",
            return_data=False,
            metric=CloudwatchMetricAlarmMetricQueryMetric(
                namespace=item.namespace,
                metric_name=item.name,
                dimensions=dict(item.dimensions),
                stat=item.statistic,
                period=definition.period,
            ),
        )
        for index, item in enumerate(definition.inputs)
    ]
    queries.append(
        CloudwatchMetricAlarmMetricQuery(id="result", expression=definition.expression, label=definition.summary, return_data=True)
    )
    return CloudwatchMetricAlarm(scope, definition.purpose.replace("-", "_"), metric_query=queries, **common)


# --- RDS ---

RDS_GAP = MissingData("missing", "a gap in RDS metrics says nothing about load; the alarm keeps its state")


def database_alarms(spec: EnvironmentSpec, names: Names) -> list[AlarmDefinition]:
    """CPU, free storage and connections of the instance. No ReplicaLag alarm: the data layer runs no
    read replica, and a Multi-AZ standby replicates synchronously and publishes no ReplicaLag."""
    thresholds = spec.alarms
    instance = {"DBInstanceIdentifier": names.database_identifier}

    def rds(metric: str, statistic: str) -> Metric:
        return Metric("AWS/RDS", metric, instance, statistic)

    return [
        AlarmDefinition(
            purpose="rds-cpu",
            summary=f"PostgreSQL instance {names.database_identifier} is CPU-bound.",
            comparison="GreaterThanThreshold",
            threshold=thresholds.rds_cpu_percent,
            period=300,
            evaluation_periods=3,
            datapoints_to_alarm=3,
            missing=RDS_GAP,
            runbook=("aws-rds", "cpu"),
            metric=rds("CPUUtilization", "Average"),
        ),
        AlarmDefinition(
            purpose="rds-free-storage",
            summary=f"PostgreSQL instance {names.database_identifier} is running out of storage.",
            comparison="LessThanThreshold",
            threshold=thresholds.rds_free_storage_gib * GIB,
            period=300,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            missing=MissingData(
                "breaching",
                "a running instance reports free storage every minute; none for 10 minutes means the instance is down or gone",
            ),
            runbook=("aws-rds", "free-storage"),
            metric=rds("FreeStorageSpace", "Minimum"),
        ),
        AlarmDefinition(
            purpose="rds-connections",
            summary=f"PostgreSQL instance {names.database_identifier} is near its connection limit.",
            comparison="GreaterThanThreshold",
            threshold=thresholds.rds_max_connections,
            period=300,
            evaluation_periods=3,
            datapoints_to_alarm=3,
            missing=RDS_GAP,
            runbook=("aws-rds", "connections"),
            metric=rds("DatabaseConnections", "Maximum"),
        ),
    ]


# --- ElastiCache ---

CACHE_GAP = MissingData("missing", "a gap in ElastiCache metrics says nothing about load; the alarm keeps its state")


def cache_alarms(spec: EnvironmentSpec, names: Names) -> list[AlarmDefinition]:
    """Engine CPU and memory per member node (each node has its own), evictions summed over the
    group (the primary evicts; which node is primary changes on failover), replication lag on every
    node that can be a replica (only with two or more nodes)."""
    thresholds = spec.alarms
    nodes = names.cache_node_ids

    def node_metric(node: str, metric: str, statistic: str) -> Metric:
        return Metric("AWS/ElastiCache", metric, {"CacheClusterId": node}, statistic)

    alarms: list[AlarmDefinition] = []
    for node in nodes:
        alarms += [
            AlarmDefinition(
                purpose=f"cache-engine-cpu-{node.rsplit('-', 1)[1]}",
                summary=f"Redis node {node}: the engine thread is saturated.",
                comparison="GreaterThanThreshold",
                threshold=thresholds.cache_cpu_percent,
                period=300,
                evaluation_periods=3,
                datapoints_to_alarm=3,
                missing=CACHE_GAP,
                runbook=("aws-elasticache", "engine-cpu"),
                metric=node_metric(node, "EngineCPUUtilization", "Average"),
            ),
            AlarmDefinition(
                purpose=f"cache-memory-{node.rsplit('-', 1)[1]}",
                summary=f"Redis node {node} is close to maxmemory.",
                comparison="GreaterThanThreshold",
                threshold=thresholds.cache_memory_percent,
                period=300,
                evaluation_periods=3,
                datapoints_to_alarm=3,
                missing=CACHE_GAP,
                runbook=("aws-elasticache", "memory"),
                metric=node_metric(node, "DatabaseMemoryUsagePercentage", "Average"),
            ),
        ]
    alarms.append(
        AlarmDefinition(
            purpose="cache-evictions",
            summary=f"Redis replication group {names.cache_replication_group} evicts keys to make room.",
            comparison="GreaterThanThreshold",
            threshold=thresholds.cache_evictions_per_5m,
            period=300,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            missing=MissingData("notBreaching", "a node that evicted nothing may publish no datapoint; no data is no eviction"),
            runbook=("aws-elasticache", "evictions"),
            expression=f"SUM([{', '.join(f'm{index}' for index in range(len(nodes)))}])",
            inputs=tuple(node_metric(node, "Evictions", "Sum") for node in nodes),
            watched="the sum of AWS/ElastiCache Evictions over the member nodes",
        )
    )
    if len(nodes) > 1:
        alarms += [
            AlarmDefinition(
                purpose=f"cache-replication-lag-{node.rsplit('-', 1)[1]}",
                summary=f"Redis node {node} lags behind the primary.",
                comparison="GreaterThanThreshold",
                threshold=thresholds.cache_replication_lag_seconds,
                period=60,
                evaluation_periods=5,
                datapoints_to_alarm=5,
                missing=MissingData("notBreaching", "only replicas publish ReplicationLag; while this node is the primary there is none"),
                runbook=("aws-elasticache", "replication-lag"),
                metric=node_metric(node, "ReplicationLag", "Maximum"),
            )
            for node in nodes
        ]
    return alarms


# --- NAT gateways ---

NAT_METRICS = ("ErrorPortAllocation", "PacketsDropCount", "PacketsInFromSource", "PacketsInFromDestination")


def nat_alarms(spec: EnvironmentSpec, nat_gateways: Mapping[str, NatGateway]) -> list[AlarmDefinition]:
    """Per NAT gateway (by zone): failed port allocations (connections that could not be made) and dropped
    packets as a share of the packets it handled (AWS's suggested 0.01%)."""
    thresholds = spec.alarms
    alarms: list[AlarmDefinition] = []
    for zone, nat in nat_gateways.items():
        by_name = {metric: Metric("AWS/NATGateway", metric, {"NatGatewayId": nat.id}, "Sum") for metric in NAT_METRICS}
        alarms += [
            AlarmDefinition(
                purpose=f"nat-port-allocation-{zone}",
                summary=f"NAT gateway in {zone} cannot allocate source ports: outbound connections fail.",
                comparison="GreaterThanThreshold",
                threshold=thresholds.nat_port_allocation_errors,
                period=300,
                evaluation_periods=1,
                datapoints_to_alarm=1,
                missing=MissingData("notBreaching", "an idle gateway may publish no datapoint; no data is no error"),
                runbook=("aws-nat-gateway", "port-allocation-errors"),
                metric=by_name["ErrorPortAllocation"],
            ),
            AlarmDefinition(
                purpose=f"nat-packets-dropped-{zone}",
                summary=f"NAT gateway in {zone} drops packets (percent of the packets it handled).",
                comparison="GreaterThanThreshold",
                threshold=thresholds.nat_packet_drop_percent,
                period=60,
                evaluation_periods=5,
                datapoints_to_alarm=5,
                missing=MissingData("notBreaching", "without traffic the percentage is undefined; no traffic drops nothing"),
                runbook=("aws-nat-gateway", "dropped-packets"),
                expression="100 * m0 / (m1 + m2)",
                inputs=(by_name["PacketsDropCount"], by_name["PacketsInFromSource"], by_name["PacketsInFromDestination"]),
                watched="AWS/NATGateway PacketsDropCount in percent of PacketsInFromSource + PacketsInFromDestination",
            ),
        ]
    return alarms


# --- ACM ---


def certificate_alarm(spec: EnvironmentSpec, certificate_arn: str) -> AlarmDefinition:
    """The load balancer's certificate: ACM renews DNS-validated certificates 60 days ahead, so a
    certificate this close to expiry has failed to renew. The edge stack, which creates the
    certificate, creates this alarm."""
    return AlarmDefinition(
        purpose="certificate-expiry",
        summary=f"The certificate of {spec.dns.frontend_host} and {spec.dns.api_host} expires soon: ACM renewal has failed.",
        comparison="LessThanThreshold",
        threshold=spec.alarms.certificate_days_to_expiry,
        period=86400,
        evaluation_periods=1,
        datapoints_to_alarm=1,
        missing=MissingData(
            "breaching",
            "ACM publishes DaysToExpiry daily while the certificate exists; none for a day means the edge stack's certificate "
            "is gone and the listener's TLS breaks",
        ),
        runbook=("aws-certificate", "days-to-expiry"),
        metric=Metric("AWS/CertificateManager", "DaysToExpiry", {"CertificateArn": certificate_arn}, "Minimum"),
    )
