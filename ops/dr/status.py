"""`ops dr status`: is every recovery path of the environment healthy right now? (daily checklist)

Read-only. Each check is independent; one that cannot be made (an API that is down, a permission
that is missing) is reported as such and counts as a failure, never hidden.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ops.console import duration, say, table
from ops.context import Target
from ops.dr.database import describe_instance
from ops.timeutil import iso, now

# RDS ships transaction logs to S3 every five minutes: the latest restorable time trails by up to that.
LOG_SHIPPING_MINUTES = 5


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def schedule_interval(expression: str) -> timedelta:
    """Nominal interval of an AWS Backup cron: `0 * ...` hourly, `0 0/6 ...` six-hourly, else daily."""
    fields_ = expression.removeprefix("cron(").removesuffix(")").split()
    hours = fields_[1] if len(fields_) == 6 else ""
    if hours == "*":
        return timedelta(hours=1)
    step = re.fullmatch(r"(?:\d+|\*)/(\d+)", hours)
    return timedelta(hours=int(step.group(1))) if step else timedelta(days=1)


def newest_recovery_point(points: list[dict[str, Any]], resource_arn: str) -> dict[str, Any] | None:
    completed = [point for point in points if point.get("ResourceArn") == resource_arn and point.get("Status") == "COMPLETED"]
    return max(completed, key=lambda point: point["CreationDate"]) if completed else None


def recovery_point_check(name: str, points: list[dict[str, Any]], resource_arn: str, max_age: timedelta, at: datetime) -> Check:
    point = newest_recovery_point(points, resource_arn)
    if point is None:
        return Check(name, False, f"no completed recovery point of {resource_arn}")
    age = at - point["CreationDate"]
    return Check(
        name,
        age <= max_age,
        f"newest {iso(point['CreationDate'])} ({duration(age.total_seconds())} old, limit {duration(max_age.total_seconds())})",
    )


def _guarded(name: str, probe: Callable[[], Check | list[Check]]) -> list[Check]:
    try:
        result = probe()
    except Exception as error:  # noqa: BLE001 - an unanswerable check is a failed check, reported
        code = getattr(error, "response", {}).get("Error", {}).get("Code") if hasattr(error, "response") else None
        return [Check(name, False, f"could not check: {code or type(error).__name__}")]
    return result if isinstance(result, list) else [result]


def _vault_points(target: Target, region: str, vault_name: str) -> list[dict[str, Any]]:
    backup = target.aws.client("backup", region)
    points: list[dict[str, Any]] = []
    for page in backup.get_paginator("list_recovery_points_by_backup_vault").paginate(BackupVaultName=vault_name):
        points += page["RecoveryPoints"]
    return points


def run_status(target: Target) -> list[Check]:
    names, spec, aws = target.names, target.spec, target.aws
    at = now()
    rpo = timedelta(minutes=spec.backup.recovery_point_objective_minutes)
    grace = timedelta(hours=2)  # the plan's completion window
    checks: list[Check] = []

    def database() -> Check:
        instance = describe_instance(aws.client("rds"), names.database_identifier)
        if instance is None:
            return Check("database point-in-time restore", False, f"{names.database_identifier} not found")
        latest = instance.get("LatestRestorableTime")
        if latest is None:
            return Check("database point-in-time restore", False, "automated backups are off")
        lag = at - latest
        limit = rpo + timedelta(minutes=LOG_SHIPPING_MINUTES)
        return Check(
            "database point-in-time restore", lag <= limit, f"latest restorable {iso(latest)} ({duration(lag.total_seconds())} behind)"
        )

    checks += _guarded("database point-in-time restore", database)
    if spec.backup.cross_region:

        def replicated() -> Check:
            rds_dr = aws.client("rds", aws.dr_region)
            backups = rds_dr.describe_db_instance_automated_backups(DBInstanceIdentifier=names.database_identifier)
            windows = [
                item["RestoreWindow"]["LatestTime"]
                for item in backups.get("DBInstanceAutomatedBackups", [])
                if item.get("RestoreWindow", {}).get("LatestTime")
            ]
            if not windows:
                return Check("database backups in DR region", False, f"no replicated automated backups in {aws.dr_region}")
            lag = at - max(windows)
            return Check(
                "database backups in DR region",
                lag <= rpo + timedelta(minutes=2 * LOG_SHIPPING_MINUTES),
                f"latest {iso(max(windows))} ({duration(lag.total_seconds())} behind)",
            )

        checks += _guarded("database backups in DR region", replicated)
    day = timedelta(days=1)
    vaults = [("daily", aws.region, names.backup_vault, day + grace, spec.backup.vault_lock)]
    if spec.backup.snapshot_schedule:
        vaults.append(
            ("frequent", aws.region, names.backup_frequent_vault, schedule_interval(spec.backup.snapshot_schedule) + grace, False)
        )
    if spec.backup.cross_region:
        vaults.append(("DR copies", aws.dr_region, names.backup_vault, day + 2 * grace, spec.backup.vault_lock))
    for label, region, vault_name, limit, locked_wanted in vaults:

        def vault(
            label: str = label, region: str = region, vault_name: str = vault_name, limit: timedelta = limit, wanted: bool = locked_wanted
        ) -> list[Check]:
            description = aws.client("backup", region).describe_backup_vault(BackupVaultName=vault_name)
            locked = bool(description.get("Locked"))
            found = [Check(f"{label} vault", locked or not wanted, f"{vault_name} ({region}), locked: {locked}")]
            points = _vault_points(target, region, vault_name)
            found.append(recovery_point_check(f"{label} vault: database", points, names.database_arn, limit, at))
            found.append(recovery_point_check(f"{label} vault: files bucket", points, names.bucket_arn("files"), limit, at))
            return found

        checks += _guarded(f"{label} vault", vault)
    if spec.backup.cross_region:

        def replication() -> Check:
            rules = aws.client("s3").get_bucket_replication(Bucket=names.bucket("files"))["ReplicationConfiguration"]["Rules"]
            rule = next((item for item in rules if item.get("ID") == names.files_replication_rule), None)
            if rule is None:
                return Check("files replication", False, f"no rule {names.files_replication_rule}")
            rtc = rule["Destination"].get("ReplicationTime", {}).get("Status") == "Enabled"
            return Check(
                "files replication",
                rule.get("Status") == "Enabled" and rtc,
                f"rule {rule.get('Status')}, Replication Time Control {'on' if rtc else 'off'}",
            )

        def latency() -> Check:
            statistics = aws.client("cloudwatch").get_metric_statistics(
                Namespace="AWS/S3",
                MetricName="ReplicationLatency",
                Dimensions=[
                    {"Name": "SourceBucket", "Value": names.bucket("files")},
                    {"Name": "DestinationBucket", "Value": names.bucket("files-dr")},
                    {"Name": "RuleId", "Value": names.files_replication_rule},
                ],
                StartTime=at - timedelta(hours=24),
                EndTime=at,
                Period=3600,
                Statistics=["Maximum"],
            )["Datapoints"]
            if not statistics:
                return Check("files replication latency (24 h)", True, "no data points (no writes replicated)")
            worst = max(point["Maximum"] for point in statistics)
            return Check(
                "files replication latency (24 h)", worst <= rpo.total_seconds(), f"max {worst:.0f}s, objective {rpo.total_seconds():.0f}s"
            )

        checks += _guarded("files replication", replication)
        checks += _guarded("files replication latency (24 h)", latency)
    return checks


def print_status(target: Target, checks: list[Check]) -> bool:
    say(table(("check", "ok", "detail"), [(check.name, "yes" if check.ok else "NO", check.detail) for check in checks]))
    healthy = all(check.ok for check in checks)
    say(f"{target.env}: every recovery path healthy" if healthy else f"{target.env}: {sum(not c.ok for c in checks)} check(s) failed")
    return healthy
