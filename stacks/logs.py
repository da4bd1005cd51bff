"""CloudWatch Logs groups encrypted with a stack's CMK, and the key-policy statement that allows it."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from constructs import Construct

from envspec import Names
from stacks.checkov import skip_check
from stacks.kms import CustomerManagedKey
from stacks.policy import Condition, Statement


def log_service_statement(names: Names) -> Statement:
    """Key-policy statement letting CloudWatch Logs use a key for this account's log groups only."""
    region = names.region
    return Statement(
        sid="CloudWatchLogsUsesKeyForThisAccount",
        actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        resources=["*"],  # in a key policy, "*" is this key
        principals={"Service": [f"logs.{region}.amazonaws.com"]},
        conditions=[Condition("ArnLike", "kms:EncryptionContext:aws:logs:arn", [f"arn:aws:logs:{region}:{names.account}:log-group:*"])],
    )


def encrypted_log_group(
    scope: Construct, construct_id: str, *, name: str, retention_days: int, key: CustomerManagedKey
) -> CloudwatchLogGroup:
    """A log group created before the service that writes to it, so it is never created unencrypted
    or without a retention by that service."""
    group = CloudwatchLogGroup(scope, construct_id, name=name, retention_in_days=retention_days, kms_key_id=key.arn)
    if retention_days < 365:
        skip_check(group, "CKV_AWS_338", f"non-production environment keeps logs {retention_days} days by design (envspec profile)")
    return group
