"""`ops dr restore-db`: point-in-time or newest-snapshot restore into a new instance.

Everything is checked before anything changes: the source, the restorable window, the snapshot,
the placement in the target region, that the new identifier is free. Only then, with `--execute`,
is the restore requested; the command waits with progress output, applies the settings the restore
APIs cannot take, verifies the copy against the original's settings and prints the switch step.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from ops.arguments import RDS_IDENTIFIER as IDENTIFIER
from ops.console import duration, fields, say, step
from ops.context import Target
from ops.dr.settings import RESTORE_POINT_TAG, RESTORED_FROM_TAG, InstanceSettings, Placement
from ops.errors import InputError, OpsError
from ops.timeutil import LATEST, iso, now, parse_time, stamp
from ops.waiting import Poll, wait_for

FAILED_STATES = {
    "failed",
    "incompatible-restore",
    "incompatible-parameters",
    "incompatible-network",
    "storage-full",
    "inaccessible-encryption-credentials",
}
SNAPSHOT_TYPES = ("automated", "manual", "awsbackup")


@dataclass(frozen=True)
class RestoreOptions:
    to: str | None  # ISO time or "latest" (point in time)
    snapshot: str | None  # snapshot id/ARN or "newest"
    dr_region: bool
    target_identifier: str | None
    subnet_group: str | None
    security_groups: tuple[str, ...]
    parameter_group: str | None


@dataclass(frozen=True)
class RestorePlan:
    source_identifier: str
    target_identifier: str
    region: str
    same_region: bool
    settings: InstanceSettings
    restore_time: datetime | None  # None with a point-in-time restore: the latest restorable time
    window: tuple[datetime, datetime] | None
    snapshot: dict[str, Any] | None
    automated_backups_arn: str | None  # replicated backups in the DR region
    source_dbi_resource_id: str | None  # retained backups of a deleted instance

    @property
    def point_in_time(self) -> bool:
        return self.snapshot is None

    @property
    def restore_point(self) -> str:
        if self.snapshot is not None:
            return f"snapshot {self.snapshot['DBSnapshotIdentifier']} ({iso(self.snapshot['SnapshotCreateTime'])})"
        return iso(self.restore_time) if self.restore_time else "latest restorable time"

    def request(self) -> tuple[str, dict[str, Any]]:
        """The RDS API operation and its complete parameters."""
        parameters = self.settings.restore_parameters(point_in_time=self.point_in_time)
        if self.snapshot is not None:
            parameters["DBInstanceIdentifier"] = self.target_identifier
            parameters["DBSnapshotIdentifier"] = self.snapshot["DBSnapshotArn"]
            return "restore_db_instance_from_db_snapshot", parameters
        parameters["TargetDBInstanceIdentifier"] = self.target_identifier
        if self.automated_backups_arn:
            parameters["SourceDBInstanceAutomatedBackupsArn"] = self.automated_backups_arn
        elif self.source_dbi_resource_id:
            parameters["SourceDbiResourceId"] = self.source_dbi_resource_id
        else:
            parameters["SourceDBInstanceIdentifier"] = self.source_identifier
        if self.restore_time is None:
            parameters["UseLatestRestorableTime"] = True
        else:
            parameters["RestoreTime"] = self.restore_time
        return "restore_db_instance_to_point_in_time", parameters

    def print(self) -> None:
        rows = [
            ("source", self.source_identifier),
            ("new instance", self.target_identifier),
            ("region", self.region),
            ("restore point", self.restore_point),
        ]
        if self.window:
            rows.append(("restorable window", f"{iso(self.window[0])} .. {iso(self.window[1])}"))
        say(fields([*rows, *self.settings.summary()]))


def describe_instance(rds: Any, identifier: str) -> dict[str, Any] | None:
    try:
        return rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    except ClientError as error:
        if error.response["Error"]["Code"] == "DBInstanceNotFound":
            return None
        raise


def restorable_window(rds: Any, instance: dict[str, Any]) -> tuple[datetime, datetime]:
    """[earliest, latest] restorable time of an instance's automated backups."""
    if not instance.get("BackupRetentionPeriod") or instance.get("LatestRestorableTime") is None:
        raise InputError(
            f"{instance['DBInstanceIdentifier']} has no automated backups to restore from a point in time; use --snapshot newest"
        )
    latest = instance["LatestRestorableTime"]
    earliest = None
    backups = rds.describe_db_instance_automated_backups(DBInstanceIdentifier=instance["DBInstanceIdentifier"])
    for backup in backups.get("DBInstanceAutomatedBackups", []):
        if backup.get("DbiResourceId") in (None, instance.get("DbiResourceId")) and backup.get("RestoreWindow", {}).get("EarliestTime"):
            earliest = backup["RestoreWindow"]["EarliestTime"]
    if earliest is None:  # no reported window: the retention period, but never before the instance existed
        earliest = max(instance["InstanceCreateTime"], now() - timedelta(days=int(instance["BackupRetentionPeriod"])))
    return earliest, latest


