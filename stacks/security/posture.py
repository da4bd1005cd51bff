"""`PostureChecks`: Security Hub with the AWS Foundational Security Best Practices and CIS AWS
Foundations standards, and the AWS Config recorder whose configuration items their controls evaluate
(Security Hub user guide, "Enabling and configuring AWS Config": most controls are Config rules).

The Config delivery bucket's policy follows the AWS Config developer guide ("Permissions for the
Amazon S3 bucket"): `s3:GetBucketAcl` and `s3:ListBucket` on the bucket, `s3:PutObject` on
`AWSLogs/<account>/Config/*` with `bucket-owner-full-control`, all for this account only.
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.config_configuration_recorder import (
    ConfigConfigurationRecorder,
    ConfigConfigurationRecorderRecordingGroup,
)
from cdktf_cdktf_provider_aws.config_configuration_recorder_status import ConfigConfigurationRecorderStatus
from cdktf_cdktf_provider_aws.config_delivery_channel import ConfigDeliveryChannel
from cdktf_cdktf_provider_aws.securityhub_account import SecurityhubAccount
from cdktf_cdktf_provider_aws.securityhub_standards_subscription import SecurityhubStandardsSubscription
from constructs import Construct

from envspec import Names
from stacks.checkov import skip_check
from stacks.iam import AWS_MANAGED, Role, service_trust, source_account
from stacks.kms import CustomerManagedKey
from stacks.policy import Condition, Statement
from stacks.storage import Lifecycle, SecureBucket

CONFIG = "config.amazonaws.com"
STANDARDS = {
    "fsbp": "standards/aws-foundational-security-best-practices/v/1.0.0",
    "cis": "standards/cis-aws-foundations-benchmark/v/1.4.0",
}


def config_key_statements(names: Names) -> list[Statement]:
    return [
        Statement(
            sid="ConfigEncryptsSnapshotsForThisAccount",
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=["*"],  # in a key policy, "*" is this key
            principals={"Service": [CONFIG]},
            conditions=[source_account(names.account)],
        )
    ]


class PostureChecks(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, names: Names, key: CustomerManagedKey):
        super().__init__(scope, construct_id)
        bucket_arn = f"arn:aws:s3:::{names.config_bucket}"
        this_account = Condition("StringEquals", "aws:SourceAccount", [names.account])
        self.bucket = SecureBucket(
            self,
            "bucket",
            name=names.config_bucket,
            key=key,
            access_log_bucket=None,
            lifecycle=Lifecycle(noncurrent_version_days=30, expiration_days=365),
            policy_statements=[
                Statement(
                    sid="ConfigChecksBucket",
                    actions=["s3:GetBucketAcl", "s3:ListBucket"],
                    resources=[bucket_arn],
                    principals={"Service": [CONFIG]},
                    conditions=[this_account],
                ),
                Statement(
                    sid="ConfigDeliversSnapshots",
                    actions=["s3:PutObject"],
                    resources=[f"{bucket_arn}/AWSLogs/{names.account}/Config/*"],
                    principals={"Service": [CONFIG]},
                    conditions=[this_account, Condition("StringEquals", "s3:x-amz-acl", ["bucket-owner-full-control"])],
                ),
            ],
        )
        skip_check(self.bucket.bucket, "CKV_AWS_18", "written only by AWS Config; CloudTrail records every access to it")
        skip_check(self.bucket.bucket, "CKV_AWS_144", "configuration snapshots are rebuilt by the recorder; no DR copy is needed")
        self.role = Role(
            self,
            "role",
            name=names.config_role,
            description=f"AWS Config recorder of {names.prefix}",
            trust=[service_trust(CONFIG, source_account(names.account))],
            managed_policies=[f"{AWS_MANAGED}service-role/AWS_ConfigRole"],
        )
        self.recorder = ConfigConfigurationRecorder(
            self,
            "recorder",
            name=names.prefix,
            role_arn=self.role.arn,
            recording_group=ConfigConfigurationRecorderRecordingGroup(all_supported=True, include_global_resource_types=True),
        )
        self.channel = ConfigDeliveryChannel(
            self,
            "channel",
            name=names.prefix,
            s3_bucket_name=self.bucket.bucket.id,
            s3_kms_key_arn=key.arn,
            depends_on=[self.recorder],
        )
        ConfigConfigurationRecorderStatus(self, "recorder_status", name=self.recorder.name, is_enabled=True, depends_on=[self.channel])
        self.hub = SecurityhubAccount(
            self, "hub", enable_default_standards=False, auto_enable_controls=True, control_finding_generator="SECURITY_CONTROL"
        )
        self.standards = {
            key_name: SecurityhubStandardsSubscription(
                self, f"standard_{key_name}", standards_arn=f"arn:aws:securityhub:{names.region}::{path}", depends_on=[self.hub]
            )
            for key_name, path in STANDARDS.items()
        }
