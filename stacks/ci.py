"""`<env>-ci`: GitHub Actions' OIDC identity provider and the roles the pipelines assume. No static keys.

- deploy role: assumed only by this repository's workflows on the main branch or in the environment's
  GitHub environment (production: only the `production` environment, which requires approval);
  applies every stack, so it may manage AWS services but IAM only for this environment's own roles.
- plan role: assumed by pull-request workflows; reads everything `terraform plan` reads, writes
  nothing but the state lock file.
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.iam_openid_connect_provider import IamOpenidConnectProvider
from constructs import Construct

from envspec import EnvironmentSpec
from stacks.base import EnvironmentStack
from stacks.cluster.control_plane import cluster_admin_access
from stacks.iam import AWS_MANAGED, Role
from stacks.policy import Condition, Statement

GITHUB_OIDC = "token.actions.githubusercontent.com"


class CiStack(EnvironmentStack):
    layer = "ci"

    def __init__(self, scope: Construct, spec: EnvironmentSpec, cluster_name: str):
        super().__init__(scope, spec)
        names, ci = self.names, spec.ci
        provider = IamOpenidConnectProvider(
            self, "github", url=f"https://{GITHUB_OIDC}", client_id_list=["sts.amazonaws.com"], tags={"Name": f"{names.prefix}-github"}
        )
        deploy_subjects = [f"repo:{ci.github_repository}:environment:{ci.github_environment}"]
        if not spec.is_production:
            deploy_subjects.append(f"repo:{ci.github_repository}:ref:refs/heads/{ci.branch}")
        self.deploy = Role(
            self,
            "deploy",
            name=names.deploy_role,
            description=f"GitHub Actions deploys of {names.prefix} ({ci.github_repository})",
            trust=[self._github_trust(provider, deploy_subjects)],
            permissions=self._deploy_permissions(),
            managed_policies=[f"{AWS_MANAGED}PowerUserAccess"],
        )
        self.plan = Role(
            self,
            "plan",
            name=names.plan_role,
            description=f"GitHub Actions pull-request plans of {names.prefix} ({ci.github_repository})",
            trust=[self._github_trust(provider, [f"repo:{ci.github_repository}:pull_request"])],
            permissions=self._plan_permissions(),
            managed_policies=[f"{AWS_MANAGED}ReadOnlyAccess"],
        )
        cluster_admin_access(self, "deploy_cluster_access", cluster_name, self.deploy.arn)

        self.output("github_oidc_provider_arn", provider.arn, "GitHub Actions OIDC identity provider")
        self.output("deploy_role_arn", self.deploy.arn, "Role the deploy workflow assumes")
        self.output("plan_role_arn", self.plan.arn, "Read-only role the pull-request workflow assumes")

    @staticmethod
    def _github_trust(provider: IamOpenidConnectProvider, subjects: list[str]) -> Statement:
        return Statement(
            sid="GitHubActionsOidc",
            actions=["sts:AssumeRoleWithWebIdentity"],
            principals={"Federated": [provider.arn]},
            conditions=[
                Condition("StringEquals", f"{GITHUB_OIDC}:aud", ["sts.amazonaws.com"]),
                Condition("StringEquals", f"{GITHUB_OIDC}:sub", subjects),
            ],
        )

    def _deploy_permissions(self) -> list[Statement]:
        """PowerUserAccess covers every service but IAM; IAM is granted for this environment's names only."""
        names = self.names
        own_roles = f"arn:aws:iam::{names.account}:role/{names.prefix}-*"
        return [
            Statement(
                sid="ManageOwnRoles",
                actions=[
                    "iam:CreateRole",
                    "iam:DeleteRole",
                    "iam:GetRole",
                    "iam:UpdateRole",
                    "iam:UpdateAssumeRolePolicy",
                    "iam:TagRole",
                    "iam:UntagRole",
                    "iam:PutRolePolicy",
                    "iam:GetRolePolicy",
                    "iam:DeleteRolePolicy",
                    "iam:ListRolePolicies",
                    "iam:AttachRolePolicy",
                    "iam:DetachRolePolicy",
                    "iam:ListAttachedRolePolicies",
                    "iam:ListInstanceProfilesForRole",
                    "iam:PassRole",
                ],
                resources=[own_roles],
            ),
            Statement(
                sid="ManageGithubOidcProvider",
                actions=[
                    "iam:GetOpenIDConnectProvider",
                    "iam:CreateOpenIDConnectProvider",
                    "iam:UpdateOpenIDConnectProviderThumbprint",
                    "iam:TagOpenIDConnectProvider",
                    "iam:AddClientIDToOpenIDConnectProvider",
                ],
                resources=[f"arn:aws:iam::{names.account}:oidc-provider/{GITHUB_OIDC}"],
            ),
            Statement(
                sid="CreateServiceLinkedRoles",
                actions=["iam:CreateServiceLinkedRole"],
                resources=[f"arn:aws:iam::{names.account}:role/aws-service-role/*"],
            ),
        ]

    def _plan_permissions(self) -> list[Statement]:
        """ReadOnlyAccess reads the infrastructure; plans also decrypt state and take its lock file."""
        names = self.names
        bucket = f"arn:aws:s3:::{names.state_bucket}"
        return [
            Statement(sid="StateLock", actions=["s3:PutObject", "s3:DeleteObject"], resources=[f"{bucket}/*.tflock"]),
            Statement(
                sid="DecryptState",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions=[Condition("ForAnyValue:StringEquals", "kms:ResourceAliases", [names.state_kms_alias])],
            ),
            # The Redis AUTH token is read from Secrets Manager's generator on every plan.
            Statement(sid="GenerateRandomPassword", actions=["secretsmanager:GetRandomPassword"], resources=["*"]),
            # Plans refresh the database connection secret (host, port, name, user: no password).
            Statement(
                sid="ReadDatabaseConnectionSecret",
                actions=["secretsmanager:GetSecretValue"],
                resources=[names.secret_arn(names.app_secret("database-secret").remote_name)],
            ),
        ]