def check_in_window(moment: datetime, window: tuple[datetime, datetime], identifier: str) -> None:
    earliest, latest = window
    if not earliest <= moment <= latest:
        raise InputError(
            f"restore time {iso(moment)} is outside the restorable window of {identifier} "
            f"({iso(earliest)} .. {iso(latest)}); pick a time inside it or use --to latest; nothing was changed"
        )


def find_snapshot(rds: Any, identifier: str, wanted: str, region: str) -> dict[str, Any]:
    """A named snapshot of `identifier`, or its newest available one (automated, manual or AWS Backup)."""
    if wanted != "newest":
        try:
            (snapshot,) = rds.describe_db_snapshots(DBSnapshotIdentifier=wanted)["DBSnapshots"]
        except ClientError as error:
            if error.response["Error"]["Code"] in ("DBSnapshotNotFound", "DBSnapshotNotFoundFault", "InvalidParameterValue"):
                raise InputError(f"snapshot '{wanted}' does not exist in {region}; nothing was changed") from None
            raise
        if snapshot.get("DBInstanceIdentifier") != identifier:
            raise InputError(
                f"snapshot '{wanted}' belongs to {snapshot.get('DBInstanceIdentifier')}, not {identifier}; nothing was changed"
            )
        if snapshot.get("Status") != "available":
            raise InputError(f"snapshot '{wanted}' is {snapshot.get('Status')}, not available; nothing was changed")
        return snapshot
    found = []
    paginator = rds.get_paginator("describe_db_snapshots")
    for snapshot_type in SNAPSHOT_TYPES:
        for page in paginator.paginate(DBInstanceIdentifier=identifier, SnapshotType=snapshot_type):
            found += [item for item in page["DBSnapshots"] if item.get("Status") == "available"]
    if not found:
        raise InputError(f"no available snapshot of {identifier} in {region}; nothing was changed")
    return max(found, key=lambda item: item["SnapshotCreateTime"])


def replicated_backups(rds_dr: Any, identifier: str, region: str) -> dict[str, Any]:
    backups = rds_dr.describe_db_instance_automated_backups(DBInstanceIdentifier=identifier).get("DBInstanceAutomatedBackups", [])
    usable = [item for item in backups if item.get("DBInstanceAutomatedBackupsArn") and item.get("RestoreWindow", {}).get("LatestTime")]
    if not usable:
        raise InputError(
            f"no replicated automated backups of {identifier} in {region}; restore the newest DR copy with --snapshot newest; "
            "nothing was changed"
        )
    return max(usable, key=lambda item: item["RestoreWindow"]["LatestTime"])


def _placement(options: RestoreOptions, rds: Any, region: str, why: str) -> Placement:
    if not options.subnet_group or not options.security_groups:
        raise InputError(f"{why}: name the placement with --db-subnet-group and --vpc-security-group-id; nothing was changed")
    try:
        rds.describe_db_subnet_groups(DBSubnetGroupName=options.subnet_group)
    except ClientError as error:
        if error.response["Error"]["Code"] == "DBSubnetGroupNotFoundFault":
            raise InputError(f"DB subnet group '{options.subnet_group}' does not exist in {region}; nothing was changed") from None
        raise
    if options.parameter_group:
        try:
            rds.describe_db_parameter_groups(DBParameterGroupName=options.parameter_group)
        except ClientError as error:
            if error.response["Error"]["Code"] == "DBParameterGroupNotFound":
                raise InputError(
                    f"DB parameter group '{options.parameter_group}' does not exist in {region}; nothing was changed"
                ) from None
            raise
    return Placement(options.subnet_group, tuple(sorted(options.security_groups)), options.parameter_group)


