"""`ops dr restore-db` against moto: real point-in-time and snapshot restores with the original's
settings, proven from the requests moto received (moto would copy some settings by itself)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from envspec import Names
from tests.operations.conftest import ENV, Recording, World, _network

RESTORE_PITR, RESTORE_SNAPSHOT = "RestoreDBInstanceToPointInTime", "RestoreDBInstanceFromDBSnapshot"


def _instances(names: Names) -> list[str]:
    rds = boto3.client("rds", names.spec.aws.region)
    return sorted(item["DBInstanceIdentifier"] for item in rds.describe_db_instances()["DBInstances"])


def _restored_id(output: str) -> str:
    return output.split("--instance ")[1].split()[0]


def _assert_explicit_settings(call: dict[str, str], world: World) -> None:
    assert call["DBSubnetGroupName"] == world.subnet_group
    assert call["VpcSecurityGroupIds.VpcSecurityGroupId.1"] == world.security_groups[0]
    assert call["DBParameterGroupName"] == world.parameter_group
    assert call["MultiAZ"] == "true"
    assert call["DBInstanceClass"] == "db.m7g.large"  # the original's (production's class)
    assert call["PubliclyAccessible"] == "false"
    assert call["DeletionProtection"] == "true"
    assert call["EnableIAMDatabaseAuthentication"] == "true"


def test_point_in_time_restore_creates_an_instance_with_the_originals_settings(world: World, recording: Recording, run) -> None:
    time.sleep(1.1)  # moto's restorable window opens when the instance is created
    moment = (world.instance["InstanceCreateTime"] + timedelta(seconds=1)).replace(microsecond=0)
    result = run("dr", "restore-db", "--env", ENV, "--to", moment.isoformat(), "--poll-seconds", "0", "--execute")
    assert result.code == 0, result.text
    (call,) = recording.calls(RESTORE_PITR)
    _assert_explicit_settings(call, world)
    assert call["SourceDBInstanceIdentifier"] == "ai-subsidy-production"
    assert datetime.fromisoformat(call["RestoreTime"].replace("Z", "+00:00")) == moment
    assert "UseLatestRestorableTime" not in call
    new_id = _restored_id(result.out)
    assert call["TargetDBInstanceIdentifier"] == new_id and new_id.startswith("ai-subsidy-production-restore-")
    restored = boto3.client("rds", "ap-northeast-1").describe_db_instances(DBInstanceIdentifier=new_id)["DBInstances"][0]
    assert restored["KmsKeyId"] == world.kms_key and restored["StorageEncrypted"]
    assert restored["DBSubnetGroup"]["DBSubnetGroupName"] == world.subnet_group
    tags = {tag["Key"]: tag["Value"] for tag in restored["TagList"]}
    assert tags["ops:restored-from"] == "ai-subsidy-production"
    assert f"endpoint: {new_id}." in result.out
    assert f"python -m ops dr switch-db --env production --instance {new_id}" in result.out


def test_latest_uses_the_latest_restorable_time(world: World, recording: Recording, run) -> None:
    result = run("dr", "restore-db", "--env", ENV, "--to", "latest", "--poll-seconds", "0", "--execute")
    assert result.code == 0, result.text
    (call,) = recording.calls(RESTORE_PITR)
    assert call["UseLatestRestorableTime"] == "true" and "RestoreTime" not in call
    _assert_explicit_settings(call, world)


def test_dry_run_changes_nothing(world: World, recording: Recording, run, names: Names) -> None:
    result = run("dr", "restore-db", "--env", ENV, "--to", "latest")
    assert result.code == 0
    assert "dry run: would call rds restore-db-instance-to-point-in-time; nothing was changed" in result.out
    assert _instances(names) == ["ai-subsidy-production"]
    assert not recording.calls(RESTORE_PITR)


def test_newest_snapshot_is_restored_with_the_originals_settings(world: World, recording: Recording, run, names: Names) -> None:
    rds = boto3.client("rds", "ap-northeast-1")
    time.sleep(1.1)
    manual = rds.create_db_snapshot(DBInstanceIdentifier=names.database_identifier, DBSnapshotIdentifier="before-migration-42")[
        "DBSnapshot"
    ]
    result = run("dr", "restore-db", "--env", ENV, "--snapshot", "newest", "--poll-seconds", "0", "--execute")
    assert result.code == 0, result.text
    (call,) = recording.calls(RESTORE_SNAPSHOT)
    assert call["DBSnapshotIdentifier"] == manual["DBSnapshotArn"]
    _assert_explicit_settings(call, world)
    assert "from snapshot before-migration-42" in result.out


@pytest.mark.parametrize("days_ago", [31, -1], ids=["before-retention", "in-the-future"])
def test_a_time_outside_the_window_is_refused_and_nothing_changes(
    world: World, recording: Recording, run, names: Names, days_ago: int
) -> None:
    moment = (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = run("dr", "restore-db", "--env", ENV, "--to", moment, "--execute")
    assert result.code == 2
    assert result.err.startswith(f"error: restore time {moment} is outside the restorable window of ai-subsidy-production (")
    assert result.err.count("\n") == 1 and "nothing was changed" in result.err
    assert _instances(names) == ["ai-subsidy-production"]
    assert not recording.calls(RESTORE_PITR)


def test_a_missing_snapshot_is_refused(world: World, recording: Recording, run, names: Names) -> None:
    result = run("dr", "restore-db", "--env", ENV, "--snapshot", "no-such-snapshot", "--execute")
    assert result.code == 2
    assert result.err == "error: snapshot 'no-such-snapshot' does not exist in ap-northeast-1; nothing was changed\n"
    assert _instances(names) == ["ai-subsidy-production"]


def test_credentials_of_another_account_are_refused(world: World, run, monkeypatch: pytest.MonkeyPatch, names: Names) -> None:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "999999999999")
    result = run("dr", "restore-db", "--env", ENV, "--to", "latest", "--execute")
    assert result.code == 3
    assert "credentials are for account 999999999999, but environment 'production' lives in 333333333333" in result.err


@pytest.fixture
def dr_placement(world: World) -> tuple[str, str]:
    """A DB subnet group and security group in the DR region (what the region-loss runbook builds first)."""
    dr = "ap-northeast-3"
    subnets, vpc = _network(dr, "10.0.0.0/16", ("ap-northeast-3a", "ap-northeast-3b"))
    security_group = boto3.client("ec2", dr).create_security_group(GroupName="db-dr", Description="db", VpcId=vpc)["GroupId"]
    boto3.client("rds", dr).create_db_subnet_group(
        DBSubnetGroupName="ai-subsidy-production-dr", DBSubnetGroupDescription="dr", SubnetIds=subnets
    )
    return "ai-subsidy-production-dr", security_group


def test_dr_region_point_in_time_needs_replicated_backups(dr_placement: tuple[str, str], run) -> None:
    group, security_group = dr_placement
    result = run(
        "dr", "restore-db", "--env", ENV, "--to", "latest", "--region", "dr",
        "--db-subnet-group", group, "--vpc-security-group-id", security_group, "--execute",
    )  # fmt: skip
    assert result.code == 2
    assert "no replicated automated backups of ai-subsidy-production in ap-northeast-3" in result.err


def test_dr_region_needs_an_explicit_placement(world: World, run) -> None:
    result = run("dr", "restore-db", "--env", ENV, "--snapshot", "newest", "--region", "dr", "--execute")
    assert result.code == 2
    assert "--region dr: name the placement with --db-subnet-group and --vpc-security-group-id" in result.err


def test_dr_region_snapshot_copy_is_restored_into_the_named_placement(
    dr_placement: tuple[str, str], recording: Recording, run, names: Names
) -> None:
    """AWS Backup's DR-region copy (emulated as a snapshot of the instance in ap-northeast-3)."""
    dr = "ap-northeast-3"
    group, security_group = dr_placement
    rds_dr = boto3.client("rds", dr)
    dr_key = boto3.client("kms", dr).create_key(Description="backup-dr")["KeyMetadata"]["Arn"]
    rds_dr.create_db_instance(
        DBInstanceIdentifier=names.database_identifier, Engine="postgres", DBInstanceClass="db.t3.medium", AllocatedStorage=100,
        MasterUsername="ai_subsidy_admin", MasterUserPassword="placeholder-only-in-moto", DBSubnetGroupName="ai-subsidy-production-dr",
        StorageEncrypted=True, KmsKeyId=dr_key,
    )  # fmt: skip
    rds_dr.create_db_snapshot(DBInstanceIdentifier=names.database_identifier, DBSnapshotIdentifier="awsbackup-copy-1")
    rds_dr.delete_db_instance(DBInstanceIdentifier=names.database_identifier, SkipFinalSnapshot=True)
    result = run(
        "dr", "restore-db", "--env", ENV, "--snapshot", "newest", "--region", "dr", "--db-subnet-group", group,
        "--vpc-security-group-id", security_group, "--poll-seconds", "0", "--execute",
    )  # fmt: skip
    assert result.code == 0, result.text
    (call,) = recording.calls(RESTORE_SNAPSHOT)
    assert call["DBSubnetGroupName"] == group
    assert call["VpcSecurityGroupIds.VpcSecurityGroupId.1"] == security_group
    assert call["MultiAZ"] == "true" and call["DBInstanceClass"] == "db.m7g.large"  # the original's, read from the primary
    restored = rds_dr.describe_db_instances(DBInstanceIdentifier=_restored_in(result.out))["DBInstances"][0]
    assert restored["KmsKeyId"] == dr_key and restored["StorageEncrypted"]  # the DR copy's own key
    assert "docs/disaster-recovery.md#region-loss" in result.out
    identity_calls = [entry["url"] for entry in recording.entries() if entry["params"].get("Action") == "GetCallerIdentity"]
    assert identity_calls and all("sts.ap-northeast-3." in url for url in identity_calls)  # works while ap-northeast-1 is down


def _restored_in(output: str) -> str:
    return output.split("Restored ")[1].split()[0]
