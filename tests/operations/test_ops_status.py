"""`ops dr status`: the daily check of every recovery path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3

from envspec import Names
from ops.dr.status import recovery_point_check, schedule_interval
from tests.conftest import SPECS
from tests.operations.conftest import ENV, World, add_replica


def _rows(output: str) -> dict[str, tuple[str, str]]:
    rows = {}
    for line in output.splitlines():
        for verdict in ("  yes  ", "  NO   "):
            if verdict in line:
                name, _, detail = line.partition(verdict)
                rows[name.strip()] = (verdict.strip(), detail.strip())
    return rows


def test_status_reports_each_recovery_path_and_fails_when_one_is_missing(world: World, run, names: Names) -> None:
    add_replica(names)
    for region in ("ap-northeast-1", "ap-northeast-3"):
        backup = boto3.client("backup", region)
        backup.create_backup_vault(BackupVaultName=names.backup_vault)
        backup.create_backup_vault(BackupVaultName=names.backup_frequent_vault)
        backup.put_backup_vault_lock_configuration(BackupVaultName=names.backup_vault, MinRetentionDays=35, ChangeableForDays=3)
    result = run("dr", "status", "--env", ENV)
    rows = _rows(result.out)
    assert rows["database point-in-time restore"][0] == "yes"
    assert rows["database backups in DR region"] == ("NO", "no replicated automated backups in ap-northeast-3")
    assert rows["files replication"] == ("yes", "rule Enabled, Replication Time Control on")
    assert rows["files replication latency (24 h)"][0] == "yes"
    assert result.code == 1 and "check(s) failed" in result.out


def test_an_environment_without_backups_fails_every_backup_check(world: World, run, names: Names) -> None:
    result = run("dr", "status", "--env", ENV)
    rows = _rows(result.out)
    assert rows["daily vault"][0] == "NO" and rows["daily vault"][1].startswith("could not check:")
    assert rows["files replication"][0] == "NO"
    assert result.code == 1


def test_schedules_map_to_their_interval() -> None:
    intervals = {name: schedule_interval(spec.backup.snapshot_schedule) for name, spec in SPECS.items() if spec.backup.snapshot_schedule}
    assert intervals == {"production": timedelta(hours=1), "staging": timedelta(hours=6)}
    assert schedule_interval("cron(0 18 * * ? *)") == timedelta(days=1)


def test_recovery_point_freshness_from_a_recorded_listing() -> None:
    """Shape of `list-recovery-points-by-backup-vault` as AWS Backup returns it."""
    at = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    arn = "arn:aws:rds:ap-northeast-1:333333333333:db:ai-subsidy-production"
    points = [
        {"RecoveryPointArn": "arn:aws:rds:ap-northeast-1:333333333333:snapshot:awsbackup:job-1", "ResourceArn": arn, "ResourceType": "RDS",
         "Status": "COMPLETED", "CreationDate": at - timedelta(hours=5)},
        {"RecoveryPointArn": "arn:aws:rds:ap-northeast-1:333333333333:snapshot:awsbackup:job-2", "ResourceArn": arn, "ResourceType": "RDS",
         "Status": "PARTIAL", "CreationDate": at - timedelta(minutes=50)},
        {"RecoveryPointArn": "arn:aws:backup:ap-northeast-1:333333333333:recovery-point:files-1",
         "ResourceArn": "arn:aws:s3:::ai-subsidy-production-files-333333333333", "ResourceType": "S3", "Status": "COMPLETED",
         "CreationDate": at - timedelta(minutes=20)},
    ]  # fmt: skip
    stale = recovery_point_check("db", points, arn, timedelta(hours=3), at)
    assert not stale.ok and "(5h00m old, limit 3h00m)" in stale.detail  # the PARTIAL point does not count
    fresh = recovery_point_check("files", points, "arn:aws:s3:::ai-subsidy-production-files-333333333333", timedelta(hours=3), at)
    assert fresh.ok
    assert not recovery_point_check("none", points, "arn:aws:s3:::other", timedelta(hours=3), at).ok
