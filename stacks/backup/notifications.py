"""AWS Backup vault notifications: S3 objects that a backup or restore job skipped.

A job that backs up or restores a bucket can end COMPLETED while single objects failed; only the
vault's S3_BACKUP_OBJECT_FAILED and S3_RESTORE_OBJECT_FAILED notifications say so (AWS Backup
Developer Guide, "Notification options with AWS Backup"). Failed, aborted and expired jobs are
EventBridge events, sent by the observability stack's rule. The alarm topic is looked up by its
deterministic name, so this stack plans without the observability stack's state; its policy admits
`backup.amazonaws.com` from this account (stacks/observability/topic.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from cdktf_cdktf_provider_aws.backup_vault import BackupVault
from cdktf_cdktf_provider_aws.backup_vault_notifications import BackupVaultNotifications
from cdktf_cdktf_provider_aws.data_aws_sns_topic import DataAwsSnsTopic
from constructs import Construct

from envspec import Names

VAULT_EVENTS = ("S3_BACKUP_OBJECT_FAILED", "S3_RESTORE_OBJECT_FAILED")


class VaultFailureNotifications(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, names: Names, vaults: Sequence[BackupVault]):
        super().__init__(scope, construct_id)
        topic = DataAwsSnsTopic(self, "alarm_topic", name=names.alarm_topic)
        for index, vault in enumerate(vaults):
            BackupVaultNotifications(
                self,
                f"vault_{index}",
                backup_vault_name=vault.name,
                sns_topic_arn=topic.arn,
                backup_vault_events=list(VAULT_EVENTS),
            )
