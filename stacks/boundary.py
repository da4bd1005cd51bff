"""The environment's permissions boundary: the most any role the deploy role manages may do.

The deploy role may create and change roles only when they carry this managed policy as their
boundary (`iam:PermissionsBoundary` conditions in stacks/ci.py), and may never change or detach it.
A role's effective permissions are the intersection of its own policies and the boundary
(IAM User Guide, "Permissions boundaries for IAM entities"), so attaching AdministratorAccess to a
bounded role, or assuming or passing one, yields no more than this: every service but IAM,
AWS Organizations and Account management; IAM reads; service-linked roles (whose permissions AWS
defines); instance profiles (for a node provisioner); and passing this environment's bounded roles,
never the two CI roles, which carry no boundary the deploy role controls. Beyond what the deploy
role itself holds (PowerUserAccess) that adds only instance profiles, which confer nothing without
passing a role, so no path through a bounded role leads beyond the boundary.
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.iam_policy import IamPolicy
from constructs import Construct

from envspec import Names
from stacks.checkov import skip_check
from stacks.policy import Statement, policy_document

BOUNDARY_REASON = (
    "permissions boundary, not a grant: it only caps the bounded roles' own policies (effective permissions are "
    "the intersection), so its '*' is the cap; IAM writes are outside it but for service-linked roles and passing "
    "this environment's bounded roles (tests/test_iam_escalation.py)"
)


BOUNDARY_CHECKS = ("CKV_AWS_107", "CKV_AWS_108", "CKV_AWS_109", "CKV_AWS_110", "CKV_AWS_111", "CKV_AWS_356")


def boundary_statements(names: Names) -> list[Statement]:
    account = names.account
    return [
        Statement(
            sid="EveryServiceButIdentityAndAccount", actions=(), not_actions=["iam:*", "organizations:*", "account:*"], resources=["*"]
        ),
        Statement(sid="ReadIdentity", actions=["iam:Get*", "iam:List*"], resources=["*"]),
        Statement(
            sid="CreateServiceLinkedRoles",
            actions=["iam:CreateServiceLinkedRole"],
            resources=[f"arn:aws:iam::{account}:role/aws-service-role/*"],
        ),
        # Node provisioners (Karpenter) manage the instance profiles of their node role; adding a
        # role to a profile and launching an instance with it both need iam:PassRole on that role
        # (IAM API Reference, AddRoleToInstanceProfile), which stops at the CI roles below.
        Statement(
            sid="ManageInstanceProfiles",
            actions=[
                "iam:CreateInstanceProfile",
                "iam:DeleteInstanceProfile",
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:TagInstanceProfile",
                "iam:UntagInstanceProfile",
            ],
            resources=[f"arn:aws:iam::{account}:instance-profile/*"],
        ),
        Statement(sid="PassThisEnvironmentsRoles", actions=["iam:PassRole"], resources=[f"arn:aws:iam::{account}:role/{names.prefix}-*"]),
        Statement(
            sid="NeverPassTheCiRoles",
            effect="Deny",
            actions=["iam:PassRole"],
            resources=[names.role_arn(names.deploy_role), names.role_arn(names.plan_role)],
        ),
    ]


class PermissionsBoundary(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, names: Names):
        super().__init__(scope, construct_id)
        document = policy_document(self, "document", boundary_statements(names))
        for check_id in BOUNDARY_CHECKS:
            skip_check(document, check_id, BOUNDARY_REASON)
        self.policy = IamPolicy(
            self,
            "policy",
            name=names.permissions_boundary,
            description=f"Permissions boundary of every role of {names.prefix} the deploy role manages",
            policy=document.json,
            tags={"Name": names.permissions_boundary},
        )

    @property
    def arn(self) -> str:
        return self.policy.arn
