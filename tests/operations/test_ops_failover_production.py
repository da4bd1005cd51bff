"""Production's region failover needs a person at a terminal, as critical restarts do; a region-loss
drill, which has nobody to ask, is refused there."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from envspec import Names
from tests.conftest import ROOT
from tests.operations.conftest import ENV, World
from tests.operations.kubernetes_emulator import ClusterState
from tests.operations.moto_gaps import moto_gaps
from tests.operations.standby_world import Standby, build_standby, standby_cluster, two_clusters


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
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        controller, terminal = pty.openpty()
        env = {**os.environ, "AWS_ENDPOINT_URL": f"http://{host}:{port}", "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(
            [sys.executable, "-m", "ops", "dr", "failover-region", "--env", ENV, "--poll-seconds", "0", "--execute"],
            cwd=ROOT, stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )  # fmt: skip
        os.write(controller, b"production\n")
        out, err = process.communicate(timeout=120)
        os.close(controller)
        os.close(terminal)
    finally:
        server.stop()
    assert process.returncode == 0, out.decode() + err.decode()
    assert _replica_source(names) is None
    assert "Recovery time objective (30 min): MET" in out.decode()
    assert f"--db-instance-identifier {names.dr_database_identifier} --multi-az --apply-immediately" in out.decode()
