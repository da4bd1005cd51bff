"""Every load balancer controller annotation the charts write is one the pinned controller reads.

The pinned chart `aws-load-balancer-controller` 3.4.2 ships controller v3.4.2 (`Chart.yaml`
appVersion v3.4.2, `values.yaml` image tag v3.4.2). Read in kubernetes-sigs/aws-load-balancer-controller
at tag v3.4.2 (commit 22f6cd7fbfc3f3bdf14bfc41ef780510730b0cfe); `READ_AT_TAG` names, for each
annotation suffix the charts use, the file that parses it and from which object:

- Ingress only: parsed from `member.Ing.Annotations`;
- Service or Ingress: parsed from `svcAndIngAnnotations = MergeStringMap(svc.Annotations,
  ing.Ing.Annotations)` (pkg/ingress/model_build_target_group.go), where the first map wins, so a
  Service's value overrides the Ingress's for its own target group.

An annotation the controller does not read is silently ignored, so a misspelt or moved annotation
would ship an ALB without the WAF, the access logs or the health check the charts meant. Anything
added to the charts fails here until it is checked at the pinned tag and added to the table. The
attribute keys of `load-balancer-attributes` are passed to ELB unchanged
(pkg/ingress/model_build_load_balancer_attributes.go), so they are checked against the ELB User Guide
for Application Load Balancers, "Load balancer attributes".

Not used, and why: `wafv2-acl-arn` (an ACL's ARN ends in an id WAF generates, so no spec can know it;
`wafv2-acl-name` at this tag resolves the name with wafv2:ListWebACLs, Scope REGIONAL, exact match,
cached 60 minutes, pkg/ingress/model_builder.go `getArnByName`); `certificate-arn` (certificate
discovery by the rules' hosts, pkg/certs/cert_discovery.go: ISSUED certificates whose SANs equal the
host or match it as a one-label wildcard); `group.name` (one Ingress is its own group; the generated
load balancer name is replaced by `load-balancer-name`, at most 32 characters,
pkg/ingress/model_build_load_balancer.go).
"""

from __future__ import annotations

import pytest

from charts.addons import LOAD_BALANCER_CONTROLLER_CHART
from tests.conftest import ENVIRONMENTS, Synthesis

PREFIX = "alb.ingress.kubernetes.io/"
CONTROLLER_TAG = "v3.4.2"
INGRESS, SERVICE_OR_INGRESS = "Ingress", "Service or Ingress"
READ_AT_TAG: dict[str, tuple[str, str]] = {
    "load-balancer-name": (INGRESS, "pkg/ingress/model_build_load_balancer.go"),
    "scheme": (INGRESS, "pkg/ingress/model_build_load_balancer.go"),
    "ip-address-type": (INGRESS, "pkg/ingress/model_build_load_balancer.go"),
    "load-balancer-attributes": (INGRESS, "pkg/ingress/model_build_load_balancer_attributes.go"),
    "listen-ports": (INGRESS, "pkg/ingress/model_build_listener.go"),
    "ssl-policy": (INGRESS, "pkg/ingress/model_build_listener.go"),
    "ssl-redirect": (INGRESS, "pkg/ingress/model_builder.go"),
    "wafv2-acl-name": (INGRESS, "pkg/ingress/model_build_load_balancer_addons.go"),
    "tags": (SERVICE_OR_INGRESS, "pkg/ingress/model_build_tags.go"),
    "target-type": (SERVICE_OR_INGRESS, "pkg/ingress/model_build_target_group.go"),
    "backend-protocol": (SERVICE_OR_INGRESS, "pkg/ingress/model_build_target_group.go"),
    "target-group-attributes": (SERVICE_OR_INGRESS, "pkg/ingress/model_build_target_group.go"),
    "healthcheck-path": (SERVICE_OR_INGRESS, "pkg/ingress/model_build_target_group.go"),
    "success-codes": (SERVICE_OR_INGRESS, "pkg/ingress/model_build_target_group.go"),
}
# ELB User Guide for Application Load Balancers, "Load balancer attributes" (the keys used here).
ALB_ATTRIBUTES = {
    "access_logs.s3.enabled",
    "access_logs.s3.bucket",
    "access_logs.s3.prefix",
    "deletion_protection.enabled",
    "routing.http.drop_invalid_header_fields.enabled",
}
# ELB User Guide, "Security policies for your Application Load Balancer" (TLS 1.3 + 1.2 policies).
TLS13_POLICIES = {"ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"}


def _controller_annotations(document: dict) -> dict[str, str]:
    annotations = document["metadata"].get("annotations", {})
    return {key.removeprefix(PREFIX): value for key, value in annotations.items() if key.startswith(PREFIX)}


def test_the_table_is_for_the_pinned_controller() -> None:
    """Bumping the chart means reading the annotations again at the new controller tag."""
    assert LOAD_BALANCER_CONTROLLER_CHART.version == CONTROLLER_TAG.removeprefix("v")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_controller_reads_every_annotation_where_the_charts_put_it(env: str, synthesis: Synthesis) -> None:
    (ingress,) = synthesis.find(env, "Ingress")
    ingress_annotations = _controller_annotations(ingress)
    unknown = set(ingress_annotations) - set(READ_AT_TAG)
    assert not unknown, f"not read by the controller at {CONTROLLER_TAG} (or not yet checked): {sorted(unknown)}"
    backends = {path["backend"]["service"]["name"] for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]}
    for service in synthesis.find(env, "Service"):
        annotations = _controller_annotations(service)
        if not annotations:
            continue
        assert service["metadata"]["name"] in backends, "the controller reads Service annotations only of an Ingress's backends"
        misplaced = {key for key in annotations if READ_AT_TAG.get(key, (INGRESS,))[0] != SERVICE_OR_INGRESS}
        assert not misplaced, f"read only from the Ingress at {CONTROLLER_TAG}: {sorted(misplaced)}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_load_balancer_attributes_and_tls_policy_are_elb_s(env: str, synthesis: Synthesis) -> None:
    (ingress,) = synthesis.find(env, "Ingress")
    annotations = _controller_annotations(ingress)
    attributes = dict(item.split("=", 1) for item in annotations["load-balancer-attributes"].split(","))
    assert set(attributes) <= ALB_ATTRIBUTES, set(attributes) - ALB_ATTRIBUTES
    assert annotations["ssl-policy"] in TLS13_POLICIES
    assert len(annotations["load-balancer-name"]) <= 32, "the controller refuses a longer name"
