"""S3 bucket with the defaults every bucket here needs: versioning, default encryption, all public
access blocked, bucket-owner-enforced ownership, a TLS-only policy, lifecycle rules and access logs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf import TerraformProvider
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktf_cdktf_provider_aws.s3_bucket_logging import S3BucketLoggingA
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import S3BucketOwnershipControls, S3BucketOwnershipControlsRule
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import S3BucketVersioningA, S3BucketVersioningVersioningConfiguration
from constructs import Construct

from stacks.checkov import skip_check
from stacks.kms import CustomerManagedKey
from stacks.policy import Condition, Statement, policy_document


@dataclass(frozen=True)
class Lifecycle:
    noncurrent_version_days: int = 90
    expiration_days: int | None = None  # expire current objects (diagnostics, logs)
    abort_multipart_days: int = 7


class SecureBucket(Construct):
    """A private bucket. `key=None` means SSE-S3, which only access-log target buckets use
    (S3 server access logging cannot deliver to an SSE-KMS bucket)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        key: CustomerManagedKey | None,
        access_log_bucket: S3Bucket | None,
        lifecycle: Lifecycle = Lifecycle(),
        policy_statements: Sequence[Statement] = (),
        provider: TerraformProvider | None = None,
        force_destroy: bool = False,
        tags: dict[str, str] | None = None,
    ):
        super().__init__(scope, construct_id)
        self.bucket = S3Bucket(
            self, "bucket", bucket=name, force_destroy=force_destroy, tags={"Name": name, **(tags or {})}, provider=provider
        )
        bucket_id = self.bucket.id
        S3BucketPublicAccessBlock(
            self,
            "public_access_block",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            provider=provider,
        )
        S3BucketOwnershipControls(
            self,
            "ownership",
            bucket=bucket_id,
            rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
            provider=provider,
        )
        self.versioning = S3BucketVersioningA(
            self,
            "versioning",
            bucket=bucket_id,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
            provider=provider,
        )
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "encryption",
            bucket=bucket_id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                        sse_algorithm="aws:kms" if key else "AES256",
                        kms_master_key_id=key.arn if key else None,
                    ),
                    bucket_key_enabled=True if key else None,
                )
            ],
            provider=provider,
        )
        policy = policy_document(
            self,
            "policy_document",
            statements=[
                Statement(
                    sid="DenyInsecureTransport",
                    effect="Deny",
                    actions=["s3:*"],
                    resources=[self.bucket.arn, f"{self.bucket.arn}/*"],
                    principals={"*": ["*"]},
                    conditions=[Condition("Bool", "aws:SecureTransport", ["false"])],
                ),
                *policy_statements,
            ],
        )
        S3BucketPolicy(self, "policy", bucket=bucket_id, policy=policy.json, provider=provider)
        S3BucketLifecycleConfiguration(
            self,
            "lifecycle",
            bucket=bucket_id,
            rule=self._lifecycle_rules(lifecycle),
            depends_on=[self.versioning],
            provider=provider,
        )
        if access_log_bucket is not None:  # None only for the access-log target bucket itself
            S3BucketLoggingA(
                self, "logging", bucket=bucket_id, target_bucket=access_log_bucket.id, target_prefix=f"{name}/", provider=provider
            )
        if key is None:
            skip_check(self.bucket, "CKV_AWS_145", "S3 server access logging delivers only to SSE-S3 (AES256) target buckets")
        skip_check(self.bucket, "CKV2_AWS_62", "no consumer reacts to object events in this bucket; notifications would go nowhere")

    @staticmethod
    def _lifecycle_rules(lifecycle: Lifecycle) -> list[S3BucketLifecycleConfigurationRule]:
        return [
            S3BucketLifecycleConfigurationRule(
                id="expire-noncurrent-versions",
                status="Enabled",
                filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                noncurrent_version_expiration=[
                    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(noncurrent_days=lifecycle.noncurrent_version_days)
                ],
                abort_incomplete_multipart_upload=[
                    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=lifecycle.abort_multipart_days)
                ],
                expiration=[S3BucketLifecycleConfigurationRuleExpiration(days=lifecycle.expiration_days)]
                if lifecycle.expiration_days
                else None,
            )
        ]
