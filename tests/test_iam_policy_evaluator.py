"""The test evaluator (`tests.iam_policy`) decides as the IAM User Guide says, on the guide's own cases.

Sources: IAM User Guide, "Policy evaluation logic" (explicit deny wins; an allow is needed; a
permissions boundary caps identity policies), "IAM JSON policy elements: Condition operators"
(missing keys; negated operators; `...IfExists`; `Null`; `ForAnyValue`/`ForAllValues`), "IAM JSON
policy elements: Action" (case-insensitive, wildcards), "NotAction"; AWS KMS Developer Guide,
"Key policies in AWS KMS" (no IAM policy alone grants a KMS key; the account-root statement
delegates to IAM).
"""

from __future__ import annotations

import pytest

from tests.iam_policy import Request, from_json, is_allowed, kms_is_allowed

ROLE = "arn:aws:iam::111111111111:role/app"


def policy(*statements: dict) -> list:
    return from_json({"Version": "2012-10-17", "Statement": list(statements)})


def test_explicit_deny_wins_and_silence_denies() -> None:
    allow = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    deny = {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::b/*"}
    assert is_allowed(Request("s3:GetObject", "arn:aws:s3:::b/k", ROLE), policy(allow, deny))
    assert not is_allowed(Request("s3:DeleteObject", "arn:aws:s3:::b/k", ROLE), policy(allow, deny))
    assert not is_allowed(Request("sqs:SendMessage", "arn:aws:sqs:::q", ROLE), policy(allow))


def test_actions_are_case_insensitive_resources_are_not_and_not_action_inverts() -> None:
    statements = policy({"Effect": "Allow", "Action": "S3:get*", "Resource": "arn:aws:s3:::Bucket/*"})
    assert is_allowed(Request("s3:GetObject", "arn:aws:s3:::Bucket/k", ROLE), statements)
    assert not is_allowed(Request("s3:GetObject", "arn:aws:s3:::bucket/k", ROLE), statements)
    power = policy({"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"})
    assert is_allowed(Request("ec2:RunInstances", "*", ROLE), power)
    assert not is_allowed(Request("iam:CreateUser", "*", ROLE), power)


@pytest.mark.parametrize(
    ("operator", "context", "expected"),
    [
        ("StringEquals", {}, False),  # missing key: false
        ("StringNotEquals", {}, True),  # negated operator, missing key: true
        ("StringEqualsIfExists", {}, True),
        ("StringEquals", {"k": "a"}, True),
        ("StringNotEquals", {"k": "a"}, False),
        ("StringLike", {"k": "ab"}, False),
        ("ForAnyValue:StringEquals", {"k": ["x", "a"]}, True),
        ("ForAllValues:StringEquals", {"k": ["x", "a"]}, False),
        ("ForAllValues:StringEquals", {}, True),  # ForAllValues with no values: true
    ],
)
def test_condition_operators(operator: str, context: dict, expected: bool) -> None:
    statements = policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {operator: {"k": "a"}}})
    assert is_allowed(Request("s3:GetObject", "*", ROLE, context), statements) is expected


def test_null_and_like_wildcards() -> None:
    absent = policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"Null": {"k": "true"}}})
    assert is_allowed(Request("s3:GetObject", "*", ROLE), absent)
    assert not is_allowed(Request("s3:GetObject", "*", ROLE, {"k": "v"}), absent)
    like = policy({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*", "Condition": {"StringLike": {"k": "arn:aws:s3:::b/*"}}})
    assert is_allowed(Request("kms:Decrypt", "*", ROLE, {"k": "arn:aws:s3:::b/x"}), like)
    assert not is_allowed(Request("kms:Decrypt", "*", ROLE, {"k": "arn:aws:s3:::b"}), like), "a bucket ARN is not bucket/*"


def test_policy_variables_are_refused_not_ignored() -> None:
    statements = policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": {"k": "${aws:username}"}}})
    with pytest.raises(NotImplementedError):
        is_allowed(Request("s3:GetObject", "*", ROLE, {"k": "x"}), statements)


def test_a_boundary_caps_identity_policies() -> None:
    admin = policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
    boundary = policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert is_allowed(Request("s3:GetObject", "*", ROLE), admin, boundary=boundary)
    assert not is_allowed(Request("iam:PutRolePolicy", "*", ROLE), admin, boundary=boundary)
    assert not is_allowed(Request("sqs:SendMessage", "*", ROLE), policy(), boundary=boundary), "a boundary grants nothing"


def test_kms_needs_the_key_policy() -> None:
    iam = policy({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"})
    root = policy({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "kms:*", "Resource": "*"})
    other = policy({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"}, "Action": "kms:*", "Resource": "*"})
    direct = policy({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "kms:Decrypt", "Resource": "*"})
    request = Request("kms:Decrypt", "arn:aws:kms:ap-northeast-1:111111111111:key/k", ROLE)
    assert kms_is_allowed(request, root, iam), "root delegates to IAM, IAM allows"
    assert not kms_is_allowed(request, root, policy()), "root delegates, IAM does not allow"
    assert not kms_is_allowed(request, other, iam), "the key policy does not name this account"
    assert kms_is_allowed(request, direct), "the key policy names the role"
