"""Production's region failover needs a person at a terminal, as critical restarts do; a region-loss
drill, which has nobody to ask, is refused there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from envspec import Names
from tests.operations.conftest import ENV, World
from tests.operations.kubernetes_emulator import ClusterState
from tests.operations.moto_gaps import moto_gaps
from tests.operations.standby_world import Standby, build_standby, standby_cluster, two_clusters
from tests.operations.terminal import run_at_terminal


@pytest.fixture
def standby(world: World) -> Iterator[Standby]:
    with moto_gaps():
        yield build_standby(world)


@pytest.fixture
def clusters(names: Names, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ClusterState, ClusterState]]:
    primary, dr = ClusterState.from_fixtures(), standby_cluster()
    with two_clusters(names, primary, dr, tmp_path / "kubeconfig"):
        monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
        yield primary, dr


def _replica_source(names: Names) -> str | None:
    rds = boto3.client("rds", names.dr_region)
    return rds.describe_db_instances(DBInstanceIdentifier=names.dr_database_identifier)["DBInstances"][0].get(
        "ReadReplicaSourceDBInstanceIdentifier"
    )


def test_without_a_terminal_production_is_never_failed_over(
    standby: Standby, clusters: tuple[ClusterState, ClusterState], run, names: Names
) -> None:
    result = run("dr", "failover-region", "--env", ENV, "--poll-seconds", "0", "--execute")
    assert result.code == 2
    assert result.err.endswith("needs a person: run `ops dr failover-region` from a terminal and confirm; nothing was changed\n")
    drill = run("dr", "drill", "--env", ENV, "--scenario", "region-loss", "--execute")
    assert drill.code == 2 and "a region-loss drill fails production over for real and needs a person" in drill.err
    assert _replica_source(names) == names.database_arn
    for state in clusters:
        assert not [request for request in state.requests if request.method == "PATCH"]


def test_a_person_at_a_terminal_fails_production_over(standby: Standby, clusters: tuple[ClusterState, ClusterState], names: Names) -> None:
    """A real `python -m ops` on a pseudo-terminal, typing the environment's name; AWS through moto's server."""
    result = run_at_terminal(("dr", "failover-region", "--env", ENV, "--poll-seconds", "0", "--execute"), typed="production")
    assert result.code == 0, result.text
    assert _replica_source(names) is None
    assert "Recovery time objective (30 min): MET" in result.out
    assert f"--db-instance-identifier {names.dr_database_identifier} --multi-az --apply-immediately" in result.out