def plan_restore(target: Target, options: RestoreOptions, purpose: str, extra_tags: dict[str, str] | None = None) -> RestorePlan:
    """Validate a restore completely, changing nothing."""
    if (options.to is None) == (options.snapshot is None):
        raise InputError("give exactly one of --to <time|latest> and --snapshot <id|newest>")
    names = target.names
    source_id = names.database_identifier
    region = target.aws.dr_region if options.dr_region else target.aws.region
    rds = target.aws.client("rds", region)
    started = now()
    identifier = options.target_identifier or names.restored_database_identifier(purpose, stamp(started))
    if not IDENTIFIER.match(identifier) or len(identifier) > 63:
        raise InputError(f"'{identifier}' is not a valid RDS identifier (lower-case letters, digits, single hyphens, at most 63)")
    if identifier == source_id:
        raise InputError(f"refusing to restore over {source_id}: restores always create a new instance")
    if describe_instance(rds, identifier) is not None:
        raise InputError(f"an instance named {identifier} already exists in {region}; nothing was changed")
    restore_time = None if options.to in (None, LATEST) else parse_time(options.to, "--to")
    if options.dr_region and not (options.subnet_group and options.security_groups):
        _placement(options, rds, region, f"restoring in the DR region {region}")  # refuses: the primary's placement does not exist there

    original = describe_instance(target.aws.client("rds"), source_id) if not options.dr_region else _try_primary(target, source_id)
    window = snapshot = backups_arn = dbi_resource_id = None
    if options.snapshot is not None:
        snapshot = find_snapshot(rds, source_id, options.snapshot, region)
        expected_key = snapshot.get("KmsKeyId")
    elif options.dr_region:
        backup = replicated_backups(rds, source_id, region)
        backups_arn = backup["DBInstanceAutomatedBackupsArn"]
        window = (backup["RestoreWindow"]["EarliestTime"], backup["RestoreWindow"]["LatestTime"])
        expected_key = backup.get("KmsKeyId")
    elif original is not None:
        window = restorable_window(rds, original)
        expected_key = original.get("KmsKeyId")
    else:
        backup = _retained_backups(rds, source_id, region)
        dbi_resource_id = backup["DbiResourceId"]
        window = (backup["RestoreWindow"]["EarliestTime"], backup["RestoreWindow"]["LatestTime"])
        expected_key = backup.get("KmsKeyId")
    if restore_time is not None and window is not None:
        check_in_window(restore_time, window, source_id)

    if original is not None and not options.dr_region:
        settings = InstanceSettings.of_instance(original)
        if options.subnet_group or options.security_groups or options.parameter_group:
            settings = settings.with_placement(_placement(options, rds, region, "overriding the placement"))
        settings = _with_expected_key(settings, expected_key)
    else:
        why = f"{source_id} cannot be read in {region}" if not options.dr_region else f"restoring in the DR region {region}"
        placement = _placement(options, rds, region, why)
        base = InstanceSettings.of_instance(original) if original is not None else None
        settings = (
            _with_expected_key(base.with_placement(placement), expected_key)
            if base is not None
            else InstanceSettings.from_spec(target.spec, names, placement, expected_key)
        )
        if options.dr_region:  # keys and monitoring roles of the primary region do not apply here
            settings = _dr_adjusted(settings, expected_key)
    tags = {RESTORED_FROM_TAG: source_id, RESTORE_POINT_TAG: iso(restore_time) if restore_time else (options.to or options.snapshot or "")}
    settings = settings.for_purpose({**tags, **(extra_tags or {})}, drill=purpose == "drill")
    return RestorePlan(
        source_identifier=source_id,
        target_identifier=identifier,
        region=region,
        same_region=not options.dr_region,
        settings=settings,
        restore_time=restore_time,
        window=window,
        snapshot=snapshot,
        automated_backups_arn=backups_arn,
        source_dbi_resource_id=dbi_resource_id,
    )


