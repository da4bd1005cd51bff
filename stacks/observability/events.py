"""Failures that are events, not metrics: AWS Backup jobs and RDS events, sent to the topics.

- AWS Backup emits "Backup Job State Change" and "Copy Job State Change" events to EventBridge with
  `detail.state` (AWS Backup Developer Guide, "Monitoring AWS Backup events using EventBridge"; job
  states CREATED, PENDING, RUNNING, ABORTING, ABORTED, COMPLETED, FAILED, EXPIRED, PARTIAL). The rule
  sends the ones that ended without a recovery point (FAILED, ABORTED, EXPIRED) to the alarm topic.
  Vault notifications cannot do this: their events (BACKUP_JOB_COMPLETED, COPY_JOB_FAILED, ...) have
  no "backup job failed", so the backup stack subscribes the vault only to the S3 object failures that
  no job state shows (S3_BACKUP_OBJECT_FAILED, S3_RESTORE_OBJECT_FAILED).
- RDS event notifications for the database instance (RDS User Guide, "Working with Amazon RDS event
  notification"): the categories that need someone now (failover, failure, low storage) to the alarm
  topic, the ones to read in working hours (maintenance, notification) to the notice topic.
"""

from __future__ import annotations

import json

from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktf_cdktf_provider_aws.cloudwatch_event_target import CloudwatchEventTarget
from cdktf_cdktf_provider_aws.db_event_subscription import DbEventSubscription
from constructs import Construct

from envspec import Names
from stacks.observability.topic import EncryptedTopic

BACKUP_EVENTS = ("Backup Job State Change", "Copy Job State Change")
BACKUP_FAILED_STATES = ("FAILED", "ABORTED", "EXPIRED")
RDS_PAGING_CATEGORIES = ("failover", "failure", "low storage")
RDS_NOTICE_CATEGORIES = ("maintenance", "notification")


def backup_failure_pattern() -> dict[str, object]:
    return {"source": ["aws.backup"], "detail-type": list(BACKUP_EVENTS), "detail": {"state": list(BACKUP_FAILED_STATES)}}


class FailureEvents(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, names: Names, alarms: EncryptedTopic, notices: EncryptedTopic):
        super().__init__(scope, construct_id)
        rule_name = f"{names.prefix}-backup-job-failures"  # within the topics' `rule/<prefix>-*` source ARN
        self.backup_rule = CloudwatchEventRule(
            self,
            "backup_failures",
            name=rule_name,
            description="AWS Backup and copy jobs that failed, were aborted or expired",
            event_pattern=json.dumps(backup_failure_pattern(), sort_keys=True),
            tags={"Name": rule_name},
        )
        CloudwatchEventTarget(self, "backup_failures_target", rule=self.backup_rule.name, target_id="alarm-topic", arn=alarms.arn)
        self.database_subscriptions = [
            DbEventSubscription(
                self,
                f"database_{label}",
                name=f"{names.prefix}-database-{label}",
                sns_topic=topic.arn,
                source_type="db-instance",
                source_ids=[names.database_identifier],
                event_categories=list(categories),
                enabled=True,
                tags={"Name": f"{names.prefix}-database-{label}"},
            )
            for label, topic, categories in (
                ("paging", alarms, RDS_PAGING_CATEGORIES),
                ("notices", notices, RDS_NOTICE_CATEGORIES),
            )
        ]
