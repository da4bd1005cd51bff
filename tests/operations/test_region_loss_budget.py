"""The region-loss budget and the Route 53 rules the failover relies on, without any emulator."""

from __future__ import annotations

import pytest

from charts.ingress import alb_annotations
from envspec import names_for
from envspec.naming import APP_NAMESPACE, INGRESS_NAME
from ops.dr.budget import REGION_LOSS_BUDGET, RTO_BUDGET, SCENARIOS, TARGET_HEALTHY_SECONDS, budget_minutes
from ops.dr.targets import ingress_stack
from ops.dr.traffic import answer, considered_healthy
from tests.conftest import SPECS

STANDBYS = [env for env, spec in SPECS.items() if spec.dr.has_standby]


def test_the_region_loss_budget_fits_30_minutes_and_every_standbys_objective() -> None:
    assert budget_minutes(REGION_LOSS_BUDGET) <= 30
    assert STANDBYS and all(budget_minutes(REGION_LOSS_BUDGET) <= SPECS[env].backup.recovery_time_objective_minutes for env in STANDBYS)
    assert SCENARIOS == {"restore": RTO_BUDGET, "region-loss": REGION_LOSS_BUDGET}


def test_every_region_loss_step_names_its_basis_and_the_drill_measures_all_but_people_and_caches() -> None:
    assert all(step.basis for step in REGION_LOSS_BUDGET)
    assert [step.key for step in REGION_LOSS_BUDGET if not step.measured] == ["detect", "propagation"]
    assert [step.key for step in REGION_LOSS_BUDGET] == [
        "detect", "preflight", "fence", "promote", "secrets", "application", "dns", "propagation",
    ]  # fmt: skip


@pytest.mark.parametrize("env", STANDBYS)
def test_detection_by_the_health_check_fits_inside_the_detect_budget(env: str) -> None:
    """Route 53 sees the primary unhealthy after FailureThreshold x RequestInterval (Route 53 DG, "How
    Amazon Route 53 determines whether a health check is healthy"); people need the rest of the step."""
    detect = next(step for step in REGION_LOSS_BUDGET if step.key == "detect")
    assert SPECS[env].dr.failover_detection_seconds <= detect.minutes * 60 / 2


def test_a_disabled_check_counts_healthy_and_an_inverted_one_the_opposite() -> None:
    """Route 53 API reference, HealthCheckConfig: `Disabled` - "Route 53 considers the status of the
    health check to always be healthy ... If you want to stop routing traffic to a resource, change the
    value of Inverted"; `Inverted` - "consider a health check unhealthy when it otherwise would be
    considered healthy". Disabled and Inverted together: unhealthy whatever the checkers see."""
    for observed in (True, False):
        assert considered_healthy({"Disabled": False, "Inverted": False}, observed) is observed
        assert considered_healthy({"Disabled": False, "Inverted": True}, observed) is not observed
        assert considered_healthy({"Disabled": True, "Inverted": False}, observed) is True
        assert considered_healthy({"Disabled": True, "Inverted": True}, observed) is False


def test_route53_answers_the_secondary_only_when_the_primary_is_unhealthy_and_the_secondary_healthy() -> None:
    """Route 53 API reference, ResourceRecordSet `Failover`: primary healthy -> primary "regardless of the
    health of the secondary"; primary unhealthy and secondary healthy -> secondary; secondary unhealthy
    -> primary "regardless of the health of the primary". So a standby whose load balancer has no
    healthy targets yet (pilot light at zero replicas) is never answered."""
    assert answer(primary_healthy=True, secondary_healthy=True) == "PRIMARY"
    assert answer(primary_healthy=True, secondary_healthy=False) == "PRIMARY"
    assert answer(primary_healthy=False, secondary_healthy=True) == "SECONDARY"
    assert answer(primary_healthy=False, secondary_healthy=False) == "PRIMARY"


@pytest.mark.parametrize("env", STANDBYS)
def test_the_failover_finds_the_standby_target_groups_by_the_stack_the_controller_tags(env: str) -> None:
    """aws-load-balancer-controller v3.4.2: `ingress.k8s.aws/stack` is the group name for an explicit IngressGroup
    and `<namespace>/<ingress name>` for an implicit one (pkg/deploy/tracking/provider.go, pkg/ingress/group.go).
    The standby's Ingress names no group, so its stack is the application's Ingress in the application namespace;
    and the controller's default health check (annotations.md: interval 15 s, healthy threshold 2) reports a new
    target healthy well within the DNS step's budget, which bounds the wait."""
    annotations = alb_annotations(names_for(SPECS[env]).standby)
    assert "alb.ingress.kubernetes.io/group.name" not in annotations
    for setting in ("healthcheck-interval-seconds", "healthy-threshold-count"):
        assert f"alb.ingress.kubernetes.io/{setting}" not in annotations  # the defaults apply
    assert ingress_stack() == f"{APP_NAMESPACE}/{INGRESS_NAME}"
    dns = next(step for step in REGION_LOSS_BUDGET if step.key == "dns")
    assert dns.minutes * 60 / 2 >= TARGET_HEALTHY_SECONDS
