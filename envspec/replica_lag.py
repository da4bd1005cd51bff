"""How RDS for PostgreSQL reports a read replica's `ReplicaLag`, for the standby's alarm and the failover preflight.

`ReplicaLag` is `now() - pg_last_xact_replay_timestamp()` on the replica (RDS User Guide, "Monitoring and tuning
the replication process"): the age of the last transaction replayed, not the amount of unreplayed work. With
nothing written on the source nothing is replayed, so the value grows with the clock: "A PostgreSQL read replica
reports a replication lag of up to five minutes if there are no user transactions occurring on the source DB
instance" (RDS User Guide, "Working with read replicas for Amazon RDS for PostgreSQL", read replica limitations).
On a quiet night it is a sawtooth: up to `IDLE_LAG_SECONDS`, then back to seconds once RDS's own periodic write
on the source is replayed. Nothing is unreplicated while it climbs.

So a lag is *real* only if it stays high across a whole idle interval: any window of `SUSTAINED_PERIODS` one-minute
datapoints (the idle interval plus two) holds a datapoint taken within one period of a reset, whose value is at
most one period plus the replay delay. A threshold of at least `MIN_THRESHOLD_SECONDS` (two periods) therefore
never sees idleness in the window's lowest datapoint. A single value above `IDLE_CEILING_SECONDS` cannot come from
idleness at all: replication has stopped or the source is gone.
"""

from __future__ import annotations

IDLE_LAG_SECONDS = 300  # "up to five minutes"
# RDS publishes its CloudWatch metrics once a minute (RDS User Guide, "Amazon CloudWatch metrics for Amazon RDS").
LAG_PERIOD_SECONDS = 60
SUSTAINED_PERIODS = IDLE_LAG_SECONDS // LAG_PERIOD_SECONDS + 2
MIN_THRESHOLD_SECONDS = 2 * LAG_PERIOD_SECONDS
IDLE_CEILING_SECONDS = IDLE_LAG_SECONDS + LAG_PERIOD_SECONDS
