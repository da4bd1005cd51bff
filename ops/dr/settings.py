"""The settings a restored RDS instance must share with the original, passed to AWS explicitly.

AWS restores an instance with defaults (default security group, default parameter group, single-AZ)
for everything the request does not name, so every setting that matters is read from the original
(or, when the original is gone, from the spec) and sent in the restore request; what the restore
APIs cannot take (Performance Insights, enhanced monitoring) is applied right after.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from envspec import EnvironmentSpec, Names
from envspec.naming import BACKUP_SELECTION_TAG_KEY, POSTGRES_PORT

OPS_TAG_PREFIX = "ops:"
RESTORED_FROM_TAG = "ops:restored-from"
RESTORE_POINT_TAG = "ops:restore-point"
DRILL_TAG = "ops:drill"
# gp3 below this size has fixed baseline IOPS/throughput that RDS refuses to be given explicitly.
GP3_CONFIGURABLE_FROM_GIB = 400


@dataclass(frozen=True)
class Placement:
    """Where the instance lives; in the DR region these must be named on the command line."""

    subnet_group: str
    security_groups: tuple[str, ...]
    parameter_group: str | None = None
    option_group: str | None = None


@dataclass(frozen=True)
class InstanceSettings:
    instance_class: str
    placement: Placement
    multi_az: bool
    storage_type: str
    allocated_storage: int
    iops: int | None
    storage_throughput: int | None
    max_allocated_storage: int | None
    kms_key_id: str | None  # expected key; the restore APIs take it from the backup, so it is verified
    deletion_protection: bool
    iam_auth: bool
    log_exports: tuple[str, ...]
    copy_tags_to_snapshot: bool
    backup_retention_days: int
    backup_window: str | None
    port: int
    auto_minor_version_upgrade: bool
    ca_certificate: str | None
    tags: tuple[tuple[str, str], ...]
    performance_insights_retention_days: int | None  # None: off
    performance_insights_kms_key_id: str | None
    monitoring_interval: int
    monitoring_role_arn: str | None
    master_secret_kms_key_id: str | None

    @classmethod
    def of_instance(cls, instance: dict[str, Any]) -> InstanceSettings:
        """Settings of an existing instance, as `describe_db_instances` reports them."""
        parameter_groups = [group["DBParameterGroupName"] for group in instance.get("DBParameterGroups", [])]
        option_groups = [group["OptionGroupName"] for group in instance.get("OptionGroupMemberships", [])]
        pi_enabled = bool(instance.get("PerformanceInsightsEnabled"))
        return cls(
            instance_class=instance["DBInstanceClass"],
            placement=Placement(
                subnet_group=instance["DBSubnetGroup"]["DBSubnetGroupName"],
                security_groups=tuple(sorted(group["VpcSecurityGroupId"] for group in instance.get("VpcSecurityGroups", []))),
                parameter_group=next((name for name in parameter_groups if not name.startswith("default.")), None),
                option_group=next((name for name in option_groups if not name.startswith("default:")), None),
            ),
            multi_az=bool(instance.get("MultiAZ")),
            storage_type=instance.get("StorageType", "gp3"),
            allocated_storage=int(instance["AllocatedStorage"]),
            iops=instance.get("Iops"),
            storage_throughput=instance.get("StorageThroughput"),
            max_allocated_storage=instance.get("MaxAllocatedStorage"),
            kms_key_id=instance.get("KmsKeyId"),
            deletion_protection=bool(instance.get("DeletionProtection")),
            iam_auth=bool(instance.get("IAMDatabaseAuthenticationEnabled")),
            log_exports=tuple(instance.get("EnabledCloudwatchLogsExports", [])),
            copy_tags_to_snapshot=bool(instance.get("CopyTagsToSnapshot")),
            backup_retention_days=int(instance.get("BackupRetentionPeriod", 0)),
            backup_window=instance.get("PreferredBackupWindow"),
            port=int(instance.get("Endpoint", {}).get("Port") or instance.get("DbInstancePort") or POSTGRES_PORT),
            auto_minor_version_upgrade=bool(instance.get("AutoMinorVersionUpgrade", True)),
            ca_certificate=instance.get("CACertificateIdentifier"),
            tags=tuple((tag["Key"], tag["Value"]) for tag in instance.get("TagList", [])),
            performance_insights_retention_days=instance.get("PerformanceInsightsRetentionPeriod") if pi_enabled else None,
            performance_insights_kms_key_id=instance.get("PerformanceInsightsKMSKeyId") if pi_enabled else None,
            monitoring_interval=int(instance.get("MonitoringInterval") or 0),
            monitoring_role_arn=instance.get("MonitoringRoleArn"),
            master_secret_kms_key_id=(instance.get("MasterUserSecret") or {}).get("KmsKeyId"),
        )

    @classmethod
    def from_spec(cls, spec: EnvironmentSpec, names: Names, placement: Placement, kms_key_id: str | None) -> InstanceSettings:
        """Settings when the original cannot be read (it was deleted, or its region is down)."""
        database = spec.database
        return cls(
            instance_class=database.instance_class,
            placement=placement,
            multi_az=database.multi_az,
            storage_type="gp3",
            allocated_storage=database.allocated_storage_gib,
            iops=None,
            storage_throughput=None,
            max_allocated_storage=database.max_allocated_storage_gib,
            kms_key_id=kms_key_id,
            deletion_protection=database.deletion_protection,
            iam_auth=True,
            log_exports=("postgresql", "upgrade"),
            copy_tags_to_snapshot=True,
            backup_retention_days=database.backup_retention_days,
            backup_window=database.backup_window_utc,
            port=POSTGRES_PORT,
            auto_minor_version_upgrade=True,
            ca_certificate=None,
            tags=(*sorted(names.tags().items()), names.backup_selection_tag),
            performance_insights_retention_days=database.performance_insights_retention_days,
            performance_insights_kms_key_id=None,
            monitoring_interval=0,
            monitoring_role_arn=None,
            master_secret_kms_key_id=None,
        )

    def with_placement(self, placement: Placement) -> InstanceSettings:
        return replace(self, placement=placement)

    def for_purpose(self, extra_tags: dict[str, str], drill: bool) -> InstanceSettings:
        """Tags for the restored copy. A drill copy is not put under the backup plan and can be deleted."""
        kept = [
            (key, value)
            for key, value in self.tags
            if not key.startswith(("aws:", OPS_TAG_PREFIX)) and not (drill and key == BACKUP_SELECTION_TAG_KEY)
        ]
        changes: dict[str, Any] = {"tags": (*kept, *sorted(extra_tags.items()))}
        if drill:
            changes["deletion_protection"] = False
        return replace(self, **changes)

    def restore_parameters(self, point_in_time: bool) -> dict[str, Any]:
        """Every setting a restore request can carry, stated explicitly."""
        parameters: dict[str, Any] = {
            "DBInstanceClass": self.instance_class,
            "DBSubnetGroupName": self.placement.subnet_group,
            "VpcSecurityGroupIds": list(self.placement.security_groups),
            "MultiAZ": self.multi_az,
            "StorageType": self.storage_type,
            "PubliclyAccessible": False,
            "DeletionProtection": self.deletion_protection,
            "EnableIAMDatabaseAuthentication": self.iam_auth,
            "CopyTagsToSnapshot": self.copy_tags_to_snapshot,
            "AutoMinorVersionUpgrade": self.auto_minor_version_upgrade,
            "Port": self.port,
            "Tags": [{"Key": key, "Value": value} for key, value in self.tags],
        }
        if self.placement.parameter_group:
            parameters["DBParameterGroupName"] = self.placement.parameter_group
        if self.placement.option_group:
            parameters["OptionGroupName"] = self.placement.option_group
        if self.log_exports:
            parameters["EnableCloudwatchLogsExports"] = list(self.log_exports)
        if self.backup_retention_days:
            parameters["BackupRetentionPeriod"] = self.backup_retention_days
        if self.backup_window:
            parameters["PreferredBackupWindow"] = self.backup_window
        if self.ca_certificate:
            parameters["CACertificateIdentifier"] = self.ca_certificate
        if self.storage_type in ("io1", "io2") and self.iops:
            parameters["Iops"] = self.iops
        elif self.storage_type == "gp3" and self.allocated_storage >= GP3_CONFIGURABLE_FROM_GIB:
            if self.iops:
                parameters["Iops"] = self.iops
            if self.storage_throughput:
                parameters["StorageThroughput"] = self.storage_throughput
        if point_in_time and self.max_allocated_storage:
            parameters["MaxAllocatedStorage"] = self.max_allocated_storage
        return parameters

    def post_restore_modifications(self, same_region: bool) -> dict[str, Any]:
        """What the restore APIs cannot take; applied with modify-db-instance once the copy is up."""
        changes: dict[str, Any] = {}
        if self.performance_insights_retention_days:
            changes["EnablePerformanceInsights"] = True
            changes["PerformanceInsightsRetentionPeriod"] = self.performance_insights_retention_days
            if self.performance_insights_kms_key_id and same_region:  # a KMS key is regional
                changes["PerformanceInsightsKMSKeyId"] = self.performance_insights_kms_key_id
        if self.monitoring_interval and self.monitoring_role_arn:
            changes["MonitoringInterval"] = self.monitoring_interval
            changes["MonitoringRoleArn"] = self.monitoring_role_arn
        return changes

    def mismatches(self, restored: dict[str, Any]) -> list[str]:
        """Where a restored instance differs from these settings (empty when it matches)."""
        actual = InstanceSettings.of_instance(restored)
        expected_parameter_group = self.placement.parameter_group
        checks: list[tuple[str, object, object]] = [
            ("instance class", self.instance_class, actual.instance_class),
            ("subnet group", self.placement.subnet_group, actual.placement.subnet_group),
            ("security groups", tuple(sorted(self.placement.security_groups)), actual.placement.security_groups),
            ("Multi-AZ", self.multi_az, actual.multi_az),
            ("deletion protection", self.deletion_protection, actual.deletion_protection),
            ("IAM authentication", self.iam_auth, actual.iam_auth),
            ("encrypted", True, bool(restored.get("StorageEncrypted"))),
            ("publicly accessible", False, bool(restored.get("PubliclyAccessible"))),
        ]
        if expected_parameter_group:
            checks.append(("parameter group", expected_parameter_group, actual.placement.parameter_group))
        if self.kms_key_id:
            checks.append(("KMS key", self.kms_key_id, actual.kms_key_id))
        return [f"{label}: expected {want}, got {got}" for label, want, got in checks if want != got]

    def summary(self) -> list[tuple[str, str]]:
        placement = self.placement
        return [
            ("instance class", self.instance_class),
            ("subnet group", placement.subnet_group),
            ("security groups", ", ".join(placement.security_groups) or "(none)"),
            ("parameter group", placement.parameter_group or "(engine default)"),
            ("KMS key", self.kms_key_id or "(from the backup)"),
            ("Multi-AZ", "yes" if self.multi_az else "no"),
            ("deletion protection", "yes" if self.deletion_protection else "no"),
        ]
