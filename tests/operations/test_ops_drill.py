"""`ops dr drill` against moto and the emulated cluster: every step timed against the budget."""

from __future__ import annotations

import json
from pathlib import Path

import boto3

from envspec import Names
from ops.dr.budget import RTO_BUDGET, budget_minutes
from tests.conftest import SPECS
from tests.operations.conftest import ENV, Recording, World, add_replica
from tests.operations.kubernetes_emulator import ClusterState, KubernetesEmulator


def test_the_budget_fits_the_recovery_time_objective_of_every_environment() -> None:
    assert budget_minutes() == 30
    assert all(budget_minutes() <= spec.backup.recovery_time_objective_minutes for spec in SPECS.values())
    assert [step.key for step in RTO_BUDGET if not step.measured] == ["detect", "switch"]


def test_a_drill_prints_the_timing_table_and_cleans_up(
    world: World, run, names: Names, kube: KubernetesEmulator, cluster: ClusterState, tmp_path: Path
) -> None:
    add_replica(names)
    report = tmp_path / "drill.json"
    result = run("dr", "drill", "--env", ENV, "--poll-seconds", "0", "--execute", "--report", str(report))
    assert result.code == 0, result.text
    lines = result.out.splitlines()
    header = next(index for index, line in enumerate(lines) if line.startswith("step "))
    table = [line.split()[0] for line in lines[header + 2 : header + 2 + len(RTO_BUDGET) + 1]]
    assert table == [step.key for step in RTO_BUDGET] + ["total"]
    assert "not measured (budget counted)" in lines[header + 2]  # detect
    assert "Recovery time objective (30 min): MET" in result.out
    rds = boto3.client("rds", "ap-northeast-1")
    assert [item["DBInstanceIdentifier"] for item in rds.describe_db_instances()["DBInstances"]] == ["ai-subsidy-production"]
    assert len(cluster.patches("/deployments/ai-subsidy-backend")) == 1
    document = json.loads(report.read_text())
    assert document["met"] is True and set(document["measured_seconds"]) == {"preflight", "restore", "verify", "files", "application"}
    assert document["instance"].startswith("ai-subsidy-production-drill-")


def test_a_drill_copy_is_never_under_the_backup_plan_or_protected(world: World, recording: Recording, run, names: Names) -> None:
    result = run("dr", "drill", "--env", ENV, "--skip-application", "--keep", "--poll-seconds", "0", "--execute")
    assert "skipped (budget counted)" in result.out
    rds = boto3.client("rds", "ap-northeast-1")
    (copy,) = [item for item in rds.describe_db_instances()["DBInstances"] if "-drill-" in item["DBInstanceIdentifier"]]
    tags = {tag["Key"]: tag["Value"] for tag in copy["TagList"]}
    assert tags["ops:drill"] == "true" and "backup-plan" not in tags
    # moto keeps the source's protection when the override is false; AWS applies what the request says
    (call,) = recording.calls("RestoreDBInstanceToPointInTime")
    assert call["DeletionProtection"] == "false"


def test_a_drill_that_cannot_restore_reports_missed_and_fails(world: World, run, names: Names) -> None:
    rds = boto3.client("rds", "ap-northeast-1")
    rds.modify_db_instance(DBInstanceIdentifier=names.database_identifier, BackupRetentionPeriod=0, ApplyImmediately=True)
    result = run("dr", "drill", "--env", ENV, "--skip-application", "--poll-seconds", "0", "--execute")
    assert result.code == 1
    assert "Recovery time objective (30 min): MISSED" in result.out
    assert "failure: ai-subsidy-production has no automated backups" in result.out


def test_a_drill_dry_run_creates_nothing(world: World, run) -> None:
    result = run("dr", "drill", "--env", ENV)
    assert result.code == 0, result.text
    assert "dry run: the drill would run these steps against the 30-minute objective" in result.out
    rds = boto3.client("rds", "ap-northeast-1")
    assert len(rds.describe_db_instances()["DBInstances"]) == 1
