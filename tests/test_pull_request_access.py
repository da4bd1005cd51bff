"""No code that production's reviewers have not approved can read a production secret or its state.

A pull-request workflow runs the pull request's own code. GitHub's OIDC subject for such a job is
`repo:<owner>/<repo>:pull_request` when the job references no environment, and
`repo:<owner>/<repo>:environment:<name>` when it does (GitHub Docs, "OpenID Connect reference",
"Example subject claims": "Filtering for pull_request events", "Filtering for a specific
environment"); a job can only run in an environment with required reviewers after one approved it
(GitHub Docs, "Managing environments for deployment", "Required reviewers").

So: every role of every production stack whose trust policy admits a pull-request subject
(evaluated with `tests.iam_policy`) must be unable to read a production secret value, a
production state object, or decrypt with the state or secrets key. Its AWS managed policy counts:
ReadOnlyAccess grants `s3:Get*` on every bucket (AWS Managed Policy Reference Guide,
"ReadOnlyAccess"); its statements for S3, Secrets Manager and KMS are below.
"""

from __future__ import annotations

from envspec import names_for
from envspec.naming import LAYERS
from tests.conftest import SPECS, Synthesis
from tests.iam_policy import PolicyStatement, Request, StackIam, assumable_by, from_json, is_allowed, kms_is_allowed

OIDC = "token.actions.githubusercontent.com"
READ_ONLY_ACCESS_EXCERPT = from_json(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "s3:Describe*",
                    "s3:Get*",
                    "s3:List*",
                    "secretsmanager:Describe*",
                    "secretsmanager:GetResourcePolicy",
                    "secretsmanager:List*",
                    "kms:Describe*",
                    "kms:Get*",
                    "kms:List*",
                ],
                "Resource": "*",
            }
        ],
    }
)
MANAGED = {"arn:aws:iam::aws:policy/ReadOnlyAccess": READ_ONLY_ACCESS_EXCERPT}


def _roles(synthesis: Synthesis, env: str) -> dict[str, tuple[StackIam, object]]:
    spec, names = SPECS[env], names_for(SPECS[env])
    roles = {}
    for layer in LAYERS:
        stack = StackIam(synthesis.stack(f"{env}-{layer}"), account=names.account, region=spec.aws.region, dr_region=spec.aws.dr_region)
        roles.update({name: (stack, role) for name, role in stack.roles().items()})
    return roles


def _pull_request_roles(synthesis: Synthesis, env: str, subject: str) -> list:
    names = names_for(SPECS[env])
    principal = f"federated:arn:aws:iam::{names.account}:oidc-provider/{OIDC}"
    context = {f"{OIDC}:aud": "sts.amazonaws.com", f"{OIDC}:sub": subject}
    return [
        (stack, role)
        for stack, role in _roles(synthesis, env).values()
        if assumable_by(role.trust, principal, context, "sts:AssumeRoleWithWebIdentity")
    ]


def _policies(stack: StackIam, role) -> tuple[list[PolicyStatement], list[PolicyStatement] | None]:
    statements = list(role.inline)
    for arn in role.managed_policy_arns:
        assert arn in MANAGED, f"{role.name}: managed policy {arn} is not modelled here"
        statements += MANAGED[arn]
    boundary = stack.managed_policies().get(role.permissions_boundary) if role.permissions_boundary else None
    return statements, boundary


def _reads_production(synthesis: Synthesis, stack: StackIam, role) -> list[str]:
    spec, names = SPECS["production"], names_for(SPECS["production"])
    identity, boundary = _policies(stack, role)
    data = synthesis.stack("production-data")["resource"]["aws_secretsmanager_secret"]
    secrets = [f"arn:aws:secretsmanager:{spec.aws.region}:{names.account}:secret:{body['name']}-AbC123" for body in data.values()]
    found = []
    for secret in secrets:
        if is_allowed(Request("secretsmanager:GetSecretValue", secret, role.arn), identity, boundary=boundary):
            found.append(f"GetSecretValue {secret}")
    for layer in LAYERS[1:]:
        state = f"arn:aws:s3:::{names.state_bucket}/{names.state_key(layer)}"
        if is_allowed(Request("s3:GetObject", state, role.arn), identity, boundary=boundary):
            found.append(f"GetObject {state}")
    root_only = from_json(
        {"Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{names.account}:root"}, "Action": "kms:*", "Resource": "*"}]}
    )
    for alias, service in ((names.state_kms_alias, "s3"), (names.kms_alias("secrets"), "secretsmanager")):
        key = f"arn:aws:kms:{spec.aws.region}:{names.account}:key/{alias.rsplit('-', 1)[-1]}"
        context = {"kms:ResourceAliases": [alias], "kms:ViaService": f"{service}.{spec.aws.region}.amazonaws.com"}
        if kms_is_allowed(Request("kms:Decrypt", key, role.arn, context), root_only, identity, boundary=boundary):
            found.append(f"kms:Decrypt with {alias}")
    return found


def test_no_pull_request_subject_reads_production_secrets_or_state(synthesis: Synthesis) -> None:
    repository = SPECS["production"].ci.github_repository
    for subject in (f"repo:{repository}:pull_request", f"repo:{repository}:ref:refs/pull/7/merge"):
        for role in _pull_request_roles(synthesis, "production", subject):
            assert not _reads_production(synthesis, role), (
                f"{role.name} (assumable by {subject}) reads {_reads_production(synthesis, role)}"
            )


def test_production_plans_run_only_from_the_reviewed_plan_environment(synthesis: Synthesis) -> None:
    """The production plan still works, from the environment whose reviewers approve the run; and
    the role it gets is the one that reads what a plan needs (so the guard above is not vacuous)."""
    spec, names = SPECS["production"], names_for(SPECS["production"])
    assert spec.ci.plan_environment == "production-plan"
    reviewed = _pull_request_roles(synthesis, "production", f"repo:{spec.ci.github_repository}:environment:{spec.ci.plan_environment}")
    assert [role.name for _, role in reviewed] == [names.plan_role]
    assert _reads_production(synthesis, *reviewed[0]), "the reviewed plan role reads state and the secrets Terraform refreshes"
    other = _pull_request_roles(synthesis, "production", f"repo:{spec.ci.github_repository}:environment:staging")
    assert other == []


def test_development_and_staging_keep_automatic_plans(synthesis: Synthesis) -> None:
    for env in ("development", "staging"):
        spec, names = SPECS[env], names_for(SPECS[env])
        assert spec.ci.plan_environment is None
        roles = _pull_request_roles(synthesis, env, f"repo:{spec.ci.github_repository}:pull_request")
        assert [role.name for _, role in roles] == [names.plan_role]
