"""`<env>-ci`: GitHub Actions' OIDC identity provider, the roles the pipelines assume, and the
permissions boundary of every role the deploy role manages. No static keys.

- deploy role: assumed only by this repository's workflows on the main branch or in the environment's
  GitHub environment (production: only the `production` environment, which requires approval);
  applies every stack but `state` and this one, so it may manage AWS services, and IAM only for
  this environment's roles that carry the permissions boundary (stacks/boundary.py). It can neither
  change itself, the plan role or the boundary, nor remove a boundary.
- plan role: assumed by pull-request jobs (where `ci.plan_environment` is set, production: only by
  jobs of that GitHub environment, which has required reviewers, so no unreviewed code reads the
  environment's secrets or state); reads everything `terraform plan` reads, writes nothing but the
  state lock file, and is denied the contents of data buckets and logs.

An administrator applies this stack (CI never does: the deploy role is denied every change to the
CI roles and the boundary). It reads nothing from the other stacks and is applied right after
`<env>-state` when an environment is bootstrapped: every other stack's roles name the boundary, and
the cluster stack's access entry for the deploy role needs the role to exist.
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.iam_openid_connect_provider import IamOpenidConnectProvider
from constructs import Construct

from envspec import EnvironmentSpec
from envspec.naming import BUCKET_PURPOSES
from stacks.base import EnvironmentStack
from stacks.boundary import PermissionsBoundary, assume_only_own_roles
from stacks.iam import AWS_MANAGED, Role
from stacks.policy import Condition, Statement

GITHUB_OIDC = "token.actions.githubusercontent.com"

# Role writes whose request carries `iam:PermissionsBoundary` (the boundary the role has, or for
# CreateRole/PutRolePermissionsBoundary the one requested): Service Authorization Reference, "Actions,
# resources, and condition keys for AWS Identity and Access Management (IAM)". DeleteRole, UpdateRole,
# UpdateRoleDescription and UpdateAssumeRolePolicy do not carry the key, so a condition on it would
# deny them; they are scoped by name alone (ROLE_WRITES_BY_NAME).
BOUNDED_ROLE_WRITES = (
    "iam:CreateRole",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
)
ROLE_WRITES_BY_NAME = (
    "iam:DeleteRole",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
    "iam:UpdateAssumeRolePolicy",
)


class CiStack(EnvironmentStack):
    layer = "ci"

    def __init__(self, scope: Construct, spec: EnvironmentSpec):
        super().__init__(scope, spec)
        names, ci = self.names, spec.ci
        provider = IamOpenidConnectProvider(
            self, "github", url=f"https://{GITHUB_OIDC}", client_id_list=["sts.amazonaws.com"], tags={"Name": f"{names.prefix}-github"}
        )
        self.boundary = PermissionsBoundary(self, "boundary", names=names)
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
            bounded=False,
        )
        # GitHub's subject for a pull-request job is `repo:<repo>:pull_request` unless the job names an
        # environment; then it is `repo:<repo>:environment:<name>` (GitHub Docs, "OpenID Connect reference").
        plan_subject = (
            f"repo:{ci.github_repository}:environment:{ci.plan_environment}"
            if ci.plan_environment
            else f"repo:{ci.github_repository}:pull_request"
        )
        self.plan = Role(
            self,
            "plan",
            name=names.plan_role,
            description=f"GitHub Actions pull-request plans of {names.prefix} ({ci.github_repository})",
            trust=[self._github_trust(provider, [plan_subject])],
            permissions=self._plan_permissions(),
            managed_policies=[f"{AWS_MANAGED}ReadOnlyAccess"],
            boundary_arn=self.boundary.arn,
        )

        self.output("github_oidc_provider_arn", provider.arn, "GitHub Actions OIDC identity provider")
        self.output("deploy_role_arn", self.deploy.arn, "Role the deploy workflow assumes")
        self.output("plan_role_arn", self.plan.arn, "Read-only role the pull-request workflow assumes")
        self.output("permissions_boundary_arn", self.boundary.arn, "Permissions boundary every role the deploy role manages carries")

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
        """PowerUserAccess covers every service but IAM. IAM: this environment's roles, and only
        roles that carry the boundary: the role writes whose requests carry `iam:PermissionsBoundary`
        (CreateRole, PutRolePolicy, AttachRolePolicy, ...: Service Authorization Reference, IAM) are
        conditioned on it, so no role can be created without it and no policy of a role without it
        can change. DeleteRole, UpdateRole, UpdateRoleDescription and UpdateAssumeRolePolicy carry no
        such key and are scoped by the name prefix alone: no role without the boundary may ever be
        named `<prefix>-*` but the CI roles (README, "Security notes"). Explicit denials keep the CI
        roles and the boundary policy out of reach even if a later statement widened this."""
        names = self.names
        own_roles = names.role_arn(f"{names.prefix}-*")
        ci_roles = [names.role_arn(names.deploy_role), names.role_arn(names.plan_role)]
        return [
            Statement(
                sid="CreateAndChangeOnlyBoundedRoles",
                actions=list(BOUNDED_ROLE_WRITES),
                resources=[own_roles],
                conditions=[Condition("StringEquals", "iam:PermissionsBoundary", [names.permissions_boundary_arn])],
            ),
            Statement(sid="UpdateAndDeleteOwnRoles", actions=list(ROLE_WRITES_BY_NAME), resources=[own_roles]),
            Statement(
                sid="ReadAndTagOwnRoles",
                actions=[
                    "iam:GetRole",
                    "iam:GetRolePolicy",
                    "iam:ListRolePolicies",
                    "iam:ListAttachedRolePolicies",
                    "iam:ListInstanceProfilesForRole",
                    "iam:ListRoleTags",
                    "iam:TagRole",
                    "iam:UntagRole",
                ],
                resources=[own_roles],
            ),
            # Every role of the prefix but the two CI roles (denied below) carries the boundary.
            Statement(sid="PassOwnRoles", actions=["iam:PassRole"], resources=[own_roles]),
            Statement(sid="NeverRemoveABoundary", effect="Deny", actions=["iam:DeleteRolePermissionsBoundary"], resources=["*"]),
            Statement(
                sid="NeverChangeTheCiRoles",
                effect="Deny",
                actions=[*BOUNDED_ROLE_WRITES, *ROLE_WRITES_BY_NAME, "iam:TagRole", "iam:UntagRole", "iam:PassRole"],
                resources=ci_roles,
            ),
            assume_only_own_roles(names),
            Statement(
                sid="NeverChangeTheBoundary",
                effect="Deny",
                actions=[
                    "iam:CreatePolicyVersion",
                    "iam:DeletePolicy",
                    "iam:DeletePolicyVersion",
                    "iam:SetDefaultPolicyVersion",
                    "iam:TagPolicy",
                    "iam:UntagPolicy",
                ],
                resources=[names.permissions_boundary_arn],
            ),
        ]

    def _plan_permissions(self) -> list[Statement]:
        """ReadOnlyAccess reads the infrastructure; plans also decrypt state, take its lock file and refresh
        the secret versions Terraform writes. Pull-request workflows run the pull request's own code,
        so the role is denied what ReadOnlyAccess would otherwise show of the data: objects in the data
        buckets, log events, database log files."""
        names = self.names
        bucket = f"arn:aws:s3:::{names.state_bucket}"
        data_buckets = [names.bucket_arn(purpose) for purpose in BUCKET_PURPOSES]
        # The standby's stacks (`<env>-dr-*`, in the DR region) write their own Redis token and URL and, in the
        # primary region, Argo CD's registration; their plans read those back, through the DR region's key too.
        standby = names.standby if self.spec.dr.has_standby else None
        standby_secrets = (
            [
                names.secret_arn(names.argocd_dr_cluster_secret),
                standby.secret_arn(standby.app_secret("redis-secret").remote_name),
                standby.secret_arn(standby.cache_auth_token_secret),
            ]
            if standby
            else []
        )
        secrets_keys = [names.kms_alias("secrets"), *([standby.kms_alias("secrets")] if standby else [])]
        secrets_regions = [names.region, *([standby.region] if standby else [])]
        return [
            Statement(sid="StateLock", actions=["s3:PutObject", "s3:DeleteObject"], resources=[f"{bucket}/*.tflock"]),
            Statement(
                sid="DecryptState",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions=[Condition("ForAnyValue:StringEquals", "kms:ResourceAliases", [names.state_kms_alias])],
            ),
            Statement(sid="GenerateRandomPassword", actions=["secretsmanager:GetRandomPassword"], resources=["*"]),
            # Plans refresh the secret versions Terraform writes by reading them (the application's and the
            # migration's database logins, passwords included; the Redis URL and AUTH token, which are in state anyway:
            # README, "Redis AUTH token"; Grafana's admin login) and read the token back for the cache; the
            # generators run on every plan. Only pull requests from this repository's branches get the role.
            Statement(
                sid="RefreshTerraformWrittenSecrets",
                actions=["secretsmanager:GetSecretValue"],
                resources=[
                    *(
                        names.secret_arn(names.app_secret(secret).remote_name)
                        for secret in ("database-secret", "database-migration-secret", "redis-secret")
                    ),
                    names.secret_arn(names.cache_auth_token_secret),
                    names.secret_arn(names.grafana_admin_secret.remote_name),
                    *standby_secrets,
                ],
            ),
            Statement(
                sid="DecryptSecretsThroughSecretsManager",
                actions=["kms:Decrypt"],
                resources=["*"],
                conditions=[
                    Condition("ForAnyValue:StringEquals", "kms:ResourceAliases", secrets_keys),
                    Condition("StringEquals", "kms:ViaService", [f"secretsmanager.{region}.amazonaws.com" for region in secrets_regions]),
                ],
            ),
            Statement(
                sid="NoDataBucketContents",
                effect="Deny",
                actions=["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAttributes"],
                resources=[f"{arn}/*" for arn in data_buckets],
            ),
            Statement(
                sid="NoLogContents",
                effect="Deny",
                actions=[
                    "logs:GetLogEvents",
                    "logs:FilterLogEvents",
                    "logs:StartQuery",
                    "logs:StartLiveTail",
                    "logs:GetLogRecord",
                    "rds:DownloadDBLogFilePortion",
                    "rds:DownloadCompleteDBLogFile",
                ],
                resources=["*"],
            ),
        ]
