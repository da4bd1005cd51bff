"""The failover preflight judges ReplicaLag as RDS for PostgreSQL reports it: an idle primary is no lag.

RDS User Guide, "Working with read replicas for Amazon RDS for PostgreSQL", read replica limitations: "A PostgreSQL
read replica reports a replication lag of up to five minutes if there are no user transactions occurring on the
source DB instance". The value is `now() - pg_last_xact_replay_timestamp()` ("Monitoring and tuning the replication
process"): with nothing to replay it climbs, and resets once RDS's periodic write on the source is replayed. The
preflight used to refuse whenever the newest value exceeded the RPO, so a drill on a quiet night was refused for
writes that did not exist; a replica really behind, or one that stopped, must still be refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from envspec import EnvironmentSpec, Names
from envspec.replica_lag import IDLE_CEILING_SECONDS, SUSTAINED_PERIODS
from ops.dr.standby import real_lag
from tests.conftest import SPECS
from tests.operations.conftest import World
from tests.operations.kubernetes_emulator import ClusterState
from tests.operations.moto_gaps import moto_gaps
from tests.operations.standby_world import Standby, build_standby, standby_cluster, two_clusters

ENV = "staging"
# An idle night, one value a minute, oldest first: the climb, a reset when RDS's write is replayed, the climb again,
# ending a few seconds above five minutes (the replay of a cross-region write takes its time).
IDLE_NIGHT = [63.0, 123.0, 183.0, 243.0, 303.0, 3.0, 63.0, 123.0, 183.0, 243.0, 303.0]


def test_an_idle_sawtooth_is_no_lag_but_sustained_or_stopped_replication_is() -> None:
    rpo = 120  # an RPO below the idle climb makes the difference plain
    assert IDLE_NIGHT[-1] > rpo  # the former check (the newest value against the RPO) refused this
    assert real_lag(IDLE_NIGHT, IDLE_NIGHT[-1]) == 3.0
    behind = [130.0 + index for index in range(10)]  # behind under write load: never resets
    assert real_lag(behind, behind[-1]) == behind[-SUSTAINED_PERIODS] > rpo
    stopped = [*IDLE_NIGHT, 363.0, 423.0]  # no reset any more: beyond what idleness produces
    assert stopped[-1] > IDLE_CEILING_SECONDS and real_lag(stopped, stopped[-1]) == stopped[-1]
    assert real_lag([], 42.0) == 42.0


@pytest.fixture
def spec() -> EnvironmentSpec:
    return SPECS[ENV]


@pytest.fixture
def newest_lag() -> float:
    return IDLE_NIGHT[-1]


@pytest.fixture
def standby(world: World, newest_lag: float) -> Iterator[Standby]:
    with moto_gaps():
        yield build_standby(world, lag_seconds=newest_lag)  # its one datapoint, 30 s ago


@pytest.fixture
def clusters(names: Names, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with two_clusters(names, ClusterState.from_fixtures(), standby_cluster(), tmp_path / "kubeconfig"):
        monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
        yield


def _series(names: Names, values: list[float]) -> None:
    """The datapoints before the newest, one a minute (RDS publishes once a minute), the last 90 s ago."""
    end = datetime.now(UTC) - timedelta(seconds=90)
    boto3.client("cloudwatch", names.dr_region).put_metric_data(
        Namespace="AWS/RDS",
        MetricData=[
            {
                "MetricName": "ReplicaLag",
                "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": names.dr_database_identifier}],
                "Value": value,
                "Unit": "Seconds",
                "Timestamp": end - timedelta(minutes=len(values) - 1 - index),
            }
            for index, value in enumerate(values)
        ],
    )


def test_a_quiet_night_is_not_refused(standby: Standby, clusters: None, run, names: Names) -> None:
    _series(names, IDLE_NIGHT[:-1])  # build_standby put the newest one
    objective = names.spec.backup.recovery_point_objective_minutes * 60
    assert IDLE_NIGHT[-1] > objective
    result = run("dr", "failover-region", "--env", ENV)
    assert result.code == 0, result.text
    assert re.search(
        r"would be lost +about 3s of writes \(ReplicaLag at [^)]+\); newest ReplicaLag 303s: the time since the last replayed transaction",
        result.out,
    )


@pytest.mark.parametrize("newest_lag", [SPECS[ENV].backup.recovery_point_objective_minutes * 60 + 20.0])
def test_a_replica_behind_for_longer_than_the_idle_climb_is_refused(standby: Standby, clusters: None, run, names: Names) -> None:
    objective = names.spec.backup.recovery_point_objective_minutes * 60
    _series(names, [objective + 20.0] * (SUSTAINED_PERIODS - 1))
    result = run("dr", "failover-region", "--env", ENV)
    assert result.code == 2
    assert result.err.startswith(f"error: {names.dr_database_identifier} lags {objective + 20}s behind the primary")
