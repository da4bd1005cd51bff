"""Customer-managed KMS key with rotation, an explicit key policy and an alias."""

from __future__ import annotations

from collections.abc import Sequence

from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from envspec import Names
from stacks.checkov import skip_check
from stacks.policy import Statement, policy_document

KEY_POLICY_REASON = (
    "key policy, not an IAM policy: Resource '*' means this key only, and the account-root statement is AWS's "
    "default that delegates key administration to IAM policies"
)


class CustomerManagedKey(Construct):
    """One CMK per purpose and stack. The account root administers it through IAM; callers add
    the service principals that must use it (CloudWatch Logs, for example)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        purpose: str,
        description: str,
        statements: Sequence[Statement] = (),
        deletion_window_days: int = 30,
        provider: object | None = None,
    ):
        super().__init__(scope, construct_id)
        root = f"arn:aws:iam::{names.account}:root"
        policy = policy_document(
            self,
            "policy",
            statements=[
                Statement(sid="AccountAdministersKeyThroughIam", actions=["kms:*"], resources=["*"], principals={"AWS": [root]}),
                *statements,
            ],
        )
        for check_id in ("CKV_AWS_109", "CKV_AWS_111", "CKV_AWS_356"):
            skip_check(policy, check_id, KEY_POLICY_REASON)
        self.key = KmsKey(
            self,
            "key",
            description=description,
            enable_key_rotation=True,
            deletion_window_in_days=deletion_window_days,
            policy=policy.json,
            tags={"Name": f"{names.prefix}-{purpose}"},
            provider=provider,
        )
        self.alias = KmsAlias(self, "alias", name=names.kms_alias(purpose), target_key_id=self.key.key_id, provider=provider)

    @property
    def arn(self) -> str:
        return self.key.arn
