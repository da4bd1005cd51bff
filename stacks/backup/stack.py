"""`<env>-backup`: the copies the recovery point objective rests on.

- RDS: the data stack's instance keeps 30 days of point-in-time recovery; here its automated
  backups are replicated to the DR region under a DR-region KMS key.
- AWS Backup: a vault per region (KMS; locked in compliance mode where spec.backup.vault_lock) and a
  plan for everything tagged `names.backup_selection_tag` (the database and the files bucket): daily
  snapshots copied to the DR vault, and frequent ones on spec.backup.snapshot_schedule (see vaults.py).
- S3: the files bucket replicated to a versioned bucket in the DR region with Replication Time
  Control, metrics and lag alarms.

The data stack's resources are referenced by their deterministic names and ARNs (envspec.naming),
and its KMS key through its alias, so this stack plans without reading the data stack's state.
Both keys delegate their use to IAM (the account-root statement); AWS Backup, RDS and S3 use them
through grants made with the caller's or the service role's IAM permissions.
Without spec.backup.cross_region (development) only the primary vault and plan exist.
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.db_instance_automated_backups_replication import DbInstanceAutomatedBackupsReplication
from constructs import Construct

from envspec import EnvironmentSpec
from stacks.backup.notifications import VaultFailureNotifications
from stacks.backup.replication import FilesReplication
from stacks.backup.vaults import BackupService, Vault
from stacks.base import EnvironmentStack
from stacks.kms import CustomerManagedKey


class BackupStack(EnvironmentStack):
    layer = "backup"

    def __init__(self, scope: Construct, spec: EnvironmentSpec):
        super().__init__(scope, spec)
        names, backup = self.names, spec.backup
        region, dr_region = spec.aws.region, spec.aws.dr_region
        self.key = CustomerManagedKey(
            self,
            "key",
            names=names,
            purpose="backup",
            description=f"{names.prefix} AWS Backup vault ({region})",
        )
        lock = backup.vault_lock
        self.vault = Vault(
            self, "vault", name=names.backup_vault, key=self.key, lock_retention_days=backup.snapshot_retention_days if lock else None
        )
        self.frequent_vault = (
            Vault(self, "frequent_vault", name=names.backup_frequent_vault, key=self.key, lock_retention_days=None)
            if backup.snapshot_schedule
            else None
        )
        self.dr_vault: Vault | None = None
        if backup.cross_region:
            self.dr_key = CustomerManagedKey(
                self,
                "dr_key",
                names=names,
                purpose="backup-dr",
                description=f"{names.prefix} disaster-recovery copies ({dr_region})",
                provider=self.dr_provider,
            )
            self.dr_vault = Vault(
                self,
                "dr_vault",
                name=names.backup_vault,
                key=self.dr_key,
                lock_retention_days=backup.copy_retention_days if lock else None,
                provider=self.dr_provider,
            )
            self.database_replication = DbInstanceAutomatedBackupsReplication(
                self,
                "database_replication",
                source_db_instance_arn=names.database_arn,
                kms_key_id=self.dr_key.arn,
                retention_period=spec.database.backup_retention_days,
                provider=self.dr_provider,
            )
            self.files = FilesReplication(self, "files", spec=spec, names=names, dr_key=self.dr_key, dr_provider=self.dr_provider)
        self.service = BackupService(
            self, "service", spec=spec, names=names, vault=self.vault, copy_to=self.dr_vault, frequent=self.frequent_vault
        )
        primary_vaults = [vault.vault for vault in (self.vault, self.frequent_vault) if vault is not None]
        VaultFailureNotifications(self, "notifications", names=names, vaults=primary_vaults)

        self.output("backup_vault_arn", self.vault.vault.arn, f"AWS Backup vault in {region} (daily recovery points)")
        self.output("backup_plan_id", self.service.plan.id, "AWS Backup plan for resources tagged with the plan's selection tag")
        self.output("backup_role_arn", self.service.role.arn, "Role AWS Backup runs the plan as")
        if self.dr_vault is not None:
            self.output("dr_backup_vault_arn", self.dr_vault.vault.arn, f"AWS Backup vault in {dr_region} receiving the copies")
            self.output("dr_kms_key_arn", self.dr_key.arn, f"KMS key of the copies in {dr_region}")
            self.output("files_replica_bucket", self.files.replica.bucket.bucket, f"Replica of the files bucket in {dr_region}")
            self.output("files_replication_role_arn", self.files.role.arn, "Role S3 replicates the files bucket as")
