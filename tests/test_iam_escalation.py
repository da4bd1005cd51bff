"""The CI deploy role cannot make itself (or anything it creates) an administrator.

Each known IAM privilege-escalation path (Rhino Security Labs, "AWS IAM Privilege Escalation -
Methods and Mitigation": attach/put a policy on oneself, update one's own trust policy, create or
pass a role without the boundary, create access keys or login profiles for users, add a user to a
group, create a new default policy version, set the default version, create a role with admin
and assume it, change the boundary) is a request here, evaluated with `tests.iam_policy` against
the synthesized deploy role, its AWS managed policy and the synthesized permissions boundary.

Rules encoded: IAM User Guide, "Permissions boundaries for IAM entities" (effective permissions =
identity policies ∩ boundary; the delegation example requires `iam:PermissionsBoundary` on
CreateUser/CreateRole and the policy writes, and denies changing the boundary policy and
deleting boundaries); Service Authorization Reference, IAM: `iam:PermissionsBoundary` is a
condition key of CreateRole, DeleteRole, UpdateRole, UpdateRoleDescription, UpdateAssumeRolePolicy,
PutRolePolicy, DeleteRolePolicy, AttachRolePolicy, DetachRolePolicy, PutRolePermissionsBoundary and
DeleteRolePermissionsBoundary, holding the role's boundary (or, for CreateRole and
PutRolePermissionsBoundary, the requested one); it is absent for a role without a boundary.
PowerUserAccess below is the AWS managed policy's JSON document (AWS Managed Policy Reference
Guide, "PowerUserAccess").
"""

from __future__ import annotations

import pytest

from envspec import names_for
from tests.conftest import ENVIRONMENTS, SPECS, Synthesis
from tests.iam_policy import PolicyStatement, Request, StackIam, from_json, is_allowed

