"""The CloudWatch Logs metric filters CIS AWS Foundations asks for on the trail's log group.

Each pattern is the one AWS Security Hub documents for the matching control ("Security Hub controls
for Amazon CloudWatch", CloudWatch.1/.4/.5/.6/.7/.10/.11; CIS AWS Foundations Benchmark v1.4.0 4.3,
4.4, 4.5, 4.6, 4.7, 4.10, 4.11). Each feeds one metric, and one alarm fires on its first match.
CloudWatch.5 (trail configuration changes) watches the trail itself: `StopLogging` is recorded by the
trail it stops, so it is the last event the other filters would ever see.
"""

from __future__ import annotations

from dataclasses import dataclass


def _any_event(*names: str) -> str:
    return " || ".join(f"($.eventName = {name})" for name in names)


@dataclass(frozen=True, kw_only=True)
class CisFilter:
    purpose: str  # metric name, alarm name suffix and runbook anchor
    control: str  # Security Hub control id
    summary: str
    pattern: str


CIS_FILTERS = (
    CisFilter(
        purpose="root-account-usage",
        control="CloudWatch.1",
        summary="The account's root user made a call (not on behalf of an AWS service).",
        pattern='{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }',
    ),
    CisFilter(
        purpose="iam-policy-changes",
        control="CloudWatch.4",
        summary="An IAM policy was created, changed, attached, detached or deleted.",
        pattern="{ "
        + _any_event(
            "DeleteGroupPolicy",
            "DeleteRolePolicy",
            "DeleteUserPolicy",
            "PutGroupPolicy",
            "PutRolePolicy",
            "PutUserPolicy",
            "CreatePolicy",
            "DeletePolicy",
            "CreatePolicyVersion",
            "DeletePolicyVersion",
            "AttachRolePolicy",
            "DetachRolePolicy",
            "AttachUserPolicy",
            "DetachUserPolicy",
            "AttachGroupPolicy",
            "DetachGroupPolicy",
        )
        + " }",
    ),
    CisFilter(
        purpose="cloudtrail-changes",
        control="CloudWatch.5",
        summary="A trail was created, updated or deleted, or its logging started or stopped.",
        pattern="{ " + _any_event("CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging") + " }",
    ),
    CisFilter(
        purpose="console-sign-in-failures",
        control="CloudWatch.6",
        summary="A console sign-in failed authentication.",
        pattern='{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
    ),
    CisFilter(
        purpose="kms-key-deletion",
        control="CloudWatch.7",
        summary="A customer-managed KMS key was disabled or scheduled for deletion.",
        pattern="{ ($.eventSource = kms.amazonaws.com) && (($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) }",
    ),
    CisFilter(
        purpose="security-group-changes",
        control="CloudWatch.10",
        summary="A security group or one of its rules was created, changed or deleted.",
        pattern="{ "
        + _any_event(
            "AuthorizeSecurityGroupIngress",
            "AuthorizeSecurityGroupEgress",
            "RevokeSecurityGroupIngress",
            "RevokeSecurityGroupEgress",
            "CreateSecurityGroup",
            "DeleteSecurityGroup",
        )
        + " }",
    ),
    CisFilter(
        purpose="network-acl-changes",
        control="CloudWatch.11",
        summary="A network ACL or one of its entries or associations was created, changed or deleted.",
        pattern="{ "
        + _any_event(
            "CreateNetworkAcl",
            "CreateNetworkAclEntry",
            "DeleteNetworkAcl",
            "DeleteNetworkAclEntry",
            "ReplaceNetworkAclEntry",
            "ReplaceNetworkAclAssociation",
        )
        + " }",
    ),
)
