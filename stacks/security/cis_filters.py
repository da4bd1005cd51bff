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


@dataclass(frozen=True)
class CisFilter:
    purpose: str  # metric name, alarm name suffix and runbook anchor
    control: str  # Security Hub control id
    summary: str
    pattern: str


CIS_FILTERS = (
    CisFilter(
        "root-account-usage",
        "CloudWatch.1",
        "The account's root user made a call (not on behalf of an AWS service).",
        '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }',
    ),
    CisFilter(
        "iam-policy-changes",
        "CloudWatch.4",
        "An IAM policy was created, changed, attached, detached or deleted.",
        "{ "
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
        "cloudtrail-changes",
        "CloudWatch.5",
        "A trail was created, updated or deleted, or its logging started or stopped.",
        "{ " + _any_event("CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging") + " }",
    ),
    CisFilter(
        "console-sign-in-failures",
        "CloudWatch.6",
        "A console sign-in failed authentication.",
        '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
    ),
    CisFilter(
        "kms-key-deletion",
        "CloudWatch.7",
        "A customer-managed KMS key was disabled or scheduled for deletion.",
        "{ ($.eventSource = kms.amazonaws.com) && (($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) }",
    ),
    CisFilter(
        "security-group-changes",
        "CloudWatch.10",
        "A security group or one of its rules was created, changed or deleted.",
        "{ "
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
        "network-acl-changes",
        "CloudWatch.11",
        "A network ACL or one of its entries or associations was created, changed or deleted.",
        "{ "
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
