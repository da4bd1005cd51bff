"""VPC endpoint policies: this account's principals, this account's resources, and the AWS-owned
resources the cluster cannot run without.

An endpoint policy is evaluated on every request through the endpoint, as a further policy that must
allow it (AWS PrivateLink Guide, "Control access to VPC endpoints using endpoint policies"). Requests
are modelled with the keys AWS sets: `aws:PrincipalAccount` (absent for anonymous requests and for
S3 URLs presigned by a service), `aws:ResourceAccount` (the owner of the resource; absent for actions
without a resource, such as `ecr:GetAuthorizationToken`, `sts:GetCallerIdentity`,
`secretsmanager:ListSecrets`). The AWS-owned resources the policies must admit:
- EKS add-on images: registry 602401143452 in ap-northeast-1 (EKS User Guide, "View Amazon container
  image registries for Amazon EKS add-ons");
- ECR image layers: `s3:GetObject` on `prod-ap-northeast-1-starport-layer-bucket`, through URLs ECR
  presigns (ECR User Guide, "Amazon ECR interface VPC endpoints", minimum Amazon S3 bucket permissions);
- Session Manager agent downloads from `amazon-ssm-ap-northeast-1` (Systems Manager User Guide, "SSM
  Agent communications with AWS managed S3 buckets").
Before this change the endpoints had no policy (full access for any principal to any resource).
"""

from __future__ import annotations

from typing import Any

import pytest

from envspec import names_for
from tests.conftest import ENVIRONMENTS, SPECS, Synthesis, data_of, ref, resources_of
from tests.iam_eval import allowed

OTHER_ACCOUNT = "999999999999"
EKS_REGISTRY = "602401143452"


def _policies(synthesis: Synthesis, env: str) -> dict[str, list[dict[str, Any]]]:
    stack = synthesis.stack(f"{env}-network")
    documents = data_of(stack, "aws_iam_policy_document")
    return {
        endpoint["service_name"].removeprefix("com.amazonaws.ap-northeast-1."): documents[ref(endpoint["policy"])]["statement"]
        for endpoint in resources_of(stack, "aws_vpc_endpoint").values()
    }


def _cases(account: str) -> list[tuple[str, str, str, dict[str, str], bool]]:
    """(endpoint, action, resource, request context, allowed?)"""
    ours = {"aws:PrincipalAccount": account}
    own, other = {**ours, "aws:ResourceAccount": account}, {**ours, "aws:ResourceAccount": OTHER_ACCOUNT}
    layer = "arn:aws:s3:::prod-ap-northeast-1-starport-layer-bucket/sha256:abc"
    return [
        (
            "ecr.dkr",
            "ecr:BatchGetImage",
            "arn:aws:ecr:ap-northeast-1:602401143452:repository/amazon-k8s-cni",
            {**ours, "aws:ResourceAccount": EKS_REGISTRY},
            True,
        ),
        (
            "ecr.dkr",
            "ecr:GetDownloadUrlForLayer",
            "arn:aws:ecr:ap-northeast-1:602401143452:repository/eks/coredns",
            {**ours, "aws:ResourceAccount": EKS_REGISTRY},
            True,
        ),
        (
            "ecr.dkr",
            "ecr:PutImage",
            "arn:aws:ecr:ap-northeast-1:602401143452:repository/eks/coredns",
            {**ours, "aws:ResourceAccount": EKS_REGISTRY},
            False,
        ),
        ("ecr.dkr", "ecr:BatchGetImage", f"arn:aws:ecr:ap-northeast-1:{OTHER_ACCOUNT}:repository/x", other, False),
        ("ecr.dkr", "ecr:BatchGetImage", f"arn:aws:ecr:ap-northeast-1:{account}:repository/x", own, True),
        ("ecr.api", "ecr:GetAuthorizationToken", "*", ours, True),
        ("ecr.api", "ecr:GetAuthorizationToken", "*", {"aws:PrincipalAccount": OTHER_ACCOUNT}, False),
        ("s3", "s3:GetObject", layer, {}, True),  # presigned by ECR: no principal of ours
        ("s3", "s3:GetObject", "arn:aws:s3:::amazon-ssm-ap-northeast-1/latest/linux_amd64/amazon-ssm-agent.rpm", {}, True),
        ("s3", "s3:PutObject", layer, ours, False),
        ("s3", "s3:PutObject", f"arn:aws:s3:::ai-subsidy-files-{account}/a", own, True),
        ("s3", "s3:PutObject", "arn:aws:s3:::someone-elses-bucket/a", other, False),
        (
            "s3",
            "s3:GetObject",
            "arn:aws:s3:::someone-elses-bucket/a",
            {"aws:PrincipalAccount": OTHER_ACCOUNT, "aws:ResourceAccount": OTHER_ACCOUNT},
            False,
        ),
        ("secretsmanager", "secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:ap-northeast-1:{account}:secret:a-AbCdEf", own, True),
        (
            "secretsmanager",
            "secretsmanager:GetSecretValue",
            f"arn:aws:secretsmanager:ap-northeast-1:{OTHER_ACCOUNT}:secret:a",
            other,
            False,
        ),
        ("secretsmanager", "secretsmanager:ListSecrets", "*", ours, True),
        ("logs", "logs:PutLogEvents", f"arn:aws:logs:ap-northeast-1:{account}:log-group:g:log-stream:s", own, True),
        ("logs", "logs:PutLogEvents", f"arn:aws:logs:ap-northeast-1:{OTHER_ACCOUNT}:log-group:g:log-stream:s", other, False),
        ("logs", "logs:DescribeLogGroups", "*", ours, True),
        ("sts", "sts:AssumeRole", f"arn:aws:iam::{account}:role/ai-subsidy-x", own, True),
        ("sts", "sts:AssumeRole", f"arn:aws:iam::{OTHER_ACCOUNT}:role/exfiltrate", other, False),
        ("sts", "sts:GetCallerIdentity", "*", ours, True),
        ("ssm", "ssm:UpdateInstanceInformation", f"arn:aws:ec2:ap-northeast-1:{account}:instance/i-1", ours, True),
        ("ssmmessages", "ssmmessages:CreateControlChannel", "*", ours, True),
        ("ec2messages", "ec2messages:GetMessages", "*", {"aws:PrincipalAccount": OTHER_ACCOUNT}, False),
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_endpoint_policies_admit_this_account_and_what_eks_needs_from_aws(env: str, synthesis: Synthesis) -> None:
    policies = _policies(synthesis, env)
    account = names_for(SPECS[env]).account
    assert set(policies) == {"s3", "ecr.api", "ecr.dkr", "sts", "secretsmanager", "logs", "ssm", "ssmmessages", "ec2messages"}
    for endpoint, action, resource, context, expected in _cases(account):
        assert allowed(policies[endpoint], "*", action, resource, context) is expected, (endpoint, action, resource, context)
