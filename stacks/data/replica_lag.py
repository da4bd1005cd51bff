"""The standby database's `ReplicaLag` alarm: the lag is what a region loss would lose (the RPO).

It watches the lowest value of each minute and fires only when all of `SUSTAINED_PERIODS` consecutive minutes
stay above the threshold: an idle source makes ReplicaLag climb up to five minutes and reset (envspec/replica_lag.py,
RDS User Guide), which a minute's maximum above 60 s for three minutes mistook for lag on every quiet night.
"""

from __future__ import annotations

from envspec import Names
from envspec.replica_lag import LAG_PERIOD_SECONDS, SUSTAINED_PERIODS
from stacks.observability.alarms import AlarmDefinition, Metric, MissingData

# A replica whose replication stopped publishes no ReplicaLag (RDS User Guide, "Monitoring read replication":
# ReplicaLag is reported while replication runs; a stopped or broken replica reports none, or -1 for PostgreSQL
# when it cannot tell): no data is as bad as too much lag.
MISSING_LAG = MissingData("breaching", "a replica that stopped replicating reports no lag; its data is falling behind")


def replica_lag_alarm(names: Names) -> AlarmDefinition:
    """`ReplicaLag` minimum above `alarms.rds_replica_lag_seconds` (at most the RPO, envspec/dr.py) in every minute of
    `SUSTAINED_PERIODS` in a row: longer than an idle source's sawtooth, so it fires on lag, not on quiet."""
    spec = names.spec
    rpo = spec.backup.recovery_point_objective_minutes
    return AlarmDefinition(
        purpose="rds-replica-lag",
        summary=f"The DR replica {names.database_identifier} has replayed nothing newer than "
        f"{spec.alarms.rds_replica_lag_seconds} s for {SUSTAINED_PERIODS} minutes (RPO {rpo} min): a region loss now could lose "
        "the writes of that time; an idle primary's climb to 5 min does not count.",
        comparison="GreaterThanThreshold",
        threshold=spec.alarms.rds_replica_lag_seconds,
        period=LAG_PERIOD_SECONDS,
        evaluation_periods=SUSTAINED_PERIODS,
        datapoints_to_alarm=SUSTAINED_PERIODS,
        missing=MISSING_LAG,
        runbook=("aws-rds", "replica-lag"),
        metric=Metric("AWS/RDS", "ReplicaLag", {"DBInstanceIdentifier": names.database_identifier}, "Minimum"),
    )