def _with_expected_key(settings: InstanceSettings, key: str | None) -> InstanceSettings:
    return replace(settings, kms_key_id=key or settings.kms_key_id)


def _dr_adjusted(settings: InstanceSettings, key: str | None) -> InstanceSettings:
    return replace(settings, kms_key_id=key, performance_insights_kms_key_id=None, master_secret_kms_key_id=None, ca_certificate=None)


def _try_primary(target: Target, identifier: str) -> dict[str, Any] | None:
    """The original's description when the primary region still answers (it may be down)."""
    try:
        return describe_instance(target.aws.client("rds"), identifier)
    except Exception:  # noqa: BLE001 - a region that is down fails in many ways; the spec is the fallback
        say(f"    primary region {target.aws.region} does not answer; taking the settings from the spec")
        return None


def _retained_backups(rds: Any, identifier: str, region: str) -> dict[str, Any]:
    backups = rds.describe_db_instance_automated_backups(DBInstanceIdentifier=identifier).get("DBInstanceAutomatedBackups", [])
    retained = [item for item in backups if item.get("Status") == "retained" and item.get("RestoreWindow", {}).get("LatestTime")]
    if not retained:
        raise InputError(f"{identifier} does not exist in {region} and has no retained automated backups; try --snapshot newest")
    return max(retained, key=lambda item: item["RestoreWindow"]["LatestTime"])


def instance_status(rds: Any, identifier: str) -> tuple[bool, str]:
    instance = describe_instance(rds, identifier)
    if instance is None:
        return False, "not visible yet"
    status = instance["DBInstanceStatus"]
    if status in FAILED_STATES:
        raise OpsError(f"{identifier} is {status}; see the RDS events of the instance")
    return status == "available", status


def execute_restore(target: Target, plan: RestorePlan, poll: Poll) -> tuple[dict[str, Any], float]:
    """Request the restore, wait for it, apply what the restore API cannot take, and verify."""
    rds = target.aws.client("rds", plan.region)
    operation, parameters = plan.request()
    step(f"requesting {operation.replace('_', '-')} of {plan.target_identifier}")
    getattr(rds, operation)(**parameters)
    waited = wait_for(plan.target_identifier, lambda: instance_status(rds, plan.target_identifier), poll)
    changes = plan.settings.post_restore_modifications(plan.same_region)
    current = describe_instance(rds, plan.target_identifier) or {}
    if bool(current.get("DeletionProtection")) != plan.settings.deletion_protection:  # asked for, but not applied
        changes["DeletionProtection"] = plan.settings.deletion_protection
    if changes:
        step(f"applying {', '.join(sorted(changes))} (not accepted by the restore API)")
        rds.modify_db_instance(DBInstanceIdentifier=plan.target_identifier, ApplyImmediately=True, **changes)
        waited += wait_for(plan.target_identifier, lambda: instance_status(rds, plan.target_identifier), poll)
    restored = describe_instance(rds, plan.target_identifier)
    if restored is None:
        raise OpsError(f"{plan.target_identifier} disappeared after the restore")
    return restored, waited


def report_restored(plan: RestorePlan, restored: dict[str, Any], seconds: float) -> list[str]:
    """Print the result; returns the settings that differ from the original's (empty when all match)."""
    endpoint = restored.get("Endpoint", {})
    mismatches = plan.settings.mismatches(restored)
    say(f"Restored {plan.target_identifier} from {plan.restore_point} in {duration(seconds)}")
    say(f"  endpoint: {endpoint.get('Address')}:{endpoint.get('Port')}")
    if mismatches:
        for mismatch in mismatches:
            say(f"  SETTING MISMATCH: {mismatch}")
    else:
        say("  settings: subnet group, security groups, parameter group, KMS key, Multi-AZ and class match the original")
    return mismatches


def switch_step(env: str, identifier: str) -> str:
    return f"python -m ops dr switch-db --env {env} --instance {identifier}"
