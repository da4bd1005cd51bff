"""`AuditTrail`: a multi-region CloudTrail trail with log-file validation, encrypted with its own
KMS key, delivered to an Object-Locked bucket and to CloudWatch Logs (for the CIS metric filters).

The key policy follows the CloudTrail user guide ("Configure AWS KMS key policies for CloudTrail"):
CloudTrail may generate data keys only for this trail (`aws:SourceArn`) and for trails of this
account (`kms:EncryptionContext:aws:cloudtrail:arn`), and describe the key. The bucket policy
follows "Amazon S3 bucket policy for CloudTrail" (`s3:GetBucketAcl`, and `s3:PutObject` on
`AWSLogs/<account>/*` with `bucket-owner-full-control`), both limited to this trail by `aws:SourceArn`.
Object Lock (S3 user guide, "Locking objects with Object Lock") can only be enabled when the bucket is
created; its default retention applies to every log file written.
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.cloudtrail import Cloudtrail
from cdktf_cdktf_provider_aws.s3_bucket_object_lock_configuration import (
    S3BucketObjectLockConfigurationA,
    S3BucketObjectLockConfigurationRuleA,
    S3BucketObjectLockConfigurationRuleDefaultRetentionA,
)
from constructs import Construct

from envspec import Names
from envspec.models import Security
from stacks.checkov import skip_check
from stacks.iam import Role, service_trust, source_account
from stacks.kms import CustomerManagedKey
from stacks.logs import encrypted_log_group
from stacks.policy import Condition, Statement
from stacks.storage import Lifecycle, SecureBucket

CLOUDTRAIL = "cloudtrail.amazonaws.com"


def trail_key_statements(names: Names) -> list[Statement]:
    this_trail = Condition("StringEquals", "aws:SourceArn", [names.trail_arn])
    return [
        Statement(
            sid="CloudTrailEncryptsThisTrailsLogs",
            actions=["kms:GenerateDataKey*"],
            resources=["*"],  # in a key policy, "*" is this key
            principals={"Service": [CLOUDTRAIL]},
            conditions=[
                this_trail,
                Condition("StringLike", "kms:EncryptionContext:aws:cloudtrail:arn", [f"arn:aws:cloudtrail:*:{names.account}:trail/*"]),
            ],
        ),
        Statement(
            sid="CloudTrailDescribesKey",
            actions=["kms:DescribeKey"],
            resources=["*"],
            principals={"Service": [CLOUDTRAIL]},
            conditions=[this_trail],
        ),
    ]


class AuditTrail(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Security, names: Names, key: CustomerManagedKey):
        super().__init__(scope, construct_id)
        self.key = key
        bucket_arn = f"arn:aws:s3:::{names.trail_bucket}"
        from_this_trail = Condition("StringEquals", "aws:SourceArn", [names.trail_arn])
        self.bucket = SecureBucket(
            self,
            "bucket",
            name=names.trail_bucket,
            key=self.key,
            access_log_bucket=None,
            lifecycle=Lifecycle(noncurrent_version_days=1, expiration_days=settings.trail_retention_days),
            policy_statements=[
                Statement(
                    sid="CloudTrailChecksBucketAcl",
                    actions=["s3:GetBucketAcl"],
                    resources=[bucket_arn],
                    principals={"Service": [CLOUDTRAIL]},
                    conditions=[from_this_trail],
                ),
                Statement(
                    sid="CloudTrailWritesLogFiles",
                    actions=["s3:PutObject"],
                    resources=[f"{bucket_arn}/AWSLogs/{names.account}/*"],
                    principals={"Service": [CLOUDTRAIL]},
                    conditions=[from_this_trail, Condition("StringEquals", "s3:x-amz-acl", ["bucket-owner-full-control"])],
                ),
            ],
        )
        bucket = self.bucket.bucket
        bucket.add_override("object_lock_enabled", True)
        self.object_lock = S3BucketObjectLockConfigurationA(
            self,
            "object_lock",
            bucket=bucket.id,
            rule=S3BucketObjectLockConfigurationRuleA(
                default_retention=S3BucketObjectLockConfigurationRuleDefaultRetentionA(
                    mode=settings.trail_lock_mode, days=settings.trail_retention_days
                )
            ),
            depends_on=[self.bucket.versioning],
        )
        skip_check(bucket, "CKV_AWS_18", "the audit bucket is written only by CloudTrail, whose own data events record its access")
        skip_check(bucket, "CKV_AWS_144", "audit logs are kept in-region under Object Lock; CloudTrail is multi-region already")

        self.log_group = encrypted_log_group(
            self, "log_group", name=names.trail_log_group, retention_days=settings.trail_log_retention_days, key=self.key
        )
        self.logs_role = Role(
            self,
            "logs_role",
            name=names.trail_logs_role,
            description=f"CloudTrail delivers {names.trail} to CloudWatch Logs",
            trust=[service_trust(CLOUDTRAIL, source_account(names.account))],
            permissions=[
                Statement(
                    sid="DeliverTrailEvents",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[f"{self.log_group.arn}:log-stream:*"],
                )
            ],
        )
        self.trail = Cloudtrail(
            self,
            "trail",
            name=names.trail,
            s3_bucket_name=bucket.id,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            kms_key_id=self.key.arn,
            cloud_watch_logs_group_arn=f"{self.log_group.arn}:*",
            cloud_watch_logs_role_arn=self.logs_role.arn,
            tags={"Name": names.trail},
            depends_on=[self.object_lock, self.bucket],
        )
        skip_check(self.trail, "CKV_AWS_252", "no SNS notification per log file: the CIS alarms on the log group notify on-call")
