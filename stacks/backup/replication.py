"""Replication of the files bucket to a versioned bucket in the DR region, with Replication Time
Control and its metrics, and alarms that measure the lag against the recovery point objective.

The files bucket itself belongs to the data stack; this construct attaches the bucket's (only)
replication configuration to it by name.
"""

from __future__ import annotations

from cdktf import TerraformProvider
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktf_cdktf_provider_aws.data_aws_sns_topic import DataAwsSnsTopic
from cdktf_cdktf_provider_aws.s3_bucket_replication_configuration import (
    S3BucketReplicationConfigurationA,
    S3BucketReplicationConfigurationRule,
    S3BucketReplicationConfigurationRuleDeleteMarkerReplication,
    S3BucketReplicationConfigurationRuleDestination,
    S3BucketReplicationConfigurationRuleDestinationEncryptionConfiguration,
    S3BucketReplicationConfigurationRuleDestinationMetrics,
    S3BucketReplicationConfigurationRuleDestinationMetricsEventThreshold,
    S3BucketReplicationConfigurationRuleDestinationReplicationTime,
    S3BucketReplicationConfigurationRuleDestinationReplicationTimeTime,
    S3BucketReplicationConfigurationRuleFilter,
    S3BucketReplicationConfigurationRuleSourceSelectionCriteria,
    S3BucketReplicationConfigurationRuleSourceSelectionCriteriaSseKmsEncryptedObjects,
)
from constructs import Construct

from envspec import EnvironmentSpec, Names
from stacks.checkov import skip_check
from stacks.iam import Role, service_trust
from stacks.kms import CustomerManagedKey
from stacks.policy import Condition, Statement
from stacks.storage import Lifecycle, SecureBucket

# S3 Replication Time Control: 99.99% of objects within 15 minutes (the only value S3 accepts).
RTC_MINUTES = 15
LOG_REASON = "access-log bucket of the DR region: logs are diagnostics, not data the recovery depends on"


def s3_encryption_contexts(bucket_arn: str) -> list[str]:
    """The `aws:s3:arn` encryption context S3 sends to KMS for a bucket's objects: the bucket's ARN
    when the object uses an S3 Bucket Key (both buckets enable them), the object's ARN for objects
    written without one (S3 User Guide, "Reducing the cost of SSE-KMS with Amazon S3 Bucket Keys")."""
    return [bucket_arn, f"{bucket_arn}/*"]


