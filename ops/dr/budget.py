"""The recovery-time budgets: how the 30 minutes are spent, step by step (docs/disaster-recovery.md).

Two tables. `RTO_BUDGET` is the worst case inside the primary region (the database restored from
backups); `REGION_LOSS_BUDGET` is the loss of the primary region with a standby in the DR region
(`ops dr failover-region`). `ops dr drill` measures every step marked `measured` and adds the budget
of the steps it cannot run (people deciding; clients' DNS caches) to project the recovery time.
Each region-loss budget names the AWS figure it rests on, so a drill that misses one says which
assumption was wrong.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BudgetStep:
    key: str
    title: str
    minutes: float
    measured: bool  # False: a drill cannot run it; its budget counts in the projection
    basis: str = ""  # the documented figure the budget rests on


RTO_BUDGET: tuple[BudgetStep, ...] = (
    BudgetStep("detect", "alert fires, on-call acknowledges and decides", 5, False),
    BudgetStep("preflight", "credentials, spec, restorable window, placement checked", 1, True),
    BudgetStep("restore", "restore requested, instance available, settings applied", 15, True),
    BudgetStep("verify", "restored settings verified against the original", 1, True),
    BudgetStep("files", "files: point-in-time plan and DR replica check", 1, True),
    BudgetStep("switch", "switch-db: lock out, renames, managed master secret", 4, False),
    BudgetStep("application", "database-secret refreshed, clients rolled out and ready", 3, True),
)

# An alias record to a load balancer is answered with the load balancer's own TTL, 60 seconds
# ("Values that are common for alias records", Route 53 Developer Guide: "the TTL of the alias target").
ALIAS_TTL_SECONDS = 60
# The load balancer controller's target-group health check defaults (charts/ingress.py sets neither).
TARGET_HEALTH_CHECK_INTERVAL_SECONDS = 15
TARGET_HEALTHY_THRESHOLD = 2
TARGET_HEALTHY_SECONDS = TARGET_HEALTH_CHECK_INTERVAL_SECONDS * TARGET_HEALTHY_THRESHOLD

REGION_LOSS_BUDGET: tuple[BudgetStep, ...] = (
    BudgetStep(
        "detect",
        "primary health check fails, on-call acknowledges and decides on a region failover",
        5,
        False,
        "Route 53 marks the primary unhealthy after FailureThreshold consecutive failures at RequestInterval (spec "
        "dr.health_check_*: 3 x 30 s = 90 s; Route 53 DG, 'How Amazon Route 53 determines whether a health check is "
        "healthy'); the rest is people",
    ),
    BudgetStep(
        "preflight",
        "credentials, replica and its lag, standby cluster, DNS records checked",
        1,
        True,
        "read-only API calls in the DR region",
    ),
    BudgetStep(
        "fence",
        "primary applications scaled to 0 where the primary cluster still answers",
        1,
        True,
        "three Deployment patches; an unreachable primary costs one connect timeout",
    ),
    BudgetStep(
        "promote",
        "read replica promoted, standalone and available",
        10,
        True,
        "RDS reboots the replica; 'the promotion process can take several minutes or longer to complete, depending on the "
        "size of the read replica' (RDS UG, 'Promoting a read replica to be a standalone DB instance')",
    ),
    BudgetStep(
        "secrets",
        "DR database secrets promoted to standalone, pointed at the new primary, synced",
        2,
        True,
        "Secrets Manager StopReplicationToReplica and PutSecretValue (API reference), then one External Secrets refresh",
    ),
    BudgetStep(
        "application",
        "standby Deployments scaled up, nodes launched, every replica Ready",
        6,
        True,
        "Karpenter launches capacity 'in under a minute' (EKS UG, 'Scale cluster compute with Karpenter and Cluster "
        "Autoscaler'); node join, image pulls and readiness probes take the rest",
    ),
    BudgetStep(
        "dns",
        "standby targets healthy, primary health check pinned unhealthy, Route 53 answers the standby",
        1,
        True,
        "a new ALB target is healthy after the controller's default health check (healthy-threshold-count 2 x "
        f"healthcheck-interval-seconds 15 = {TARGET_HEALTHY_SECONDS} s at most; aws-load-balancer-controller v3.4.2 "
        "docs/guide/ingress/annotations.md); UpdateHealthCheck Disabled+Inverted: a disabled check counts as healthy, "
        "inverted as unhealthy (Route 53 API reference, HealthCheckConfig)",
    ),
    BudgetStep(
        "propagation",
        "resolvers' cached answers for the hosts expire",
        2,
        False,
        f"alias TTL {ALIAS_TTL_SECONDS} s plus Route 53's propagation 'within 60 seconds' (API reference, ChangeResourceRecordSets)",
    ),
)

SCENARIOS: dict[str, tuple[BudgetStep, ...]] = {"restore": RTO_BUDGET, "region-loss": REGION_LOSS_BUDGET}


def budget_minutes(budget: tuple[BudgetStep, ...] = RTO_BUDGET) -> float:
    return sum(step.minutes for step in budget)
