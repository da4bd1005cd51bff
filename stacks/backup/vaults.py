"""AWS Backup: KMS-encrypted vaults (the long-term ones locked in compliance mode where the spec says
so), a plan that snapshots the tagged RDS instance and files bucket, and the service role it runs as.

Two rules: a daily snapshot kept `snapshot_retention_days` in the (locked) vault and copied to the DR
region's vault, and, where the spec has a `snapshot_schedule`, frequent snapshots kept
`frequent_snapshot_retention_days` in their own unlocked vault. The frequent ones are not copied: the
DR region already receives the database's transaction logs (automated-backup replication) and every
file (S3 replication) within minutes. Bounded retention keeps the RDS snapshot count (each recovery
point is one) at 24 x 2 + 35 = 83 in production, under RDS's default quota of 100 per region.
"""

from __future__ import annotations

from cdktf import TerraformProvider
from cdktf_cdktf_provider_aws.backup_plan import (
    BackupPlan,
    BackupPlanRule,
    BackupPlanRuleCopyAction,
    BackupPlanRuleCopyActionLifecycle,
    BackupPlanRuleLifecycle,
)
from cdktf_cdktf_provider_aws.backup_selection import BackupSelection, BackupSelectionCondition, BackupSelectionConditionStringEquals
from cdktf_cdktf_provider_aws.backup_vault import BackupVault
from cdktf_cdktf_provider_aws.backup_vault_lock_configuration import BackupVaultLockConfiguration
from constructs import Construct

from envspec import EnvironmentSpec, Names
from envspec.naming import BACKUP_SELECTION_TAG_KEY
from stacks.iam import Role, service_trust
from stacks.kms import CustomerManagedKey

# Compliance-mode lock: changeable for the minimum three days after creation, then immutable.
LOCK_CHANGEABLE_DAYS = 3
# Upper bound a locked vault accepts; leaves room to lengthen retention later without a new vault.
LOCK_MAX_RETENTION_DAYS = 3650
# Start within an hour of the schedule, finish within two.
START_WINDOW_MINUTES = 60
COMPLETION_WINDOW_MINUTES = 120
# 03:00 JST: away from the RDS backup window (spec.database.backup_window, UTC) and office hours.
DAILY_SCHEDULE = "cron(0 18 * * ? *)"
SERVICE_ROLE_POLICIES = (
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
    "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup",
    "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Restore",
)


class Vault(Construct):
    """A KMS-encrypted vault, locked in compliance mode for `lock_retention_days` (None: not locked)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        key: CustomerManagedKey,
        lock_retention_days: int | None,
        provider: TerraformProvider | None = None,
    ):
        super().__init__(scope, construct_id)
        self.vault = BackupVault(
            self,
            "vault",
            name=name,
            kms_key_arn=key.arn,
            tags={"Name": name},
            provider=provider,
        )
        if lock_retention_days is not None:
            BackupVaultLockConfiguration(
                self,
                "lock",
                backup_vault_name=self.vault.name,
                min_retention_days=lock_retention_days,
                max_retention_days=max(lock_retention_days, LOCK_MAX_RETENTION_DAYS),
                changeable_for_days=LOCK_CHANGEABLE_DAYS,
                provider=provider,
            )


class BackupService(Construct):
    """The plan, its tag selection and the role AWS Backup assumes."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: EnvironmentSpec,
        names: Names,
        vault: Vault,
        copy_to: Vault | None,
        frequent: Vault | None,
    ):
        super().__init__(scope, construct_id)
        backup = spec.backup
        self.role = Role(
            self,
            "role",
            name=names.backup_role,
            description=f"AWS Backup service role of {names.prefix}",
            trust=[service_trust("backup.amazonaws.com")],
            managed_policies=SERVICE_ROLE_POLICIES,
        )
        tags = {**names.tags(), BACKUP_SELECTION_TAG_KEY: names.backup_plan}
        rules = [
            BackupPlanRule(
                rule_name="daily",
                target_vault_name=vault.vault.name,
                schedule=DAILY_SCHEDULE,
                start_window=START_WINDOW_MINUTES,
                completion_window=COMPLETION_WINDOW_MINUTES,
                lifecycle=BackupPlanRuleLifecycle(delete_after=backup.snapshot_retention_days),
                copy_action=[
                    BackupPlanRuleCopyAction(
                        destination_vault_arn=copy_to.vault.arn,
                        lifecycle=BackupPlanRuleCopyActionLifecycle(delete_after=backup.copy_retention_days),
                    )
                ]
                if copy_to is not None
                else None,
                recovery_point_tags=tags,
            )
        ]
        if frequent is not None and backup.snapshot_schedule is not None:
            rules.append(
                BackupPlanRule(
                    rule_name="frequent",
                    target_vault_name=frequent.vault.name,
                    schedule=backup.snapshot_schedule,
                    start_window=START_WINDOW_MINUTES,
                    completion_window=COMPLETION_WINDOW_MINUTES,
                    lifecycle=BackupPlanRuleLifecycle(delete_after=backup.frequent_snapshot_retention_days),
                    recovery_point_tags=tags,
                )
            )
        self.plan = BackupPlan(self, "plan", name=names.backup_plan, rule=rules, tags={"Name": names.backup_plan})
        # Selection by tag: RDS instances and S3 buckets of this account that carry the plan's tag
        # (the data stack tags the database and the files bucket with `names.backup_selection_tag`).
        key, value = names.backup_selection_tag
        self.selection = BackupSelection(
            self,
            "selection",
            name=f"{names.prefix}-tagged",
            plan_id=self.plan.id,
            iam_role_arn=self.role.arn,
            resources=[f"arn:aws:rds:{spec.aws.region}:{names.account}:db:*", "arn:aws:s3:::*"],
            condition=[
                BackupSelectionCondition(string_equals=[BackupSelectionConditionStringEquals(key=f"aws:ResourceTag/{key}", value=value)])
            ],
        )
