"""IAM policy documents as typed statements, rendered by the `aws_iam_policy_document` data source."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from constructs import Construct


@dataclass(frozen=True)
class Condition:
    test: str
    variable: str
    values: Sequence[str]


@dataclass(frozen=True)
class Statement:
    sid: str
    actions: Sequence[str]
    resources: Sequence[str] | None = None  # None for trust policies, which take no Resource
    effect: str = "Allow"
    principals: dict[str, Sequence[str]] = field(default_factory=dict)  # type -> identifiers
    conditions: Sequence[Condition] = ()
    not_actions: Sequence[str] = ()  # with actions=(): every action but these
    not_resources: Sequence[str] = ()  # with resources=None: every resource but these


def policy_document(scope: Construct, construct_id: str, *, statements: Sequence[Statement]) -> DataAwsIamPolicyDocument:
    return DataAwsIamPolicyDocument(
        scope,
        construct_id,
        statement=[
            DataAwsIamPolicyDocumentStatement(
                sid=statement.sid,
                effect=statement.effect,
                actions=list(statement.actions) or None,
                not_actions=list(statement.not_actions) or None,
                resources=list(statement.resources) if statement.resources is not None else None,
                not_resources=list(statement.not_resources) or None,
                principals=[
                    DataAwsIamPolicyDocumentStatementPrincipals(type=kind, identifiers=list(identifiers))
                    for kind, identifiers in statement.principals.items()
                ]
                or None,
                condition=[
                    DataAwsIamPolicyDocumentStatementCondition(test=item.test, variable=item.variable, values=list(item.values))
                    for item in statement.conditions
                ]
                or None,
            )
            for statement in statements
        ],
    )
