"""The standby Ingress's load balancer as the AWS Load Balancer Controller and ELB keep it, on top of moto.

moto 5.2.5 stores load balancers, target groups and targets, but knows no controller and no health checks: a
registered target is `healthy` at once (moto/elbv2/models.py `FakeTargetGroup.health_for`). What the failover
relies on is added here the way the two document it:

- the controller (kubernetes-sigs/aws-load-balancer-controller v3.4.2) tags what it creates for an Ingress with
  `elbv2.k8s.aws/cluster`, `ingress.k8s.aws/stack` (`<namespace>/<ingress>` for an implicit group,
  pkg/ingress/group.go) and `ingress.k8s.aws/resource` (`<namespace>/<ingress>-<service>:<port>` for a target group,
  pkg/ingress/model_build_target_group.go), and with `target-type: ip` registers the IPs of a Service's ready
  pods, deregistering them when they go; here it reconciles before every DescribeTargetHealth;
- ELB reports a newly registered target `initial` (`Elb.InitialHealthChecking`) until it passed its health check
  (ELB User Guide for Application Load Balancers, "Health checks for Application Load Balancer target groups"):
  here for `initial_reads` reads; a component in `failing` answers its checks wrongly
  (`unhealthy`, `Target.ResponseCodeMismatch`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto.elbv2.models import ELBv2Backend, FakeHealthStatus, elbv2_backends

from envspec import Names
from envspec.naming import APP_NAMESPACE, HTTP_PORT_NAME, INGRESS_NAME
from envspec.topology import BACKEND, FRONTEND
from ops.dr.targets import CLUSTER_TAG, RESOURCE_TAG, STACK_TAG
from tests.operations.kubernetes_emulator import ClusterState

INGRESS_COMPONENTS = (BACKEND, FRONTEND)  # the Ingress's backends (charts/ingress.py)


def target_group_resource(service: str) -> str:
    return f"{APP_NAMESPACE}/{INGRESS_NAME}-{service}:{HTTP_PORT_NAME}"


def build_load_balancer(names: Names, subnets: list[str], vpc: str) -> dict[str, str]:
    """The idle standby ALB the controller created from the synced Ingress: its target groups, without targets,
    and a target group of another Ingress on the same cluster (which the failover must not wait for)."""
    elbv2 = boto3.client("elbv2", names.dr_region)
    stack = [{"Key": CLUSTER_TAG, "Value": names.dr_cluster_name}, {"Key": STACK_TAG, "Value": f"{APP_NAMESPACE}/{INGRESS_NAME}"}]
    elbv2.create_load_balancer(
        Name=names.load_balancer_name, Subnets=subnets, Scheme="internet-facing", Type="application",
        Tags=[*stack, {"Key": RESOURCE_TAG, "Value": "LoadBalancer"}],
    )  # fmt: skip
    groups = {}
    for index, component in enumerate(INGRESS_COMPONENTS):
        resource = target_group_resource(component.service_name or component.name)
        groups[resource] = elbv2.create_target_group(
            Name=f"k8s-aisubsid-{index}", Protocol="HTTP", Port=component.http_port or 80, VpcId=vpc, TargetType="ip",
            Tags=[*stack, {"Key": RESOURCE_TAG, "Value": resource}],
        )["TargetGroups"][0]["TargetGroupArn"]  # fmt: skip
    other = "monitoring/grafana"
    elbv2.create_target_group(
        Name="k8s-monitori-grafana", Protocol="HTTP", Port=3000, VpcId=vpc, TargetType="ip",
        Tags=[{"Key": CLUSTER_TAG, "Value": names.dr_cluster_name}, {"Key": STACK_TAG, "Value": other},
              {"Key": RESOURCE_TAG, "Value": f"{other}-grafana:http"}],
    )  # fmt: skip
    return groups


@dataclass
class LoadBalancerController:
    names: Names
    state: ClusterState
    initial_reads: int = 2
    failing: set[str] = field(default_factory=set)  # Deployments whose pods fail the ALB's health check
    reported: list[tuple[str, str]] = field(default_factory=list)  # (target group resource, state) as answered
    _initial: dict[tuple[str, str], int] = field(default_factory=dict)

    def _backend(self) -> ELBv2Backend:
        return elbv2_backends[self.names.account][self.names.dr_region]

    def _ours(self, backend: ELBv2Backend) -> dict[str, Any]:
        """Target group ARN -> the Deployment behind it, for this cluster's Ingress."""
        found = {}
        for arn, group in backend.target_groups.items():
            tags = backend.tagging_service.get_tag_dict_for_resource(arn)
            if tags.get(CLUSTER_TAG) != self.names.dr_cluster_name or tags.get(STACK_TAG) != f"{APP_NAMESPACE}/{INGRESS_NAME}":
                continue
            component = next(c for c in INGRESS_COMPONENTS if tags[RESOURCE_TAG] == target_group_resource(c.service_name or c.name))
            found[arn] = (group, component.name, tags[RESOURCE_TAG])
        return found

    def reconcile(self) -> None:
        """Register each ready pod's IP, deregister the rest (target-type ip)."""
        backend = self._backend()
        for arn, (group, deployment, _) in self._ours(backend).items():
            ready = int(self.state.deployments[(APP_NAMESPACE, deployment)]["status"].get("readyReplicas") or 0)
            offset = 10 + 20 * sorted(c.name for c in INGRESS_COMPONENTS).index(deployment)
            wanted = {f"10.21.1.{offset + index}" for index in range(ready)}
            for ip in wanted - set(group.targets):
                group.register([{"Id": ip}])
                self._initial[(arn, ip)] = self.initial_reads
            for ip in set(group.targets) - wanted:
                group.deregister([{"Id": ip}])

    def answer(self, arn: str, status: FakeHealthStatus) -> FakeHealthStatus:
        ours = self._ours(self._backend())
        if arn not in ours or status.status != "healthy":
            return status
        _, deployment, resource = ours[arn]
        pending = self._initial.get((arn, status.instance_id), 0)
        if deployment in self.failing:
            status = FakeHealthStatus(status.instance_id, status.port, status.health_check_port, "unhealthy", "Target.ResponseCodeMismatch")
        elif pending > 0:
            self._initial[(arn, status.instance_id)] = pending - 1
            status = FakeHealthStatus(status.instance_id, status.port, status.health_check_port, "initial", "Elb.InitialHealthChecking")
        self.reported.append((resource, status.status))
        return status

    def serving(self) -> bool:
        """What Route 53 would see now: every target group of the Ingress with a target past its initial checks."""
        backend = self._backend()
        return all(
            any(self._initial.get((arn, ip), 0) == 0 for ip in group.targets) and deployment not in self.failing
            for arn, (group, deployment, _) in self._ours(backend).items()
        )


@contextmanager
def load_balancer_controller(names: Names, state: ClusterState) -> Iterator[LoadBalancerController]:
    controller = LoadBalancerController(names, state)
    original = ELBv2Backend.describe_target_health

    def describe_target_health(self: ELBv2Backend, target_group_arn: str, targets: list[dict[str, Any]]) -> list[FakeHealthStatus]:
        if self.region_name == names.dr_region:
            controller.reconcile()
        return [controller.answer(target_group_arn, status) for status in original(self, target_group_arn, targets)]

    ELBv2Backend.describe_target_health = describe_target_health  # type: ignore[method-assign]
    try:
        yield controller
    finally:
        ELBv2Backend.describe_target_health = original  # type: ignore[method-assign]
