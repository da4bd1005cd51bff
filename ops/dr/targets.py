"""The standby load balancer's targets: DNS moves only once they serve.

The failover records' SECONDARY is an alias to the standby's origin record, itself an alias to the standby
Ingress's ALB, both evaluating target health. Route 53 counts that ALB healthy only when "every target group that
contains targets must contain at least one healthy target", and "a target group that has no registered targets is
considered unhealthy" (Route 53 API reference, AliasTarget `EvaluateTargetHealth`). The application namespace
carries `elbv2.k8s.aws/pod-readiness-gate-inject: enabled` (charts/namespaces.py), so the controller's readiness
gate already holds a pod un-Ready until its target is healthy in its target group (aws-load-balancer-controller
docs/deploy/pod_readiness_gate.md); this wait is the safety net for what the gate does not see: a target group the
controller has not created or registered yet, or one emptied by a rollout. ELB reports a new target `initial`
(`Elb.RegistrationInProgress`, `Elb.InitialHealthChecking`) until it passed its health check (ELB User Guide for
Application Load Balancers, "Health checks for Application Load Balancer target groups", target health states),
at least two intervals of the check. So `failover-region` waits, bounded by its DNS step's budget, until every
target group of the standby's Ingress reports a healthy target, and only then pins the primary's health check; a
wait that runs out ends the run at that step, and running the command again resumes there.

The target groups are found the way the AWS Load Balancer Controller tags what it creates
(kubernetes-sigs/aws-load-balancer-controller v3.4.2, pkg/deploy/tracking/provider.go): `elbv2.k8s.aws/cluster`
is the cluster's name, `ingress.k8s.aws/stack` the Ingress group's id, for an Ingress without `group.name`
`<namespace>/<ingress name>`, and `ingress.k8s.aws/resource` names each target group
`<namespace>/<ingress>-<service>:<port>`. Read-only, DR region only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from envspec.naming import APP_NAMESPACE, INGRESS_NAME
from ops.context import Target
from ops.dr.standby import StandbyNames
from ops.errors import EnvironmentProblem

CLUSTER_TAG = "elbv2.k8s.aws/cluster"
STACK_TAG = "ingress.k8s.aws/stack"
RESOURCE_TAG = "ingress.k8s.aws/resource"
# DescribeTags takes at most 20 resource ARNs a call (ELB API reference, DescribeTags `ResourceArns`).
TAGS_PER_CALL = 20


@dataclass(frozen=True)
class TargetGroup:
    arn: str
    resource: str  # the controller's resource id: <namespace>/<ingress>-<service>:<port>


def ingress_stack() -> str:
    """The controller's stack id of the application's Ingress (an implicit group: no `group.name` annotation)."""
    return f"{APP_NAMESPACE}/{INGRESS_NAME}"


def find_target_groups(target: Target, standby: StandbyNames) -> list[TargetGroup]:
    """The standby Ingress's target groups, by the controller's tags; refuses when there are none."""
    elbv2 = target.aws.client("elbv2", standby.region)
    arns = [group["TargetGroupArn"] for page in elbv2.get_paginator("describe_target_groups").paginate() for group in page["TargetGroups"]]
    wanted = {CLUSTER_TAG: standby.cluster_name, STACK_TAG: ingress_stack()}
    found = []
    for start in range(0, len(arns), TAGS_PER_CALL):
        for description in elbv2.describe_tags(ResourceArns=arns[start : start + TAGS_PER_CALL])["TagDescriptions"]:
            tags = {tag["Key"]: tag["Value"] for tag in description.get("Tags", [])}
            if all(tags.get(key) == value for key, value in wanted.items()):
                found.append(TargetGroup(description["ResourceArn"], tags.get(RESOURCE_TAG, description["ResourceArn"])))
    if not found:
        raise EnvironmentProblem(
            f"no target groups of the standby Ingress in {standby.region} (tags {CLUSTER_TAG}={standby.cluster_name}, "
            f"{STACK_TAG}={ingress_stack()}): the load balancer controller on {standby.cluster_name} has not reconciled "
            "the Ingress; nothing was changed"
        )
    return sorted(found, key=lambda group: group.resource)


def target_states(target: Target, standby: StandbyNames, groups: list[TargetGroup]) -> dict[str, Counter[str]]:
    """Each target group's targets by state (healthy, initial, unhealthy, draining, ...)."""
    elbv2 = target.aws.client("elbv2", standby.region)
    states: dict[str, Counter[str]] = {}
    for group in groups:
        described: list[dict[str, Any]] = elbv2.describe_target_health(TargetGroupArn=group.arn)["TargetHealthDescriptions"]
        states[group.resource] = Counter(item["TargetHealth"]["State"] for item in described)
    return states


def serving(states: dict[str, Counter[str]]) -> bool:
    """Route 53's rule for an ALB alias: every target group has at least one healthy target (an empty one is unhealthy)."""
    return bool(states) and all(counts["healthy"] > 0 for counts in states.values())


def describe_states(states: dict[str, Counter[str]]) -> str:
    return "; ".join(
        f"{resource}: " + (", ".join(f"{count} {state}" for state, count in sorted(counts.items())) or "no targets")
        for resource, counts in states.items()
    )
