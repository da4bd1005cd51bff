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
deleting boundaries); Service Authorization Reference, "Actions, resources, and condition keys for
AWS Identity and Access Management (IAM)": which condition keys each action's request carries
(CONDITION_KEYS below; a key an action does not carry is dropped from the request before it is
evaluated, as AWS never sends it, so a condition on it is false). PowerUserAccess below is the AWS
managed policy's JSON document (AWS Managed Policy Reference Guide, "PowerUserAccess").
"""

from __future__ import annotations

import pytest

from envspec import names_for
from tests.conftest import ENVIRONMENTS, SPECS, Synthesis
from tests.iam_policy import ContextValue, PolicyStatement, Request, StackIam, from_json, is_allowed

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

BOUNDARY = "iam:PermissionsBoundary"
POLICY_ARN = "iam:PolicyARN"
REQUEST_TAG = "aws:RequestTag/"
RESOURCE_TAG = "aws:ResourceTag/"

# The action-specific condition keys each request carries (Service Authorization Reference,
# "Actions, resources, and condition keys for AWS Identity and Access Management (IAM)", the
# "Condition keys" column of each action and of its resource type). `iam:PermissionsBoundary` is on
# CreateRole, PutRolePermissionsBoundary, DeleteRolePermissionsBoundary, PutRolePolicy,
# DeleteRolePolicy, AttachRolePolicy, DetachRolePolicy (and the User equivalents), NOT on DeleteRole,
# UpdateRole, UpdateRoleDescription or UpdateAssumeRolePolicy. `aws:RequestTag/*` comes with the
# actions that take tags, `aws:ResourceTag/*` with the actions on a taggable existing resource
# (role, user, instance profile, policy).
_ROLE = frozenset({RESOURCE_TAG})
CONDITION_KEYS: dict[str, frozenset[str]] = {
    "iam:CreateRole": frozenset({BOUNDARY, REQUEST_TAG}),
    "iam:PutRolePermissionsBoundary": frozenset({BOUNDARY}) | _ROLE,
    "iam:DeleteRolePermissionsBoundary": frozenset({BOUNDARY}) | _ROLE,
    "iam:PutRolePolicy": frozenset({BOUNDARY}) | _ROLE,
    "iam:DeleteRolePolicy": frozenset({BOUNDARY}) | _ROLE,
    "iam:AttachRolePolicy": frozenset({BOUNDARY, POLICY_ARN}) | _ROLE,
    "iam:DetachRolePolicy": frozenset({BOUNDARY, POLICY_ARN}) | _ROLE,
    "iam:DeleteRole": _ROLE,
    "iam:UpdateRole": _ROLE,
    "iam:UpdateRoleDescription": _ROLE,
    "iam:UpdateAssumeRolePolicy": _ROLE,
    "iam:TagRole": frozenset({REQUEST_TAG}) | _ROLE,
    "iam:UntagRole": _ROLE,
    "iam:PassRole": frozenset({"iam:PassedToService", "iam:AssociatedResourceArn"}) | _ROLE,
    "iam:CreateUser": frozenset({BOUNDARY, REQUEST_TAG}),
    "iam:PutUserPolicy": frozenset({BOUNDARY, RESOURCE_TAG}),
    "iam:AttachUserPolicy": frozenset({BOUNDARY, POLICY_ARN, RESOURCE_TAG}),
    "iam:AttachGroupPolicy": frozenset({POLICY_ARN}),
    "iam:CreateInstanceProfile": frozenset({REQUEST_TAG}),
    "iam:TagInstanceProfile": frozenset({REQUEST_TAG, RESOURCE_TAG}),
    "iam:AddRoleToInstanceProfile": frozenset({RESOURCE_TAG}),
    "iam:RemoveRoleFromInstanceProfile": frozenset({RESOURCE_TAG}),
    "iam:DeleteInstanceProfile": frozenset({RESOURCE_TAG}),
    "sts:AssumeRole": frozenset({RESOURCE_TAG}),
}


def as_aws_sends(action: str, context: dict[str, ContextValue]) -> dict[str, ContextValue]:
    """The request context without the keys `action` does not carry; an action missing from the
    table may carry no action-specific key, so a test cannot lean on one AWS never sends."""
    carried = CONDITION_KEYS.get(action, frozenset())

    def sent(key: str) -> bool:
        return key in carried or any(key.startswith(prefix) and prefix in carried for prefix in (REQUEST_TAG, RESOURCE_TAG))

    return {key: value for key, value in context.items() if sent(key)}


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

    def deploy_may(self, action: str, resource: str, **context: ContextValue) -> bool:
        return is_allowed(Request(action, resource, self.deploy_arn, as_aws_sends(action, context)), self.deploy_policies)

    def bounded_admin_may(self, action: str, resource: str, **context: ContextValue) -> bool:
        """A role the deploy role created with the boundary and AdministratorAccess attached."""
        request = Request(action, resource, self.own_role, as_aws_sends(action, context))
        return is_allowed(request, ADMINISTRATOR_ACCESS, boundary=self.boundary)


@pytest.fixture(params=ENVIRONMENTS)
def account(request: pytest.FixtureRequest, synthesis: Synthesis) -> Account:
    return Account(request.param, synthesis)


def test_the_deploy_role_still_manages_bounded_roles(account: Account) -> None:
    """What the stacks need: without this the denials below would be vacuous. The requests carry
    only the keys AWS sends for each action (CONDITION_KEYS): DeleteRole, UpdateRole,
    UpdateRoleDescription and UpdateAssumeRolePolicy carry no `iam:PermissionsBoundary`, so a
    condition on it would make Terraform unable to change a trust policy or delete a role."""
    bounded = {BOUNDARY: account.boundary_arn}
    for action in ("iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:DetachRolePolicy"):
        assert account.deploy_may(action, account.own_role, **bounded), action
    for action in ("iam:UpdateAssumeRolePolicy", "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:DeleteRole"):
        assert account.deploy_may(action, account.own_role, **bounded), action
        assert BOUNDARY not in as_aws_sends(action, bounded), action
    assert account.deploy_may("iam:AttachRolePolicy", account.own_role, **bounded, **{POLICY_ARN: ADMIN_ARN})
    assert account.deploy_may("iam:PutRolePermissionsBoundary", account.own_role, **bounded)
    assert account.deploy_may("iam:PassRole", account.own_role)
    assert account.deploy_may("iam:TagRole", account.own_role)


def test_a_condition_names_only_keys_its_actions_carry(account: Account) -> None:
    """Every action of a deploy-role or boundary statement conditioned on an IAM key carries that
    key (Service Authorization Reference, IAM); otherwise AWS evaluates the condition as false and
    the statement silently grants nothing for that action."""
    for statement in [*account.deploy_policies, *account.boundary]:
        for _, key, _ in statement.conditions:
            if not key.startswith("iam:"):
                continue
            for action in statement.actions:
                assert key in CONDITION_KEYS.get(action, frozenset()), f"{statement.sid}: {action} carries no {key}"


def test_it_cannot_change_its_own_role(account: Account) -> None:
    me = account.deploy_arn
    assert not account.deploy_may("iam:PutRolePolicy", me)
    assert not account.deploy_may("iam:AttachRolePolicy", me, **{POLICY_ARN: ADMIN_ARN})
    assert not account.deploy_may("iam:UpdateAssumeRolePolicy", me)
    assert not account.deploy_may("iam:PutRolePermissionsBoundary", me, **{BOUNDARY: account.boundary_arn})
    assert not account.deploy_may("iam:DeleteRole", me)
    assert not account.deploy_may("iam:TagRole", me)


def test_it_cannot_change_the_plan_role_although_it_is_bounded(account: Account) -> None:
    for action in ("iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole", "iam:DeleteRole"):
        assert not account.deploy_may(action, account.plan_arn, **{BOUNDARY: account.boundary_arn}), action


def test_no_role_without_the_boundary(account: Account) -> None:
    assert not account.deploy_may("iam:CreateRole", account.own_role), "no boundary requested"
    other = f"arn:aws:iam::{account.account}:policy/wide-open"
    assert not account.deploy_may("iam:CreateRole", account.own_role, **{BOUNDARY: other})
    assert not account.deploy_may("iam:PutRolePermissionsBoundary", account.own_role, **{BOUNDARY: other})
    for action in ("iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:DeleteRolePolicy", "iam:DetachRolePolicy"):
        assert not account.deploy_may(action, account.own_role), f"{action} on a role without a boundary"
    # UpdateAssumeRolePolicy, UpdateRole, UpdateRoleDescription and DeleteRole carry no boundary key:
    # the name prefix alone guards them, so the only unbounded roles of the prefix, the CI roles, are
    # denied by name (test_it_cannot_change_its_own_role) and no other may exist (docs/delivery.md, "Security notes").
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
    ("sts:AssumeRole", "outside"),
    ("sts:AssumeRole", "cluster_admin"),
)


def test_no_role_made_outside_the_repository_can_be_assumed(account: Account) -> None:
    """A role created outside this repository that trusts the account root (the platform's
    administrator role, `cluster.admin_role_name`) lets any principal of the account whose own
    policies allow `sts:AssumeRole` on it assume it (IAM User Guide, "Policy evaluation logic",
    same-account access: the trust policy naming the account delegates to identity policies);
    PowerUserAccess allows it (NotAction iam:*), so the deploy role and the boundary deny it."""
    admin = f"arn:aws:iam::{account.account}:role/{SPECS[account.names.env].cluster.admin_role_name}"
    for role in (admin, f"arn:aws:iam::{account.account}:role/OrganizationAccountAccessRole"):
        assert not account.deploy_may("sts:AssumeRole", role), role
        assert not account.bounded_admin_may("sts:AssumeRole", role), role
    assert not account.deploy_may("sts:AssumeRole", "arn:aws:iam::999999999999:role/anything")
    assert account.deploy_may("sts:AssumeRole", account.own_role), "this environment's bounded roles stay assumable"


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
        "outside": f"arn:aws:iam::{account.account}:role/platform-admin",
        "cluster_admin": f"arn:aws:iam::{account.account}:role/{SPECS[account.names.env].cluster.admin_role_name}",
    }
    for action, target in ESCALATIONS:
        assert not account.bounded_admin_may(action, targets[target], **{BOUNDARY: account.boundary_arn}), (action, target)
    # ...and it still does its job outside IAM, so the boundary is not a blanket denial.
    assert account.bounded_admin_may("s3:GetObject", "arn:aws:s3:::bucket/key")
    assert account.bounded_admin_may("iam:PassRole", targets["own"])
    assert account.bounded_admin_may("iam:CreateServiceLinkedRole", f"arn:aws:iam::{account.account}:role/aws-service-role/x/y")
    # Instance profiles confer a role only with iam:PassRole on it (IAM API Reference,
    # AddRoleToInstanceProfile; EC2 RunInstances with an instance profile), denied for the CI roles above.
    owned = {f"{RESOURCE_TAG}kubernetes.io/cluster/{account.names.cluster_name}": "owned"}
    assert account.bounded_admin_may("iam:AddRoleToInstanceProfile", f"arn:aws:iam::{account.account}:instance-profile/nodes", **owned)


# Every IAM/STS-relevant action of Karpenter's controller policy with the request context that
# policy's conditions require (aws/karpenter-provider-aws v1.14.1,
# website/content/en/docs/getting-started/getting-started-with-karpenter/cloudformation.yaml:
# NodeLifecyclePolicy, IAMIntegrationPolicy, EKSIntegrationPolicy, InterruptionPolicy,
# ZonalShiftPolicy, ResourceDiscoveryPolicy). "{ec2}", "{profile}", "{cluster_tag}" are filled in
# per environment. The controller role is bounded, so the boundary must hold all of it.
KARPENTER_CONTROLLER_ACTIONS = (
    *(("ec2:" + a, "{ec2}:instance/*", "created") for a in ("RunInstances", "CreateFleet", "CreateLaunchTemplate", "CreateTags")),
    *(("ec2:" + a, "{ec2}:instance/*", "owned") for a in ("TerminateInstances", "DeleteLaunchTemplate")),
    *(
        ("ec2:" + a, "*", "")
        for a in (
            "DescribeCapacityReservations",
            "DescribeImages",
            "DescribeInstances",
            "DescribeInstanceStatus",
            "DescribeInstanceTypeOfferings",
            "DescribeInstanceTypes",
            "DescribeLaunchTemplates",
            "DescribePlacementGroups",
            "DescribeSecurityGroups",
            "DescribeSpotPriceHistory",
            "DescribeSubnets",
        )
    ),
    ("iam:PassRole", "{node_role}", ""),
    ("iam:CreateInstanceProfile", "{profile}", "created"),
    ("iam:TagInstanceProfile", "{profile}", "created+owned"),
    ("iam:AddRoleToInstanceProfile", "{profile}", "owned"),
    ("iam:RemoveRoleFromInstanceProfile", "{profile}", "owned"),
    ("iam:DeleteInstanceProfile", "{profile}", "owned"),
    ("iam:GetInstanceProfile", "{profile}", ""),
    ("iam:ListInstanceProfiles", "*", ""),
    ("eks:DescribeCluster", "*", ""),
    ("sqs:DeleteMessage", "*", ""),
    ("sqs:GetQueueUrl", "*", ""),
    ("sqs:ReceiveMessage", "*", ""),
    ("arc-zonal-shift:GetManagedResource", "*", ""),
    ("ssm:GetParameter", "*", ""),
    ("pricing:GetProducts", "*", ""),
    ("kms:CreateGrant", "*", ""),
)


def _karpenter_requests(account: Account) -> list[tuple[str, str, dict[str, ContextValue]]]:
    names = account.names
    cluster_tag = f"kubernetes.io/cluster/{names.cluster_name}"
    fill = {
        "ec2": f"arn:aws:ec2:{names.region}:{account.account}",
        "profile": f"arn:aws:iam::{account.account}:instance-profile/{names.cluster_name}_123",
        "node_role": f"arn:aws:iam::{account.account}:role/{names.prefix}-karpenter-node",
    }
    contexts: dict[str, dict[str, ContextValue]] = {
        "": {},
        "created": {f"{REQUEST_TAG}{cluster_tag}": "owned"},
        "owned": {f"{RESOURCE_TAG}{cluster_tag}": "owned"},
        "created+owned": {f"{REQUEST_TAG}{cluster_tag}": "owned", f"{RESOURCE_TAG}{cluster_tag}": "owned"},
    }
    return [(action, resource.format(**fill), contexts[kind]) for action, resource, kind in KARPENTER_CONTROLLER_ACTIONS]


def test_the_boundary_holds_the_karpenter_controller_policy(account: Account) -> None:
    """The Karpenter controller role carries the boundary, so every action its reference policy
    grants, in the request context that policy requires, must be inside the boundary (effective
    permissions are the intersection: IAM User Guide, "Permissions boundaries for IAM entities")."""
    for action, resource, context in _karpenter_requests(account):
        assert account.bounded_admin_may(action, resource, **context), (action, resource, context)


def test_the_boundary_reaches_only_the_clusters_instance_profiles(account: Account) -> None:
    """Instance profiles are scoped by the cluster tag Karpenter writes on create and requires on
    every later call (the `AllowScopedInstanceProfile*` statements of the reference policy, v1.14.1):
    a bounded role can neither create an untagged profile nor touch a profile of anyone else."""
    profile = f"arn:aws:iam::{account.account}:instance-profile/platform-admin-profile"
    other_cluster = {f"{RESOURCE_TAG}kubernetes.io/cluster/another-cluster": "owned"}
    assert not account.bounded_admin_may("iam:CreateInstanceProfile", profile)
    assert not account.bounded_admin_may("iam:TagInstanceProfile", profile, **{f"{REQUEST_TAG}team": "platform"})
    for action in ("iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"):
        assert not account.bounded_admin_may(action, profile), action
        assert not account.bounded_admin_may(action, profile, **other_cluster), action
    assert not account.bounded_admin_may("iam:UntagInstanceProfile", profile, **other_cluster)


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
