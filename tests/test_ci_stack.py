"""The `<env>-ci` stack: GitHub Actions reaches AWS through OIDC only, from the right place only."""

from __future__ import annotations

import pytest

from envspec import names_for
from envspec.naming import BUCKET_PURPOSES
from tests.conftest import ENVIRONMENTS, ROOT, SPECS, Synthesis, data_of, only, ref, resources_of


def _trust(stack: dict, role_name: str) -> dict:
    (role,) = [role for role in resources_of(stack, "aws_iam_role").values() if role["name"] == role_name]
    return data_of(stack, "aws_iam_policy_document")[ref(role["assume_role_policy"])]["statement"]


def _conditions(statement: dict) -> dict[str, list[str]]:
    return {condition["variable"]: condition["values"] for condition in statement["condition"]}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_github_oidc_provider(env: str, synthesis: Synthesis) -> None:
    provider = only(resources_of(synthesis.stack(f"{env}-ci"), "aws_iam_openid_connect_provider"))
    assert provider["url"] == "https://token.actions.githubusercontent.com"
    assert provider["client_id_list"] == ["sts.amazonaws.com"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_deploy_role_trusts_main_and_the_environment_only(env: str, synthesis: Synthesis) -> None:
    spec, names = SPECS[env], names_for(SPECS[env])
    (statement,) = _trust(synthesis.stack(f"{env}-ci"), names.deploy_role)
    assert statement["actions"] == ["sts:AssumeRoleWithWebIdentity"]
    conditions = _conditions(statement)
    assert conditions["token.actions.githubusercontent.com:aud"] == ["sts.amazonaws.com"]
    repo = spec.ci.github_repository
    expected = [f"repo:{repo}:environment:{spec.ci.github_environment}"]
    if env != "production":
        expected.append(f"repo:{repo}:ref:refs/heads/main")
    assert conditions["token.actions.githubusercontent.com:sub"] == expected
    assert all("*" not in subject for subject in expected)


def test_production_deploys_only_from_the_production_environment(synthesis: Synthesis) -> None:
    names = names_for(SPECS["production"])
    (statement,) = _trust(synthesis.stack("production-ci"), names.deploy_role)
    assert _conditions(statement)["token.actions.githubusercontent.com:sub"] == ["repo:ai-subsidy/infrastructure:environment:production"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_plan_role_is_for_pull_requests_and_read_only(env: str, synthesis: Synthesis) -> None:
    names, stack = names_for(SPECS[env]), synthesis.stack(f"{env}-ci")
    (statement,) = _trust(stack, names.plan_role)
    ci = SPECS[env].ci
    expected = (
        f"repo:{ci.github_repository}:environment:{ci.plan_environment}"
        if ci.plan_environment
        else f"repo:{ci.github_repository}:pull_request"
    )
    assert _conditions(statement)["token.actions.githubusercontent.com:sub"] == [expected]
    (role_id,) = [logical for logical, role in resources_of(stack, "aws_iam_role").items() if role["name"] == names.plan_role]
    attached = [a["policy_arn"] for a in resources_of(stack, "aws_iam_role_policy_attachment").values() if ref(a["role"]) == role_id]
    assert attached == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    (policy,) = [p for p in resources_of(stack, "aws_iam_role_policy").values() if ref(p["role"]) == role_id]
    writes = [s for s in data_of(stack, "aws_iam_policy_document")[ref(policy["policy"])]["statement"] if "s3:PutObject" in s["actions"]]
    assert [s["resources"] for s in writes] == [[f"arn:aws:s3:::{names.state_bucket}/*.tflock"]]


def test_no_static_aws_keys_anywhere(synthesis: Synthesis) -> None:
    for stack_id in synthesis.stack_ids:
        resources = synthesis.stack(stack_id).get("resource", {})
        assert "aws_iam_access_key" not in resources and "aws_iam_user" not in resources, stack_id


def test_ci_stacks_read_nothing_from_other_stacks(synthesis: Synthesis) -> None:
    """The deploy role must exist before the cluster's access entry for it: the ci stack can be applied
    right after the state stack because it depends on no other stack."""
    for env in ENVIRONMENTS:
        stack = synthesis.stack(f"{env}-ci")
        assert "terraform_remote_state" not in stack.get("data", {}), env
        assert "aws_eks_access_entry" not in stack.get("resource", {}), "the access entry belongs with the cluster"


def _plan_statements(stack: dict, names) -> list[dict]:
    (role_id,) = [logical for logical, role in resources_of(stack, "aws_iam_role").items() if role["name"] == names.plan_role]
    (policy,) = [p for p in resources_of(stack, "aws_iam_role_policy").values() if ref(p["role"]) == role_id]
    return data_of(stack, "aws_iam_policy_document")[ref(policy["policy"])]["statement"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_plan_role_reads_only_what_plans_refresh_and_no_data(env: str, synthesis: Synthesis) -> None:
    names = names_for(SPECS[env])
    statements = _plan_statements(synthesis.stack(f"{env}-ci"), names)
    allowed = [s for s in statements if s["effect"] == "Allow"]
    (secrets,) = [s for s in allowed if "secretsmanager:GetSecretValue" in s["actions"]]
    # Exactly the secrets whose versions the data stack writes: a plan refreshes each version by reading it.
    data = synthesis.stack(f"{env}-data")
    secret_names = {logical: secret["name"] for logical, secret in resources_of(data, "aws_secretsmanager_secret").items()}
    written = {secret_names[ref(version["secret_id"])] for version in resources_of(data, "aws_secretsmanager_secret_version").values()}
    expected = [names.secret_arn(name) for name in written]
    if SPECS[env].dr.has_standby:  # and those the standby's stacks write: its Redis token and URL, Argo CD's registration
        standby = names.standby
        for layer, side in (("dr-data", standby), ("dr-cluster", names)):
            stack = synthesis.stack(f"{env}-{layer}")
            own = {logical: secret["name"] for logical, secret in resources_of(stack, "aws_secretsmanager_secret").items()}
            for version in resources_of(stack, "aws_secretsmanager_secret_version").values():
                expected.append(side.secret_arn(own[ref(version["secret_id"])]))
    assert sorted(secrets["resources"]) == sorted(expected)
    decrypt = [s for s in allowed if "kms:Decrypt" in s["actions"]]
    aliases = sorted(v for s in decrypt for c in s["condition"] if c["variable"] == "kms:ResourceAliases" for v in c["values"])
    standby_keys = [names.standby.kms_alias("secrets")] if SPECS[env].dr.has_standby else []
    assert aliases == sorted([names.state_kms_alias, names.kms_alias("secrets"), *standby_keys])
    (secrets_key,) = [s for s in decrypt if any(names.kms_alias("secrets") in c["values"] for c in s["condition"])]
    regions = ["ap-northeast-1", *(["ap-northeast-3"] if standby_keys else [])]
    via = [f"secretsmanager.{region}.amazonaws.com" for region in regions]
    assert {"test": "StringEquals", "variable": "kms:ViaService", "values": via} in secrets_key["condition"]
    denied = {action: s["resources"] for s in statements if s["effect"] == "Deny" for action in s["actions"]}
    data_objects = {f"arn:aws:s3:::{names.bucket(p)}/*" for p in BUCKET_PURPOSES}
    assert {"files", "diagnostics", "access-logs", "files-dr"} <= set(BUCKET_PURPOSES)
    assert set(denied["s3:GetObject"]) == data_objects and set(denied["s3:GetObjectVersion"]) == data_objects
    assert f"arn:aws:s3:::{names.state_bucket}/*" not in denied["s3:GetObject"]
    for action in ("logs:GetLogEvents", "logs:FilterLogEvents", "logs:StartQuery", "rds:DownloadDBLogFilePortion"):
        assert denied[action] == ["*"], action


REPOSITORY_SETTINGS = (
    # GitHub Docs, "Managing environments for deployment": required reviewers on environments of a
    # private or internal repository need GitHub Enterprise; administrators bypass protection rules
    # unless "Allow administrators to bypass configured protection rules" is off; referencing an
    # environment that does not exist creates it, without protection rules.
    "need GitHub Enterprise",
    "Allow administrators to bypass configured protection rules",
    "create the GitHub environments it trusts",
    # GitHub Docs, "Managing GitHub Actions settings for a repository", fork pull request workflows
    # in private repositories: "Send write tokens to workflows from fork pull requests".
    "Send write tokens to workflows from fork pull requests",
    # GitHub Docs, "Reviewing deployments": the reviewer approves the job of that run.
    "head SHA",
)


def test_the_readme_names_the_settings_the_ci_roles_rely_on() -> None:
    """The CI roles trust GitHub environment subjects; what makes those subjects mean "reviewed" is
    repository configuration no stack can set, so the delivery guide and the bootstrap procedure must
    name each setting."""
    readme = " ".join(" ".join((ROOT / "docs" / page).read_text().split()) for page in ("delivery.md", "bootstrap.md"))
    for setting in REPOSITORY_SETTINGS:
        assert setting in readme, setting
