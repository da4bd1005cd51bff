"""`ops dr failover-region`: move the environment to its standby in the DR region, step by step.

Steps, each timed against `REGION_LOSS_BUDGET` (ops/dr/budget.py):

1. preflight (read-only, DR region only): credentials and account, the replica and its `ReplicaLag`
   (what would be lost), the standby cluster ACTIVE and its Deployments readable, the DR replicas of
   the database secrets, the failover records and the primary's health check;
2. fence: where the primary cluster still answers, scale its application Deployments to 0 so nothing
   writes to the old database. Reversible (scale back), and it holds: the Deployments carry no fixed
   replica count (the HorizontalPodAutoscaler owns it, so Argo CD has nothing to revert), and an HPA
   stops adjusting a target scaled to 0 until someone scales it up again (Kubernetes documentation,
   "Horizontal Pod Autoscaling", implicit maintenance-mode deactivation). The primary database is not
   touched: a stopped instance "restarts automatically after 7 days" (RDS API reference,
   StopDBInstance), so stopping it is no lasting fence, its security and parameter groups are
   Terraform's, and with its region down its API does not answer anyway;
3. promote the read replica (`PromoteReadReplica`, with the spec's backup retention so the new
   primary has point-in-time recovery) and wait until it is standalone and available;
4. promote the DR replicas of the database secrets to standalone secrets
   (`StopReplicationToReplica`, called in the DR region: a replica secret cannot be written, Secrets
   Manager UG "Promote a replica secret to a standalone secret"), point their `host`/`port` at the new
   primary, and refresh the standby's ExternalSecrets;
5. scale the standby's Deployments to the spec's minimum replicas and wait until every one is Ready;
6. wait, within the DNS step's budget, until every target group of the standby's Ingress has a healthy
   target (ops/dr/targets.py: a Ready pod is registered and health-checked by the ALB only afterwards),
   then pin the primary's health check unhealthy so Route 53 answers the standby, and verify the answer.

DNS moves last: before the database is promoted, the applications are Ready and the load balancer
serves them, the standby would answer errors (or Route 53 would keep answering the primary). Every
step first looks at what is already done, so a second run after a partial one resumes where the
first stopped.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from kubernetes.client.exceptions import ApiException

from envspec.topology import COMPONENTS, workload
from ops.console import fields, say, step, warn
from ops.context import Target
from ops.dr.budget import REGION_LOSS_BUDGET, budget_minutes
from ops.dr.database import describe_instance
from ops.dr.drill import DrillResult, timed
from ops.dr.standby import (
    ReplicaState,
    SecretState,
    StandbyNames,
    check_cluster,
    check_lag,
    check_mode,
    read_replica,
    read_secrets,
    standby_names,
)
from ops.dr.targets import TargetGroup, describe_states, find_target_groups, serving, target_states
from ops.dr.traffic import FailoverRecord, describe_target, find_records, pin_unhealthy, pinned, routed
from ops.errors import EnvironmentProblem, InputError, OpsError
from ops.kube import Kube, rollout_status
from ops.timeutil import iso, now
from ops.waiting import Poll, wait_for

# The primary region may be down: one bounded attempt per call to its Kubernetes API.
PRIMARY_TIMEOUT_SECONDS = 10.0


@dataclass
class FailoverPlan:
    standby: StandbyNames
    replica: ReplicaState
    cluster: dict[str, Any]
    standby_replicas: dict[str, int]  # Deployment -> replicas now
    wanted: dict[str, int]  # Deployment -> the spec's minimum
    secrets: list[SecretState]
    records: list[FailoverRecord]
    pinned_checks: set[str]
    primary: Kube | None
    primary_note: str
    objective_minutes: int
    target_groups: list[TargetGroup] = field(default_factory=list)
    target_note: str = ""
    warnings: list[str] = field(default_factory=list)

    def print(self) -> None:
        replica = self.replica
        if replica.promoted:
            database = f"{replica.identifier} already promoted ({replica.status})"
            loss = "sealed at the earlier promotion"
        else:
            source = replica.instance["ReadReplicaSourceDBInstanceIdentifier"]
            database = f"{replica.identifier} read replica ({replica.status}) of {source}"
            loss = "unknown (no ReplicaLag data)" if replica.lag_seconds is None else f"about {replica.lag_seconds:.0f}s of writes"
            if replica.lag_at is not None:
                loss += f" (ReplicaLag at {iso(replica.lag_at)})"
            if replica.newest_seconds is not None and replica.lag_seconds is not None and replica.newest_seconds > replica.lag_seconds:
                loss += (
                    f"; newest ReplicaLag {replica.newest_seconds:.0f}s: the time since the last replayed transaction, "
                    "which also grows while the primary is idle or gone"
                )
        rows = [
            ("DR region", self.standby.region),
            ("database", database),
            ("would be lost", loss),
            ("standby cluster", f"{self.standby.cluster_name} {self.cluster['status']} (Kubernetes {self.cluster.get('version', '?')})"),
            ("standby apps", ", ".join(f"{name} {self.standby_replicas[name]}->{self.wanted[name]}" for name in self.wanted)),
            ("secrets", ", ".join(f"{item.remote_name} ({'replica' if item.replica else 'standalone'})" for item in self.secrets)),
            ("primary cluster", self.primary_note),
            ("standby targets", self.target_note),
        ]
        for record in self.records:
            state = "pinned unhealthy" if record.health_check_id in self.pinned_checks else "live"
            rows.append((record.host, f"{describe_target(record.primary)} | {describe_target(record.secondary)} (health check {state})"))
        minutes = budget_minutes(REGION_LOSS_BUDGET)
        rows.append(("expected duration", f"{minutes:g} min by the region-loss budget (objective {self.objective_minutes} min)"))
        say(fields(rows))
        for item in self.warnings:
            warn(item)

    def steps(self) -> list[str]:
        return [
            "fence: scale " + ", ".join(self.wanted) + " to 0 in the primary cluster" + ("" if self.primary else " (unreachable: skipped)"),
            f"promote {self.replica.identifier}" + (" (done)" if self.replica.promoted else " and wait until available"),
            "promote the DR database secrets to standalone, point them at the new primary, refresh the ExternalSecrets",
            "scale the standby's Deployments to " + ", ".join(f"{name}={count}" for name, count in self.wanted.items()) + "; wait",
            "wait until every standby target group has a healthy target; pin the primary health check unhealthy "
            "(Disabled+Inverted); verify Route 53 answers the standby",
        ]


def _primary(target: Target, factory: Callable[[], Kube] | None) -> tuple[Kube | None, str]:
    """The primary cluster, if it answers; a failover never depends on it."""
    import urllib3

    if factory is None:
        return None, "not asked (--skip-fence)"
    try:
        kube = factory()
        kube.deployment(COMPONENTS[0].name)
    except EnvironmentProblem as error:
        return None, f"no access ({error})"
    except (urllib3.exceptions.HTTPError, ApiException, OSError) as error:
        return None, f"does not answer ({type(error).__name__})"
    return kube, f"answers ({kube.context})"


def plan_failover(
    target: Target,
    standby_kube: Kube,
    primary_factory: Callable[[], Kube] | None,
    accept_data_loss: bool,
) -> FailoverPlan:
    check_mode(target)  # again: the plan must never be made for an environment without a standby
    standby = standby_names(target.names)
    replica = read_replica(target, standby)
    check_lag(target, replica, accept_data_loss)
    cluster = check_cluster(target, standby)
    current, wanted = {}, {}
    for component in COMPONENTS:
        deployment = _standby_deployment(standby_kube, component.name, standby)
        current[component.name] = int(deployment.get("spec", {}).get("replicas", 0))
        wanted[component.name] = workload(target.spec, component).autoscaling.min_replicas
    secrets = read_secrets(target, standby)
    records = find_records(target)
    route53 = target.aws.client("route53", "us-east-1")
    pinned_checks = {
        record.health_check_id
        for record in records
        if pinned(route53.get_health_check(HealthCheckId=record.health_check_id)["HealthCheck"]["HealthCheckConfig"])
    }
    groups = find_target_groups(target, standby)
    primary, note = _primary(target, primary_factory)
    plan = FailoverPlan(
        standby, replica, cluster, current, wanted, secrets, records, pinned_checks, primary, note,
        target.spec.backup.recovery_time_objective_minutes, groups, describe_states(target_states(target, standby, groups)),
    )  # fmt: skip
    if accept_data_loss and not replica.promoted:
        plan.warnings.append("--accept-data-loss: the replica is promoted whatever its lag")
    return plan


def _standby_deployment(kube: Kube, name: str, standby: StandbyNames) -> dict[str, Any]:
    try:
        return kube.deployment(name)
    except ApiException as error:
        if error.status == 404:
            raise EnvironmentProblem(
                f"the standby cluster {standby.cluster_name} has no deployment {name}: Argo CD has not synced it; nothing was changed"
            ) from None
        raise


def needs_person(target: Target) -> bool:
    """Production fails over only for a person at a terminal, as critical restarts do."""
    return target.spec.is_production


def confirm_failover(target: Target, ask: Callable[[str], str] = input) -> None:
    if not sys.stdin.isatty():
        raise InputError(
            f"a region failover of {target.env} needs a person: run `ops dr failover-region` from a terminal and confirm; "
            "nothing was changed"
        )
    answer = ask(f"Fail {target.env} over to {target.names.dr_region}: type the environment name ({target.env}) to continue: ")
    if answer.strip() != target.env:
        raise InputError("confirmation did not match; nothing was changed")


# --- the steps ---------------------------------------------------------------------------------


def fence(plan: FailoverPlan) -> None:
    if plan.primary is None:
        say(f"    primary cluster {plan.primary_note}: not fenced; the pinned health check keeps users away from it")
        say("    when the primary region returns, run failover-region again before anything else: it fences then")
        return
    import urllib3

    for name in plan.wanted:
        try:
            replicas = int(plan.primary.deployment(name).get("spec", {}).get("replicas", 0))
            if replicas == 0:
                say(f"    primary deployment/{name} already at 0")
                continue
            step(f"scaling primary deployment/{name} {replicas} -> 0")
            plan.primary.scale(name, 0)
        except (urllib3.exceptions.HTTPError, ApiException, OSError) as error:
            warn(f"primary deployment/{name} could not be scaled ({type(error).__name__}); continuing: the region is failing")


def promote(target: Target, plan: FailoverPlan, poll: Poll) -> dict[str, Any]:
    rds = target.aws.client("rds", plan.standby.region)
    identifier = plan.standby.database_identifier
    current = describe_instance(rds, identifier) or {}
    if current.get("ReadReplicaSourceDBInstanceIdentifier"):
        step(f"promoting {identifier} to a standalone instance")
        rds.promote_read_replica(DBInstanceIdentifier=identifier, BackupRetentionPeriod=target.spec.database.backup_retention_days)
    else:
        say(f"    {identifier} is already standalone")

    def standalone() -> tuple[bool, str]:
        instance = describe_instance(rds, identifier) or {}
        replica = bool(instance.get("ReadReplicaSourceDBInstanceIdentifier"))
        status = instance.get("DBInstanceStatus", "missing")
        return (status == "available" and not replica), f"{status}{', still a replica' if replica else ''}"

    wait_for(identifier, standalone, poll)
    return describe_instance(rds, identifier) or {}


def point_secrets(target: Target, plan: FailoverPlan, instance: dict[str, Any], kube: Kube, poll: Poll) -> None:
    secretsmanager = target.aws.client("secretsmanager", plan.standby.region)
    address, port = instance["Endpoint"]["Address"], int(instance["Endpoint"]["Port"])
    at = now()

    def standalone(name: str) -> bool:
        return secretsmanager.describe_secret(SecretId=name).get("PrimaryRegion", plan.standby.region) == plan.standby.region

    def replica_state(name: str) -> tuple[bool, str]:
        done = standalone(name)
        return done, "standalone" if done else "still a replica"

    for secret in plan.secrets:
        if not standalone(secret.remote_name):
            step(f"promoting the replica of {secret.remote_name} to a standalone secret in {plan.standby.region}")
            secretsmanager.stop_replication_to_replica(SecretId=secret.remote_name)
            # A replica refuses PutSecretValue; write only once Secrets Manager reports it standalone.
            wait_for(secret.remote_name, lambda name=secret.remote_name: replica_state(name), poll)
        value = json.loads(secretsmanager.get_secret_value(SecretId=secret.remote_name)["SecretString"])
        if value.get("host") == address and int(value.get("port", 0)) == port:
            say(f"    {secret.remote_name} already names {address}:{port}")
        else:
            step(f"pointing {secret.remote_name} at {address}:{port}")
            updated = {**value, "host": address, "port": port}
            secretsmanager.put_secret_value(SecretId=secret.remote_name, SecretString=json.dumps(updated, sort_keys=True))
        kube.force_sync_external_secret(secret.kubernetes_name, iso(at))

    for secret in plan.secrets:

        def synced(name: str = secret.kubernetes_name) -> tuple[bool, str]:
            status = kube.external_secret(name).get("status", {})
            refreshed = status.get("refreshTime", "")
            ready = any(item.get("type") == "Ready" and item.get("status") == "True" for item in status.get("conditions", []))
            return bool(ready and refreshed >= iso(at)), f"refreshed {refreshed or 'never'}, ready={ready}"

        wait_for(f"externalsecret/{secret.kubernetes_name}", synced, poll)


def scale_up(plan: FailoverPlan, kube: Kube, poll: Poll) -> None:
    generations = {}
    for name, wanted in plan.wanted.items():
        current = kube.deployment(name)
        replicas = int(current.get("spec", {}).get("replicas", 0))
        if replicas >= wanted:
            say(f"    standby deployment/{name} already at {replicas}")
            generations[name] = int(current["metadata"].get("generation", 0))
            continue
        step(f"scaling standby deployment/{name} {replicas} -> {wanted}")
        generations[name] = int(kube.scale(name, wanted)["metadata"].get("generation", 0))
    for name, generation in generations.items():
        wait_for(f"deployment/{name}", lambda name=name, generation=generation: rollout_status(kube.deployment(name), generation), poll)


def wait_for_targets(target: Target, plan: FailoverPlan, poll: Poll) -> bool:
    """Wait until the standby's ALB serves (every target group has a healthy target), at most the DNS step's budget.

    moto 5.2.5 reports a registered target `healthy` at once and never `initial` (moto/elbv2/models.py
    `FakeTargetGroup.health_for`); the tests emulate the controller's registration and ELB's initial checks."""
    budget = next(item for item in REGION_LOSS_BUDGET if item.key == "dns").minutes * 60
    bounded = Poll(poll.interval_seconds, min(poll.timeout_seconds, budget), poll.heartbeat_every)
    state: dict[str, bool] = {}

    def check() -> tuple[bool, str]:
        states = target_states(target, plan.standby, plan.target_groups)
        state["serving"] = serving(states)
        return state["serving"], describe_states(states)

    wait_for("standby load balancer targets", check, bounded)
    return state["serving"]


def move_traffic(target: Target, plan: FailoverPlan, secondary_ready: bool) -> list[str]:
    """Pin every primary health check unhealthy; return the hosts Route 53 does not yet answer from the standby."""
    for check in sorted({record.health_check_id for record in plan.records}):
        if pin_unhealthy(target, check):
            step(f"pinned health check {check} unhealthy (Disabled+Inverted)")
        else:
            say(f"    health check {check} already pinned")
    missing = []
    for record in plan.records:
        answer = routed(target, record, secondary_ready=secondary_ready)
        say(f"    {record.host} -> {describe_target(record.secondary if answer == 'SECONDARY' else record.primary)}")
        if answer != "SECONDARY":
            missing.append(record.host)
    return missing


def _describe(error: Exception) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{error.operation_name} failed: {details.get('Code', '?')}: {details.get('Message', '')}"
    if isinstance(error, ApiException):
        return f"Kubernetes API answered {error.status} {error.reason}"
    return str(error)


def run_failover(target: Target, plan: FailoverPlan, standby_kube: Kube, poll: Poll, result: DrillResult) -> DrillResult:
    """Run the steps after preflight, each timed into `result`; stop at the first failure (a rerun resumes)."""
    try:
        with timed(result, "fence"):
            step("fence: stop the primary's writers")
            fence(plan)
        with timed(result, "promote"):
            instance = promote(target, plan, poll)
        with timed(result, "secrets"):
            point_secrets(target, plan, instance, standby_kube, poll)
        with timed(result, "application"):
            scale_up(plan, standby_kube, poll)
        with timed(result, "dns"):
            step("DNS: wait until the standby's load balancer serves, then move the hosts to it")
            missing = move_traffic(target, plan, wait_for_targets(target, plan, poll))
            if missing:
                raise OpsError(f"Route 53 does not answer the standby for {', '.join(missing)}; check its SECONDARY health")
    except (OpsError, ClientError, ApiException) as error:
        result.failures.append(_describe(error))
        say("a second run of the same command resumes from the step that failed")
    return result
