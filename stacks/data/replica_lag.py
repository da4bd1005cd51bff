"""The standby database's `ReplicaLag` alarm: the lag is what a region loss would lose (the RPO)."""

from __future__ import annotations

from envspec import Names
from stacks.observability.alarms import AlarmDefinition, Metric, MissingData

# A replica whose replication stopped publishes no ReplicaLag (RDS User Guide, "Monitoring read replication":
# ReplicaLag is reported while replication runs; a stopped or broken replica reports none, or -1 for PostgreSQL
# when it cannot tell): no data is as bad as too much lag.
MISSING_LAG = MissingData("breaching", "a replica that stopped replicating reports no lag; its data is falling behind")


def replica_lag_alarm(names: Names) -> AlarmDefinition:
    """`ReplicaLag` maximum above `alarms.rds_replica_lag_seconds` (at most the RPO, envspec/dr.py) in 3 of 3 minutes."""
    spec = names.spec
    rpo = spec.backup.recovery_point_objective_minutes
    return AlarmDefinition(
        purpose="rds-replica-lag",
        summary=f"The DR replica {names.database_identifier} lags its primary: a region loss now would lose more than "
        f"{spec.alarms.rds_replica_lag_seconds} s of writes (RPO {rpo} min).",
        comparison="GreaterThanThreshold",
        threshold=spec.alarms.rds_replica_lag_seconds,
        period=60,
        evaluation_periods=3,
        datapoints_to_alarm=3,
        missing=MISSING_LAG,
        runbook=("aws-rds", "replica-lag"),
        metric=Metric("AWS/RDS", "ReplicaLag", {"DBInstanceIdentifier": names.database_identifier}, "Maximum"),
    )