class FilesReplication(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: EnvironmentSpec,
        names: Names,
        dr_key: CustomerManagedKey,
        dr_provider: TerraformProvider,
    ):
        super().__init__(scope, construct_id)
        region, dr_region = spec.aws.region, spec.aws.dr_region
        source_bucket, source_arn = names.bucket("files"), names.bucket_arn("files")
        access_logs = SecureBucket(
            self,
            "access_logs",
            name=names.bucket("access-logs-dr"),
            key=None,
            access_log_bucket=None,
            lifecycle=Lifecycle(expiration_days=365),
            provider=dr_provider,
        )
        skip_check(access_logs.bucket, "CKV_AWS_144", LOG_REASON)
        self.replica = SecureBucket(
            self,
            "replica",
            name=names.bucket("files-dr"),
            key=dr_key,
            access_log_bucket=access_logs.bucket,
            provider=dr_provider,
        )

        replica_arn = self.replica.bucket.arn
        self.role = Role(
            self,
            "role",
            name=names.files_replication_role,
            description=f"S3 replication of {source_bucket} to {dr_region}",
            trust=[service_trust("s3.amazonaws.com")],
            permissions=[
                Statement(
                    sid="ReadReplicationConfiguration", actions=["s3:GetReplicationConfiguration", "s3:ListBucket"], resources=[source_arn]
                ),
                Statement(
                    sid="ReadSourceVersions",
                    actions=["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
                    resources=[f"{source_arn}/*"],
                ),
                Statement(
                    sid="WriteReplicas",
                    actions=["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                    resources=[f"{replica_arn}/*"],
                ),
                Statement(
                    sid="DecryptSourceWithTheDataKey",
                    actions=["kms:Decrypt"],
                    resources=[f"arn:aws:kms:{region}:{names.account}:key/*"],
                    conditions=[
                        Condition("ForAnyValue:StringEquals", "kms:ResourceAliases", [names.kms_alias("data")]),
                        Condition("StringEquals", "kms:ViaService", [f"s3.{region}.amazonaws.com"]),
                        Condition("StringLike", "kms:EncryptionContext:aws:s3:arn", s3_encryption_contexts(source_arn)),
                    ],
                ),
                # With a Bucket Key on the replica bucket S3 also calls kms:Decrypt on the DR key to
                # verify the Bucket Key it generated (S3 User Guide, "S3 Bucket Keys and replication").
                Statement(
                    sid="EncryptReplicasWithTheDrKey",
                    actions=["kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[dr_key.arn],
                    conditions=[
                        Condition("StringEquals", "kms:ViaService", [f"s3.{dr_region}.amazonaws.com"]),
                        Condition("StringLike", "kms:EncryptionContext:aws:s3:arn", s3_encryption_contexts(replica_arn)),
                    ],
                ),
            ],
        )

        self.configuration = S3BucketReplicationConfigurationA(
            self,
            "configuration",
            bucket=source_bucket,
            role=self.role.arn,
            rule=[
                S3BucketReplicationConfigurationRule(
                    id=names.files_replication_rule,
                    status="Enabled",
                    priority=1,
                    filter=S3BucketReplicationConfigurationRuleFilter(prefix=""),
                    delete_marker_replication=S3BucketReplicationConfigurationRuleDeleteMarkerReplication(status="Enabled"),
                    source_selection_criteria=S3BucketReplicationConfigurationRuleSourceSelectionCriteria(
                        sse_kms_encrypted_objects=S3BucketReplicationConfigurationRuleSourceSelectionCriteriaSseKmsEncryptedObjects(
                            status="Enabled"
                        )
                    ),
                    destination=S3BucketReplicationConfigurationRuleDestination(
                        bucket=replica_arn,
                        storage_class="STANDARD",
                        encryption_configuration=S3BucketReplicationConfigurationRuleDestinationEncryptionConfiguration(
                            replica_kms_key_id=dr_key.arn
                        ),
                        replication_time=S3BucketReplicationConfigurationRuleDestinationReplicationTime(
                            status="Enabled",
                            time=S3BucketReplicationConfigurationRuleDestinationReplicationTimeTime(minutes=RTC_MINUTES),
                        ),
                        metrics=S3BucketReplicationConfigurationRuleDestinationMetrics(
                            status="Enabled",
                            event_threshold=S3BucketReplicationConfigurationRuleDestinationMetricsEventThreshold(minutes=RTC_MINUTES),
                        ),
                    ),
                )
            ],
            depends_on=[self.replica.versioning],
        )
        self._alarms(spec, names, source_bucket)

    def _alarms(self, spec: EnvironmentSpec, names: Names, source_bucket: str) -> None:
        """Replication metrics (published in the source region) against the recovery point objective.

        They notify the observability stack's topic, looked up by its deterministic name: a plan
        fails clearly if that stack has not been applied, rather than alarming into nothing.
        """
        topic = DataAwsSnsTopic(self, "alarm_topic", name=names.alarm_topic)
        dimensions = {"SourceBucket": source_bucket, "DestinationBucket": names.bucket("files-dr"), "RuleId": names.files_replication_rule}
        objective_seconds = spec.backup.recovery_point_objective_minutes * 60
        common = {
            "namespace": "AWS/S3",
            "dimensions": dimensions,
            "period": 60,
            "alarm_actions": [topic.arn],
            "ok_actions": [topic.arn],
            # No writes, no replication, no data points: that is healthy, not an outage.
            "treat_missing_data": "notBreaching",
        }
        CloudwatchMetricAlarm(
            self,
            "latency_alarm",
            alarm_name=f"{names.prefix}-files-replication-latency",
            alarm_description=(
                f"Files of {source_bucket} reach {names.bucket('files-dr')} more than "
                f"{spec.backup.recovery_point_objective_minutes} min late (recovery point objective); see docs/disaster-recovery.md"
            ),
            metric_name="ReplicationLatency",
            statistic="Maximum",
            comparison_operator="GreaterThanThreshold",
            threshold=objective_seconds,
            evaluation_periods=5,
            datapoints_to_alarm=3,
            **common,
        )
        CloudwatchMetricAlarm(
            self,
            "failure_alarm",
            alarm_name=f"{names.prefix}-files-replication-failures",
            alarm_description=f"Objects of {source_bucket} failed to replicate to the DR region; see docs/disaster-recovery.md",
            metric_name="OperationsFailedReplication",
            statistic="Sum",
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            evaluation_periods=1,
            **common,
        )
