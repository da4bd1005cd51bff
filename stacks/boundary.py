"""The environment's permissions boundary: the most any role the deploy role manages may do.

The deploy role may create and change roles only when they carry this managed policy as their
boundary (`iam:PermissionsBoundary` conditions in stacks/ci.py), and may never change or detach it.
A role's effective permissions are the intersection of its own policies and the boundary
(IAM User Guide, "Permissions boundaries for IAM entities"), so attaching AdministratorAccess to a
bounded role, or assuming or passing one, yields no more than this: every service but IAM,
AWS Organizations and Account management; IAM reads; service-linked roles (whose permissions AWS
defines); the cluster's instance profiles (for a node provisioner); and passing this environment's
bounded roles, never the two CI roles, which carry no boundary the deploy role controls. Neither
may a bounded role assume any role but this environment's (`sts:AssumeRole` is otherwise in the
every-service grant, and a role made outside this repository that trusts the account root would
be one call away). Beyond what the deploy role itself holds (PowerUserAccess) that adds only
instance profiles, which confer nothing without passing a role, so no path through a bounded role
leads beyond the boundary.
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.iam_policy import IamPolicy
from constructs import Construct

from envspec import Names
from stacks.checkov import skip_check
from stacks.policy import Condition, Statement, policy_document

BOUNDARY_REASON = (
    "permissions boundary, not a grant: it only caps the bounded roles' own policies (effective permissions are "
    "the intersection), so its '*' is the cap; IAM writes are outside it but for service-linked roles and passing "
    "this environment's bounded roles (tests/test_iam_escalation.py)"
)


BOUNDARY_CHECKS = ("CKV_AWS_107", "CKV_AWS_108", "CKV_AWS_109", "CKV_AWS_110", "CKV_AWS_111", "CKV_AWS_356")


def assume_only_own_roles(names: Names) -> Statement:
    """PowerUserAccess (and the boundary's every-service grant) include `sts:AssumeRole` on any
    role: a role made outside this repository that trusts the account root (a platform admin role)
    would be one AssumeRole away. Only this environment's roles, which all carry the boundary or are
    the CI roles (trusting GitHub's OIDC provider alone), may be assumed."""
    return Statement(
        sid="AssumeOnlyThisEnvironmentsRoles",
        effect="Deny",
        actions=["sts:AssumeRole"],
        not_resources=[names.role_arn(f"{names.prefix}-*")],
    )


def boundary_statements(names: Names) -> list[Statement]:
    account = names.account
    profiles = f"arn:aws:iam::{account}:instance-profile/*"
    cluster_tag = f"kubernetes.io/cluster/{names.cluster_name}"
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
        # Node provisioners (Karpenter) manage the instance profiles of their node role, tagged as the
        # cluster's (the `AllowScopedInstanceProfile*` statements of Karpenter's reference policy,
        # aws/karpenter-provider-aws v1.14.1, getting-started cloudformation.yaml). Adding a role to
        # a profile and launching an instance with it both need iam:PassRole on that role (IAM API
        # Reference, AddRoleToInstanceProfile), which stops at the CI roles below.
        Statement(
            sid="CreateAndTagTheClustersInstanceProfiles",
            actions=["iam:CreateInstanceProfile", "iam:TagInstanceProfile"],
            resources=[profiles],
            conditions=[Condition("StringEquals", f"aws:RequestTag/{cluster_tag}", ["owned"])],
        ),
        Statement(
            sid="ManageTheClustersInstanceProfiles",
            actions=["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"],
            resources=[profiles],
            conditions=[Condition("StringEquals", f"aws:ResourceTag/{cluster_tag}", ["owned"])],
        ),
        Statement(sid="PassThisEnvironmentsRoles", actions=["iam:PassRole"], resources=[f"arn:aws:iam::{account}:role/{names.prefix}-*"]),
        Statement(
            sid="NeverPassTheCiRoles",
            effect="Deny",
            actions=["iam:PassRole"],
            resources=[names.role_arn(names.deploy_role), names.role_arn(names.plan_role)],
        ),
        assume_only_own_roles(names),
    ]


class PermissionsBoundary(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, names: Names):
        super().__init__(scope, construct_id)
        document = policy_document(self, "document", statements=boundary_statements(names))
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
