"""The standby replica's ReplicaLag alarm fires on real lag, never on an idle primary.

The rule (RDS User Guide, "Working with read replicas for Amazon RDS for PostgreSQL", read replica limitations): "A
PostgreSQL read replica reports a replication lag of up to five minutes if there are no user transactions occurring
on the source DB instance"; ReplicaLag is `now() - pg_last_xact_replay_timestamp()` on the replica ("Monitoring and
tuning the replication process"), so on a quiet night it climbs with the clock and drops back once RDS's periodic
write on the source is replayed. CloudWatch evaluates an alarm over its last `evaluation_periods` datapoints and goes
to ALARM when `datapoints_to_alarm` of them breach (CloudWatch User Guide, "Evaluating an alarm"). Below, both are
simulated minute by minute: a night of idleness (any phase, a replay delay of up to 5 s, one or six samples a
minute) must never fire, sustained lag and a stopped replication must.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from envspec import names_for
from envspec.replica_lag import IDLE_LAG_SECONDS, LAG_PERIOD_SECONDS, MIN_THRESHOLD_SECONDS, SUSTAINED_PERIODS
from stacks.data.replica_lag import replica_lag_alarm
from stacks.observability.alarms import AlarmDefinition, Metric
from tests.conftest import SPECS

STANDBY = [env for env in SPECS if SPECS[env].dr.has_standby]
NIGHT_MINUTES = 3 * 60  # 36 idle cycles
STATISTICS = {"Minimum": min, "Maximum": max}


Lag = Callable[[float], float]


def _idle(phase: float, delay: float) -> Lag:
    """ReplicaLag of an idle source: the age of the last replayed write, which RDS repeats every five minutes."""

    def lag(t: float) -> float:
        since = (t - phase - delay) % IDLE_LAG_SECONDS  # time since the last write was replayed
        return since + delay

    return lag


def _datapoints(lag: Lag, statistic: str, samples_per_minute: int, minutes: int = NIGHT_MINUTES) -> list[float]:
    step = LAG_PERIOD_SECONDS / samples_per_minute
    return [
        STATISTICS[statistic](lag(minute * LAG_PERIOD_SECONDS + (index + 1) * step) for index in range(samples_per_minute))
        for minute in range(minutes)
    ]


def _alarm_minutes(definition: AlarmDefinition, values: list[float]) -> list[int]:
    """Minutes at whose end CloudWatch would be in ALARM (M of the last N datapoints above the threshold)."""
    n, m = definition.evaluation_periods, definition.datapoints_to_alarm
    return [end for end in range(n, len(values) + 1) if sum(value > definition.threshold for value in values[end - n : end]) >= m]


def _statistic(definition: AlarmDefinition) -> str:
    assert definition.metric is not None
    return definition.metric.statistic


@pytest.mark.parametrize("env", STANDBY)
@pytest.mark.parametrize("samples_per_minute", [1, 6])
def test_an_idle_primary_never_pages(env: str, samples_per_minute: int) -> None:
    definition = replica_lag_alarm(names_for(SPECS[env]).standby)
    for phase in range(0, IDLE_LAG_SECONDS, 7):
        for delay in (0.0, 0.5, 2.5, 5.0):
            lag = _idle(phase=float(phase), delay=delay)
            assert not _alarm_minutes(definition, _datapoints(lag, _statistic(definition), samples_per_minute)), (phase, delay)


@pytest.mark.parametrize("env", STANDBY)
def test_the_former_definition_paged_on_every_quiet_night(env: str) -> None:
    """The definition this replaces (Maximum above 60 s in 3 of 3 minutes), in the same simulation: it fires."""
    names = names_for(SPECS[env]).standby
    former = AlarmDefinition(
        purpose="rds-replica-lag",
        summary="",
        comparison="GreaterThanThreshold",
        threshold=60,
        period=60,
        evaluation_periods=3,
        datapoints_to_alarm=3,
        missing=replica_lag_alarm(names).missing,
        runbook=("aws-rds", "replica-lag"),
        metric=Metric("AWS/RDS", "ReplicaLag", {}, "Maximum"),
    )
    assert _alarm_minutes(former, _datapoints(_idle(phase=17.0, delay=1.0), "Maximum", 1))


@pytest.mark.parametrize("env", STANDBY)
def test_sustained_lag_and_a_stopped_replication_page(env: str) -> None:
    spec = SPECS[env]
    definition = replica_lag_alarm(names_for(spec).standby)
    threshold = definition.threshold
    # A replica behind under write load: the lag holds just above the threshold.
    behind = _datapoints(lambda t: threshold + 5, _statistic(definition), 1, minutes=30)
    assert _alarm_minutes(definition, behind)[0] == SUSTAINED_PERIODS
    # Replication stops at minute 10 on an idle source: no more resets, the lag grows with the clock. The page comes
    # once the window's lowest value passes the threshold: threshold + the window after the stop, at the latest.
    stop = 10 * LAG_PERIOD_SECONDS
    idle = _idle(phase=0.0, delay=1.0)
    stopped = _datapoints(lambda t: idle(t) if t < stop else idle(stop) + (t - stop), _statistic(definition), 1, minutes=40)
    first = _alarm_minutes(definition, stopped)[0] * LAG_PERIOD_SECONDS
    assert first - stop <= threshold + (SUSTAINED_PERIODS + 1) * LAG_PERIOD_SECONDS


@pytest.mark.parametrize("env", STANDBY)
def test_the_threshold_leaves_room_for_the_sample_after_a_reset_and_stays_under_the_rpo(env: str) -> None:
    spec = SPECS[env]
    definition = replica_lag_alarm(names_for(spec).standby)
    assert MIN_THRESHOLD_SECONDS <= definition.threshold <= spec.backup.recovery_point_objective_minutes * 60
    assert definition.evaluation_periods * definition.period > IDLE_LAG_SECONDS + definition.period
    assert definition.missing.treatment == "breaching", "a replica that stopped replicating reports no lag"
