"""The environment's standby in the DR region, as `ops dr failover-region` reads it.

Names come from `envspec.naming` (the DR stacks build the same ones): the cross-region read replica
`<prefix>-dr`, the standby EKS cluster `<prefix>-dr`, and the Secrets Manager replicas of the
application's secrets (same names, in the DR region). Everything here is read-only and asks only the
DR region, so it works with the primary region gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from envspec import Names
from envspec.replica_lag import IDLE_CEILING_SECONDS, LAG_PERIOD_SECONDS, SUSTAINED_PERIODS
from ops.context import Target
from ops.dr.database import describe_instance
from ops.errors import EnvironmentProblem, InputError
from ops.kube import ClusterRef
from ops.timeutil import now

# Secrets whose `host` names the database: the application's and the migration Job's login
# (charts/secrets.py renders each `url` from its own login secret).
DATABASE_LOGIN_SECRETS = ("database-secret", "database-migration-secret")
# RDS publishes ReplicaLag every minute for a read replica (RDS UG, "Amazon CloudWatch metrics for
# Amazon RDS": "The amount of time a read replica DB instance lags behind the source DB instance").
LAG_WINDOW = timedelta(minutes=15)
FAILOVER_MODES = ("pilot-light", "warm-standby")


@dataclass(frozen=True)
class StandbyNames:
    region: str
    database_identifier: str
    cluster_name: str

    @property
    def cluster(self) -> ClusterRef:
        return ClusterRef(self.region, self.cluster_name)


def standby_names(names: Names) -> StandbyNames:
    return StandbyNames(names.dr_region, names.dr_database_identifier, names.dr_cluster_name)


def dr_mode(target: Target) -> str:
    return target.spec.dr.mode


def check_mode(target: Target) -> None:
    mode = dr_mode(target)
    if mode not in FAILOVER_MODES:
        raise InputError(
            f"environment '{target.env}' has dr.mode {mode}: there is no standby to fail over to; restore in the DR region "
            f"instead (`ops dr restore-db --env {target.env} --region dr ...`, docs/disaster-recovery.md#region-loss)"
        )


def real_lag(minima: list[float], newest: float) -> float:
    """The lag that is not an idle source's: what a region loss now would lose, in seconds.

    `minima` are the per-minute minimum ReplicaLag values, oldest first, `newest` the latest maximum. Above
    `IDLE_CEILING_SECONDS` no idleness explains a value: replication stopped, or the source is gone and the lag
    grows with the clock; take it as it is (a person decides, --accept-data-loss). Below it, an idle source's
    sawtooth resets at least once in any `SUSTAINED_PERIODS` minutes, so the lowest of the latest ones is the lag
    that held throughout (envspec/replica_lag.py; RDS User Guide, PostgreSQL read replica limitations: "up to five
    minutes if there are no user transactions occurring on the source DB instance")."""
    if newest > IDLE_CEILING_SECONDS or not minima:
        return newest
    return min(minima[-SUSTAINED_PERIODS:])


@dataclass(frozen=True)
class ReplicaState:
    instance: dict[str, Any]
    lag_seconds: float | None  # the real lag (`real_lag`); None: no data in the window
    lag_at: datetime | None
    newest_seconds: float | None = None  # the newest ReplicaLag value itself

    @property
    def identifier(self) -> str:
        return str(self.instance["DBInstanceIdentifier"])

    @property
    def promoted(self) -> bool:
        """A read replica names its source; a promoted (standalone) instance does not."""
        return not self.instance.get("ReadReplicaSourceDBInstanceIdentifier")

    @property
    def status(self) -> str:
        return str(self.instance["DBInstanceStatus"])

    @property
    def endpoint(self) -> tuple[str, int]:
        endpoint = self.instance["Endpoint"]
        return str(endpoint["Address"]), int(endpoint["Port"])


def read_replica(target: Target, standby: StandbyNames) -> ReplicaState:
    rds = target.aws.client("rds", standby.region)
    instance = describe_instance(rds, standby.database_identifier)
    if instance is None:
        raise InputError(
            f"no DR database {standby.database_identifier} in {standby.region}; the {target.env}-dr-data stack creates it; "
            "nothing was changed"
        )
    lag, at = None, None
    if instance.get("ReadReplicaSourceDBInstanceIdentifier"):
        moment = now()
        points = target.aws.client("cloudwatch", standby.region).get_metric_statistics(
            Namespace="AWS/RDS",
            MetricName="ReplicaLag",
            Dimensions=[{"Name": "DBInstanceIdentifier", "Value": standby.database_identifier}],
            StartTime=moment - LAG_WINDOW,
            EndTime=moment,
            Period=LAG_PERIOD_SECONDS,
            Statistics=["Minimum", "Maximum"],
        )["Datapoints"]
        if points:
            ordered = sorted(points, key=lambda point: point["Timestamp"])
            newest = float(ordered[-1]["Maximum"])
            lag, at = real_lag([float(point["Minimum"]) for point in ordered], newest), ordered[-1]["Timestamp"]
            return ReplicaState(instance, lag, at, newest)
    return ReplicaState(instance, lag, at)


def check_lag(target: Target, replica: ReplicaState, accept_data_loss: bool) -> None:
    """Refuse a promotion that would lose more than the RPO, unless a person accepted it.

    RDS PostgreSQL reports ReplicaLag as `now() - pg_last_xact_replay_timestamp()` on the replica (RDS
    UG, "Monitoring and tuning the replication process"), so it grows with the clock whenever nothing is
    replayed: on an idle source up to five minutes and back (judged by `real_lag`, not refused), and
    once the source is gone for good, when it measures how stale the replica is and the writes actually
    lost are those of the last moments before the primary stopped.
    """
    if replica.promoted or accept_data_loss:
        return
    objective = target.spec.backup.recovery_point_objective_minutes * 60
    if replica.lag_seconds is None:
        raise InputError(
            f"{replica.identifier} reported no ReplicaLag in the last {LAG_WINDOW.seconds // 60} minutes: what would be lost is "
            "unknown; check replication, or pass --accept-data-loss; nothing was changed"
        )
    if replica.lag_seconds > objective:
        raise InputError(
            f"{replica.identifier} lags {replica.lag_seconds:.0f}s behind the primary, beyond the {objective}s recovery point "
            "objective; if the primary is gone the lag grows with the clock (see docs/disaster-recovery.md#region-loss): "
            "pass --accept-data-loss to promote anyway; nothing was changed"
        )


def check_cluster(target: Target, standby: StandbyNames) -> dict[str, Any]:
    """The standby EKS cluster must be ACTIVE (EKS API DescribeCluster `status`)."""
    from botocore.exceptions import ClientError

    try:
        cluster = target.aws.client("eks", standby.region).describe_cluster(name=standby.cluster_name)["cluster"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            raise EnvironmentProblem(
                f"no standby cluster {standby.cluster_name} in {standby.region}; the {target.env}-dr-cluster stack creates it"
            ) from None
        raise
    if cluster["status"] != "ACTIVE":
        raise EnvironmentProblem(f"standby cluster {standby.cluster_name} is {cluster['status']}, not ACTIVE; nothing was changed")
    return dict(cluster)


@dataclass(frozen=True)
class SecretState:
    kubernetes_name: str
    remote_name: str
    replica: bool  # still a read-only replica of the primary region's secret
    host: str | None


def read_secrets(target: Target, standby: StandbyNames) -> list[SecretState]:
    import json

    from botocore.exceptions import ClientError

    secretsmanager = target.aws.client("secretsmanager", standby.region)
    found = []
    for kubernetes_name in DATABASE_LOGIN_SECRETS:
        remote = target.names.app_secret(kubernetes_name).remote_name
        try:
            description = secretsmanager.describe_secret(SecretId=remote)
            value = json.loads(secretsmanager.get_secret_value(SecretId=remote)["SecretString"])
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceNotFoundException":
                raise InputError(
                    f"secret {remote} has no replica in {standby.region}; the data stack replicates it; nothing was changed"
                ) from None
            raise
        primary_region = description.get("PrimaryRegion")
        found.append(SecretState(kubernetes_name, remote, bool(primary_region and primary_region != standby.region), value.get("host")))
    return found