POWER_USER_ACCESS = from_json(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": [
                    "account:GetAccountInformation",
                    "account:GetGovCloudAccountInformation",
                    "account:GetPrimaryEmail",
                    "account:ListRegions",
                    "iam:CreateServiceLinkedRole",
                    "iam:DeleteServiceLinkedRole",
                    "iam:ListRoles",
                    "organizations:DescribeEffectivePolicy",
                    "organizations:DescribeOrganization",
                ],
                "Resource": "*",
            },
        ],
    }
)
ADMINISTRATOR_ACCESS = from_json({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"


class Account:
    def __init__(self, env: str, synthesis: Synthesis):
        spec = SPECS[env]
        self.names = names = names_for(spec)
        self.account = names.account
        self.ci = StackIam(synthesis.stack(f"{env}-ci"), account=names.account, region=spec.aws.region)
        roles = self.ci.roles()
        deploy = roles[names.deploy_role]
        assert deploy.managed_policy_arns == ["arn:aws:iam::aws:policy/PowerUserAccess"]
        self.deploy_arn, self.plan_arn = deploy.arn, roles[names.plan_role].arn
        self.deploy_policies: list[PolicyStatement] = [*deploy.inline, *POWER_USER_ACCESS]
        self.boundary_arn = names.permissions_boundary_arn
        self.boundary = self.ci.managed_policies()[self.boundary_arn]
        self.own_role = f"arn:aws:iam::{self.account}:role/{names.prefix}-new-service"

    def deploy_may(self, action: str, resource: str, **context: str) -> bool:
        return is_allowed(Request(action, resource, self.deploy_arn, context), self.deploy_policies)

    def bounded_admin_may(self, action: str, resource: str, **context: str) -> bool:
        """A role the deploy role created with the boundary and AdministratorAccess attached."""
        return is_allowed(Request(action, resource, self.own_role, context), ADMINISTRATOR_ACCESS, boundary=self.boundary)


@pytest.fixture(params=ENVIRONMENTS)
def account(request: pytest.FixtureRequest, synthesis: Synthesis) -> Account:
    return Account(request.param, synthesis)


BOUNDARY = "iam:PermissionsBoundary"
POLICY_ARN = "iam:PolicyARN"


def test_the_deploy_role_still_manages_bounded_roles(account: Account) -> None:
    """What the stacks need: without this the denials below would be vacuous."""
    bounded = {BOUNDARY: account.boundary_arn}
    for action in ("iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:DeleteRole"):
        assert account.deploy_may(action, account.own_role, **bounded), action
    assert account.deploy_may("iam:AttachRolePolicy", account.own_role, **bounded, **{POLICY_ARN: ADMIN_ARN})
    assert account.deploy_may("iam:PutRolePermissionsBoundary", account.own_role, **bounded)
    assert account.deploy_may("iam:PassRole", account.own_role)
    assert account.deploy_may("iam:TagRole", account.own_role)


def test_it_cannot_change_its_own_role(account: Account) -> None:
    me = account.deploy_arn
    assert not account.deploy_may("iam:PutRolePolicy", me)
    assert not account.deploy_may("iam:AttachRolePolicy", me, **{POLICY_ARN: ADMIN_ARN})
    assert not account.deploy_may("iam:UpdateAssumeRolePolicy", me)
    assert not account.deploy_may("iam:PutRolePermissionsBoundary", me, **{BOUNDARY: account.boundary_arn})
    assert not account.deploy_may("iam:DeleteRole", me)
    assert not account.deploy_may("iam:TagRole", me)


def test_it_cannot_change_the_plan_role_although_it_is_bounded(account: Account) -> None:
    for action in ("iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:DeleteRole"):
        assert not account.deploy_may(action, account.plan_arn, **{BOUNDARY: account.boundary_arn}), action


def test_no_role_without_the_boundary(account: Account) -> None:
    assert not account.deploy_may("iam:CreateRole", account.own_role), "no boundary requested"
    other = f"arn:aws:iam::{account.account}:policy/wide-open"
    assert not account.deploy_may("iam:CreateRole", account.own_role, **{BOUNDARY: other})
    assert not account.deploy_may("iam:PutRolePermissionsBoundary", account.own_role, **{BOUNDARY: other})
    for action in ("iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:UpdateAssumeRolePolicy"):
        assert not account.deploy_may(action, account.own_role), f"{action} on a role without a boundary"
    assert not account.deploy_may("iam:DeleteRolePermissionsBoundary", account.own_role, **{BOUNDARY: account.boundary_arn})
    foreign = f"arn:aws:iam::{account.account}:role/someone-elses-role"
    assert not account.deploy_may("iam:CreateRole", foreign, **{BOUNDARY: account.boundary_arn})


def test_it_cannot_pass_an_unbounded_role(account: Account) -> None:
    """Passing a role to EC2/Lambda/Glue/CloudFormation/Data Pipeline runs code as that role."""
    assert not account.deploy_may("iam:PassRole", account.deploy_arn)
    assert not account.deploy_may("iam:PassRole", account.plan_arn)
    assert not account.deploy_may("iam:PassRole", f"arn:aws:iam::{account.account}:role/OrganizationAccountAccessRole")


def test_no_users_groups_keys_or_policies(account: Account) -> None:
    user = f"arn:aws:iam::{account.account}:user/anyone"
    group = f"arn:aws:iam::{account.account}:group/admins"
    for action in ("iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile"):
        assert not account.deploy_may(action, user), action
    assert not account.deploy_may("iam:AttachUserPolicy", user, **{POLICY_ARN: ADMIN_ARN})
    assert not account.deploy_may("iam:PutUserPolicy", user)
    assert not account.deploy_may("iam:AttachGroupPolicy", group, **{POLICY_ARN: ADMIN_ARN})
    assert not account.deploy_may("iam:PutGroupPolicy", group)
    assert not account.deploy_may("iam:AddUserToGroup", group)
    any_policy = f"arn:aws:iam::{account.account}:policy/anything"
    for policy in (account.boundary_arn, any_policy):
        for action in ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion"):
            assert not account.deploy_may(action, policy), (action, policy)
    assert not account.deploy_may("iam:CreatePolicy", any_policy)
    assert not account.deploy_may("iam:CreateOpenIDConnectProvider", f"arn:aws:iam::{account.account}:oidc-provider/evil.example")


ESCALATIONS = (
    ("iam:PutRolePolicy", "deploy"),
    ("iam:AttachRolePolicy", "deploy"),
    ("iam:UpdateAssumeRolePolicy", "deploy"),
    ("iam:PassRole", "deploy"),
    ("iam:PassRole", "plan"),
    ("iam:CreateRole", "own"),
    ("iam:PutRolePolicy", "own"),
    ("iam:DeleteRolePermissionsBoundary", "own"),
    ("iam:CreateAccessKey", "user"),
    ("iam:CreateLoginProfile", "user"),
    ("iam:CreateUser", "user"),
    ("iam:AddUserToGroup", "group"),
    ("iam:CreatePolicyVersion", "boundary"),
    ("iam:SetDefaultPolicyVersion", "boundary"),
    ("iam:CreatePolicy", "policy"),
)


def test_a_bounded_role_with_administrator_access_escalates_nowhere(account: Account) -> None:
    """Create a role with the boundary, attach AdministratorAccess, assume it (or pass it to a
    Lambda function and invoke it): the boundary caps it below every escalation."""
    targets = {
        "deploy": account.deploy_arn,
        "plan": account.plan_arn,
        "own": f"arn:aws:iam::{account.account}:role/{account.names.prefix}-other",
        "user": f"arn:aws:iam::{account.account}:user/anyone",
        "group": f"arn:aws:iam::{account.account}:group/admins",
        "boundary": account.boundary_arn,
        "policy": f"arn:aws:iam::{account.account}:policy/anything",
    }
    for action, target in ESCALATIONS:
        assert not account.bounded_admin_may(action, targets[target], **{BOUNDARY: account.boundary_arn}), (action, target)
    # ...and it still does its job outside IAM, so the boundary is not a blanket denial.
    assert account.bounded_admin_may("s3:GetObject", "arn:aws:s3:::bucket/key")
    assert account.bounded_admin_may("iam:PassRole", targets["own"])
    assert account.bounded_admin_may("iam:CreateServiceLinkedRole", f"arn:aws:iam::{account.account}:role/aws-service-role/x/y")
    # Instance profiles confer a role only with iam:PassRole on it (IAM API Reference,
    # AddRoleToInstanceProfile; EC2 RunInstances with an instance profile), denied for the CI roles above.
    assert account.bounded_admin_may("iam:AddRoleToInstanceProfile", f"arn:aws:iam::{account.account}:instance-profile/nodes")


def test_every_role_but_the_deploy_role_carries_the_boundary(synthesis: Synthesis) -> None:
    for stack_id in synthesis.stack_ids:
        env = stack_id.split("-")[0]
        spec, names = SPECS[env], names_for(SPECS[env])
        stack = StackIam(synthesis.stack(stack_id), account=names.account, region=spec.aws.region)
        for name, role in stack.roles().items():
            if name == names.deploy_role:
                assert role.permissions_boundary is None, "an administrator creates the deploy role"
                continue
            assert role.permissions_boundary == names.permissions_boundary_arn, f"{stack_id} {name}"
