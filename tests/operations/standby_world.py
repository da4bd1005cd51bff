"""The environment's standby in the DR region, as the DR stacks deploy it, for `ops dr failover-region`.

On top of `build_world` (the primary's data stack): a cross-region read replica `<prefix>-dr` of the
primary in the DR region with its own key and subnet group, Secrets Manager replicas of the database
login secrets, the replica's `ReplicaLag` metric, the standby EKS cluster, and the Route 53 failover
records as `<env>-dr-dns` writes them (stacks/edge/failover.py): each side's origin host an alias to its load
balancer (ExternalDNS's records), the public hosts PRIMARY (alias to the primary origin, with the health
check on `https://<primary origin>/api/health`) and SECONDARY (alias to the standby origin), both
evaluating target health; the standby Ingress's idle ALB and its target groups as the AWS Load Balancer
Controller tags them (tests/operations/load_balancer_emulator.py, which also registers the standby's ready pods
and emulates ELB's initial health checks). Two emulated Kubernetes API servers stand for the primary cluster and
the standby cluster, the standby's Deployments at zero replicas (pilot light).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import yaml

from envspec import Names
from ops.dr.standby import standby_names
from ops.kube import cluster_contexts
from tests.operations.conftest import World, _network
from tests.operations.kubernetes_emulator import ClusterState, KubernetesEmulator
from tests.operations.load_balancer_emulator import LoadBalancerController, build_load_balancer, load_balancer_controller

# Canonical hosted zone ids of the load balancers (Elastic Load Balancing endpoints, AWS General Reference).
ALB_ZONES = {"ap-northeast-1": "Z14GRHDCWA56QT", "ap-northeast-3": "Z5LXEXXYW11ES"}


@dataclass
class Standby:
    health_check_id: str
    zone_id: str
    primary_origin: str
    standby_origin: str
    target_groups: dict[str, str]  # the controller's resource id -> target group ARN


def put_replica_lag(names: Names, seconds: float) -> None:
    boto3.client("cloudwatch", names.dr_region).put_metric_data(
        Namespace="AWS/RDS",
        MetricData=[
            {
                "MetricName": "ReplicaLag",
                "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": names.dr_database_identifier}],
                "Value": seconds,
                "Unit": "Seconds",
                # RDS publishes once a minute: the newest data point is some seconds old (and moto, like
                # CloudWatch, leaves out a point of the very second a query ends in).
                "Timestamp": datetime.now(UTC) - timedelta(seconds=30),
            }
        ],
    )


def build_standby(world: World, lag_seconds: float = 2.0) -> Standby:
    names = world.names
    spec, dr = names.spec, names.dr_region
    subnets, vpc = _network(dr, str(spec.dr.vpc_cidr), names.dr_availability_zones[:2])
    dr_key = boto3.client("kms", dr).create_key(Description="data (DR)")["KeyMetadata"]["Arn"]
    # No DBSubnetGroupName: moto copies the source instance for a replica and looks the group up in the
    # source's region. The failover reads neither the replica's subnets nor its security groups.
    rds = boto3.client("rds", dr)
    parameter_group = f"{names.prefix}-dr-postgres15"  # the replica's own group, in its region
    rds.create_db_parameter_group(DBParameterGroupName=parameter_group, DBParameterGroupFamily="postgres15", Description="DR replica")
    rds.create_db_instance_read_replica(
        DBInstanceIdentifier=names.dr_database_identifier,
        SourceDBInstanceIdentifier=names.database_arn,
        SourceRegion=spec.aws.region,
        DBInstanceClass=spec.dr.database_instance_class,
        KmsKeyId=dr_key,
        DBParameterGroupName=parameter_group,
    )
    secretsmanager = boto3.client("secretsmanager", spec.aws.region)
    for purpose in ("database", "database-migration"):
        secretsmanager.replicate_secret_to_regions(SecretId=names.secret_name(purpose), AddReplicaRegions=[{"Region": dr}])
    put_replica_lag(names, lag_seconds)
    boto3.client("eks", dr).create_cluster(
        name=names.dr_cluster_name,
        version=spec.cluster.version,
        roleArn=names.role_arn(f"{names.prefix}-dr-cluster"),
        resourcesVpcConfig={"subnetIds": subnets},
    )
    route53 = boto3.client("route53", "us-east-1")
    zone_id = route53.create_hosted_zone(Name=spec.dns.zone_name, CallerReference="edge")["HostedZone"]["Id"]
    primary_origin, standby_origin = names.primary_origin_host, names.standby.origin_host
    assert primary_origin and standby_origin
    origins = []
    for origin, region in ((primary_origin, spec.aws.region), (standby_origin, dr)):
        alb = f"dualstack.{names.load_balancer_name}-{len(origins) + 1}234567890.{region}.elb.amazonaws.com"
        alias = {"HostedZoneId": ALB_ZONES[region], "DNSName": alb, "EvaluateTargetHealth": True}
        origins.append({"Action": "CREATE", "ResourceRecordSet": {"Name": origin, "Type": "A", "AliasTarget": alias}})
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": origins})
    check = route53.create_health_check(
        CallerReference="primary-health",
        HealthCheckConfig={
            "Type": "HTTPS",
            "FullyQualifiedDomainName": primary_origin,
            "ResourcePath": "/api/health",
            "Port": 443,
            "EnableSNI": True,
            "RequestInterval": spec.dr.health_check_interval_seconds,
            "FailureThreshold": spec.dr.health_check_failure_threshold,
        },
    )["HealthCheck"]["Id"]
    changes = []
    for host in (spec.dns.frontend_host, spec.dns.api_host):
        for role, origin in (("primary", primary_origin), ("dr", standby_origin)):
            record = {
                "Name": host,
                "Type": "A",
                "SetIdentifier": names.failover_set_identifier(role),
                "Failover": "PRIMARY" if role == "primary" else "SECONDARY",
                "AliasTarget": {"HostedZoneId": zone_id.rsplit("/", 1)[-1], "DNSName": origin, "EvaluateTargetHealth": True},
            }
            if role == "primary":
                record["HealthCheckId"] = check
            changes.append({"Action": "CREATE", "ResourceRecordSet": record})
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    return Standby(check, zone_id, primary_origin, standby_origin, build_load_balancer(names, subnets, vpc))


def standby_cluster() -> ClusterState:
    """The standby cluster after Argo CD synced it: the application's objects, every Deployment at 0."""
    state = ClusterState.from_fixtures()
    for deployment in state.deployments.values():
        deployment["spec"]["replicas"] = 0
        deployment["status"].update(replicas=0, updatedReplicas=0, readyReplicas=0, availableReplicas=0)
    migration = copy.deepcopy(state.external_secrets[("ai-subsidy", "database-secret")])
    migration["metadata"]["name"] = "database-migration-secret"
    state.external_secrets[("ai-subsidy", "database-migration-secret")] = migration
    state.pods = []
    return state


@contextmanager
def two_clusters(names: Names, primary: ClusterState, standby: ClusterState, kubeconfig: Path) -> Iterator[LoadBalancerController]:
    """Both emulators, under the contexts `aws eks update-kubeconfig` writes for each cluster, and the standby's
    load balancer controller."""
    with ExitStack() as stack:
        configs = []
        for state, context in (
            (primary, cluster_contexts(names)[0]),
            (standby, cluster_contexts(names, standby_names(names).cluster)[0]),
        ):
            configs.append(stack.enter_context(KubernetesEmulator(state, context)).kubeconfig())
        merged = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{**item["clusters"][0], "name": f"c{index}"} for index, item in enumerate(configs)],
            "users": [{**item["users"][0], "name": f"u{index}"} for index, item in enumerate(configs)],
            "contexts": [
                {"name": item["contexts"][0]["name"], "context": {"cluster": f"c{index}", "user": f"u{index}"}}
                for index, item in enumerate(configs)
            ],
            "current-context": configs[0]["contexts"][0]["name"],
        }
        kubeconfig.write_text(yaml.safe_dump(merged), encoding="utf-8")
        yield stack.enter_context(load_balancer_controller(names, standby))
