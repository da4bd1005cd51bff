"""`<env>-state`: the bootstrap stack that creates the bucket and key every other stack's S3 backend uses.

It keeps its own state locally (`.state/<env>-state.tfstate`); see docs/bootstrap.md for the
one-time bootstrap.
"""

from __future__ import annotations

from constructs import Construct

from envspec import EnvironmentSpec
from stacks.base import EnvironmentStack
from stacks.checkov import skip_check
from stacks.kms import CustomerManagedKey
from stacks.storage import Lifecycle, SecureBucket

REPLICATION_REASON = (
    "state describes primary-region resources only; after a region loss the DR restore runs from the ops CLI, "
    "not Terraform (docs/disaster-recovery.md), and versioning covers accidental overwrites"
)


class StateStack(EnvironmentStack):
    layer = "state"

    def __init__(self, scope: Construct, spec: EnvironmentSpec):
        super().__init__(scope, spec)
        names = self.names
        self.key = CustomerManagedKey(self, "key", names=names, purpose="tfstate", description=f"{names.prefix} Terraform state")
        access_logs = SecureBucket(
            self,
            "access_logs",
            name=names.bucket("tfstate-logs"),
            key=None,
            access_log_bucket=None,
            lifecycle=Lifecycle(expiration_days=365),
        )
        self.state = SecureBucket(
            self,
            "state",
            name=names.state_bucket,
            key=self.key,
            access_log_bucket=access_logs.bucket,
            lifecycle=Lifecycle(noncurrent_version_days=365),
        )
        for bucket in (access_logs.bucket, self.state.bucket):
            skip_check(bucket, "CKV_AWS_144", REPLICATION_REASON)

        self.output("state_bucket", self.state.bucket.bucket, "Bucket holding every other stack's Terraform state")
        self.output("state_kms_key_arn", self.key.arn, "KMS key encrypting the state bucket")
