"""The Terraform side of the database login rotation: schedule, invoke permission, network, role,
package, alarm, and the Kubernetes side that follows AWSCURRENT.

Rules encoded, each from the document named in its test:
- Secrets Manager User Guide, "Schedule expressions in Secrets Manager rotation": schedules are UTC;
  a `cron()` has 0 minutes and `*` years; the window (Duration, whole hours) must not extend into
  the next UTC day.
- Secrets Manager User Guide, "Lambda rotation function execution role permissions": the four
  rotation actions on the rotated secret, GetSecretValue on the master secret (alternating users),
  GetRandomPassword, the customer managed key limited by the `SecretARN` encryption context; and
  "Troubleshoot rotation": the function's resource policy must let `secretsmanager.amazonaws.com`
  invoke it (here only for this account and these secrets: `source_account`, `source_arn`).
- Lambda Developer Guide, "Giving Lambda functions access to resources in an Amazon VPC": the
  execution role's network interface permissions; DescribeNetworkInterfaces only on "*".
- External Secrets' AWS provider (external-secrets/external-secrets,
  providers/v1/aws/secretsmanager/secretsmanager.go, `fetch`): a remoteRef reads VersionStage
  `version`, AWSCURRENT when unset.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from envspec import names_for
from envspec.windows import WINDOW_TIME_ZONE
from stacks.data import rotation
from stacks.lambda_package import FIXED_DATE
from tests.conftest import ENVIRONMENTS, SPECS, Synthesis, only, ref, resources_of
from tests.iam_policy import Request, StackIam, is_allowed

LOGINS = ("database", "database-migration")
BUSINESS_HOURS_TOKYO = range(8, 20)  # 08:00 to 20:00: people at work, or on their way


def _data(synthesis: Synthesis, env: str) -> dict:
    return synthesis.stack(f"{env}-data")


def _function(stack: dict) -> tuple[str, dict]:
    (item,) = [
        (logical, body)
        for logical, body in resources_of(stack, "aws_lambda_function").items()
        if body["function_name"].endswith("-db-login-rotation")
    ]
    return item


def _secrets(stack: dict) -> dict[str, str]:
    """Secret name -> logical id."""
    return {body["name"]: logical for logical, body in resources_of(stack, "aws_secretsmanager_secret").items()}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_both_logins_rotate_on_the_spec_schedule_at_night_in_tokyo(env: str, synthesis: Synthesis) -> None:
    spec, names, stack = SPECS[env], names_for(SPECS[env]), _data(synthesis, env)
    function, _ = _function(stack)
    secrets = _secrets(stack)
    rotations = {ref(body["secret_id"]): body for body in resources_of(stack, "aws_secretsmanager_secret_rotation").values()}
    assert set(rotations) == {secrets[names.secret_name(purpose)] for purpose in LOGINS}, "exactly the two login secrets rotate"
    for body in rotations.values():
        assert body["rotation_lambda_arn"] == f"${{aws_lambda_function.{function}.arn}}"
        assert body["rotate_immediately"] is spec.login_rotation.rotate_immediately is False
        rules = body["rotation_rules"]
        assert "automatically_after_days" not in rules, "a day count lets Secrets Manager pick any hour of the UTC day"
        match = re.fullmatch(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)", rules["schedule_expression"])
        assert match, rules["schedule_expression"]
        minutes, hour, day_of_month, _, day_of_week, year = match.groups()
        assert (minutes, year, day_of_month) == ("0", "*", "?")
        assert day_of_week.endswith("#1") == (spec.login_rotation.frequency == "monthly")
        hours = int(rules["duration"].removesuffix("h"))
        assert int(hour) + hours <= 24, "the window must not extend into the next UTC day"
        tokyo = [(int(hour) + 9 + offset) % 24 for offset in range(hours)]
        assert not set(tokyo) & set(BUSINESS_HOURS_TOKYO), f"rotation at {tokyo} o'clock {WINDOW_TIME_ZONE} time"
        assert body["depends_on"], "rotation is configured after the first login version and the invoke permission exist"


def test_production_rotates_monthly_and_the_others_weekly() -> None:
    assert {env: spec.login_rotation.frequency for env, spec in SPECS.items()} == {
        "development": "weekly",
        "staging": "weekly",
        "production": "monthly",
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_only_secrets_manager_invokes_the_function_for_these_secrets_of_this_account(env: str, synthesis: Synthesis) -> None:
    names, stack = names_for(SPECS[env]), _data(synthesis, env)
    function, _ = _function(stack)
    secrets = _secrets(stack)
    permissions = [body for body in resources_of(stack, "aws_lambda_permission").values() if function in body["function_name"]]
    assert sorted(ref(body["source_arn"]) for body in permissions) == sorted(secrets[names.secret_name(purpose)] for purpose in LOGINS)
    for body in permissions:
        assert (body["principal"], body["action"], body["source_account"]) == (
            "secretsmanager.amazonaws.com",
            "lambda:InvokeFunction",
            names.account,
        )
        assert body["source_arn"].endswith(".arn}")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_function_reaches_only_postgresql_and_the_vpc_endpoints(env: str, synthesis: Synthesis) -> None:
    spec, stack = SPECS[env], _data(synthesis, env)
    _, function = _function(stack)
    (group_ref,) = function["vpc_config"]["security_group_ids"]
    subnets = function["vpc_config"]["subnet_ids"]
    assert len(subnets) == len(spec.availability_zones) and all("_private_" in subnet for subnet in subnets)
    group = resources_of(stack, "aws_security_group")[ref(group_ref)]
    assert "ingress" not in group and "egress" not in group
    egress = [
        rule
        for rule in resources_of(stack, "aws_vpc_security_group_egress_rule").values()
        if ref(rule["security_group_id"]) == ref(group_ref)
    ]
    database_sg = only(resources_of(stack, "aws_db_instance"))["vpc_security_group_ids"][0]
    assert sorted((rule["from_port"], rule["to_port"], rule["ip_protocol"]) for rule in egress) == [(443, 443, "tcp"), (5432, 5432, "tcp")]
    by_port = {rule["from_port"]: rule for rule in egress}
    assert by_port[5432]["referenced_security_group_id"] == database_sg
    assert "endpoints_security_group" in by_port[443]["referenced_security_group_id"]
    assert not [rule for rule in egress if "cidr_ipv4" in rule or "cidr_ipv6" in rule]
    assert function["reserved_concurrent_executions"] == len(LOGINS)


class _Resolved(StackIam):
    """StackIam plus the references this role names: secrets, the master secret, the security group."""

    def _attribute(self, reference: str) -> str:
        parts = reference.split(".")
        body = self.resources.get(parts[0], {}).get(parts[1], {})
        if parts[0] == "aws_secretsmanager_secret" and parts[-1] == "arn":
            return f"arn:aws:secretsmanager:{self.region}:{self.account}:secret:{body['name']}-AbCdEf"
        if parts[0] == "aws_db_instance" and parts[-1] == "secret_arn":
            return f"arn:aws:secretsmanager:{self.region}:{self.account}:secret:rds!db-0123-AbCdEf"
        if parts[0] == "aws_security_group" and parts[-1] == "id":
            return f"sg-{body['name']}"
        if parts[0] == "data" and parts[1] == "terraform_remote_state":
            return "subnet-" + parts[-1].rsplit("_", 1)[-1] if "subnet" in parts[-1] else f"unresolved:{reference}"
        return super()._attribute(reference)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_role_can_rotate_these_secrets_and_nothing_else(env: str, synthesis: Synthesis) -> None:
    spec, names, stack = SPECS[env], names_for(SPECS[env]), _data(synthesis, env)
    iam = _Resolved(stack, account=names.account, region=names.region)
    role = iam.roles()[names.login_rotation_function]
    assert role.permissions_boundary == names.permissions_boundary_arn and not role.managed_policy_arns
    region, account = names.region, names.account

    def secret(name: str) -> str:
        return f"arn:aws:secretsmanager:{region}:{account}:secret:{name}-AbCdEf"

    logins = [secret(names.secret_name(purpose)) for purpose in LOGINS]
    master = f"arn:aws:secretsmanager:{region}:{account}:secret:rds!db-0123-AbCdEf"
    others = [
        secret(binding.remote_name)
        for binding in names.synced_secrets
        if binding.kubernetes_name not in ("database-secret", "database-migration-secret")
    ]
    (key_id,) = [
        ref(alias["target_key_id"])
        for alias in resources_of(stack, "aws_kms_alias").values()
        if alias["name"] == names.kms_alias("secrets") and "provider" not in alias
    ]
    key = f"arn:aws:kms:{region}:{account}:key/{key_id}"
    via = {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}

    def allowed(action: str, resource: str = "*", **context: str) -> bool:
        return is_allowed(Request(action=action, resource=resource, principal=role.arn, context=context), role.inline)

    rotation_actions = ("DescribeSecret", "GetSecretValue", "PutSecretValue", "UpdateSecretVersionStage")
    for login in logins:
        assert all(allowed(f"secretsmanager:{action}", login) for action in rotation_actions)
        assert allowed("kms:Decrypt", key, **via, **{"kms:EncryptionContext:SecretARN": login})
        assert allowed("kms:GenerateDataKey", key, **via, **{"kms:EncryptionContext:SecretARN": login})
        assert not allowed("kms:Decrypt", key, **{"kms:EncryptionContext:SecretARN": login}), "the key only through Secrets Manager"
        for action in ("DeleteSecret", "RotateSecret", "PutResourcePolicy", "UpdateSecret", "CancelRotateSecret"):
            assert not allowed(f"secretsmanager:{action}", login)
    assert allowed("secretsmanager:GetSecretValue", master)
    assert allowed("kms:Decrypt", key, **via, **{"kms:EncryptionContext:SecretARN": master})
    for action in ("PutSecretValue", "UpdateSecretVersionStage", "DescribeSecret", "RotateSecret"):
        assert not allowed(f"secretsmanager:{action}", master), f"{action} on the master secret"
    for other in others:
        assert not allowed("secretsmanager:GetSecretValue", other), other
        assert not allowed("kms:Decrypt", key, **via, **{"kms:EncryptionContext:SecretARN": other}), other
    assert allowed("secretsmanager:GetRandomPassword")
    assert not allowed("secretsmanager:ListSecrets")

    interfaces = f"arn:aws:ec2:{region}:{account}:network-interface/eni-0123"
    function_sg = f"arn:aws:ec2:{region}:{account}:security-group/sg-{names.login_rotation_function}"
    assert allowed("ec2:CreateNetworkInterface", interfaces) and allowed("ec2:CreateNetworkInterface", function_sg)
    assert not allowed("ec2:CreateNetworkInterface", f"arn:aws:ec2:{region}:{account}:security-group/sg-anything-else")
    assert not allowed("ec2:CreateNetworkInterface", f"arn:aws:ec2:{region}:{account}:subnet/subnet-elsewhere")
    assert all(
        allowed(action, interfaces)
        for action in ("ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses")
    )
    assert allowed("ec2:DescribeNetworkInterfaces") and allowed("ec2:DescribeSubnets")
    assert not allowed("ec2:DeleteNetworkInterface", f"arn:aws:ec2:us-east-1:{account}:network-interface/eni-0123")
    assert not allowed("ec2:ModifyNetworkInterfaceAttribute", interfaces), "no way to move the ENI into another security group"
    log_group = f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{names.login_rotation_function}:log-stream:x"
    assert allowed("logs:PutLogEvents", log_group) and not allowed("logs:CreateLogGroup", log_group)
    assert spec.database.log_retention_days > 0


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_log_group_exists_encrypted_before_the_function(env: str, synthesis: Synthesis) -> None:
    spec, names, stack = SPECS[env], names_for(SPECS[env]), _data(synthesis, env)
    _, function = _function(stack)
    groups = {logical: body for logical, body in resources_of(stack, "aws_cloudwatch_log_group").items()}
    (logical,) = [logical for logical, body in groups.items() if body["name"] == f"/aws/lambda/{names.login_rotation_function}"]
    assert groups[logical]["retention_in_days"] == spec.database.log_retention_days and groups[logical]["kms_key_id"].startswith(
        "${aws_kms_key."
    )
    dependencies = {ref(dependency) for dependency in function["depends_on"]}
    assert logical in dependencies
    assert any(dependency.startswith("aws_iam_role_policy.") for dependency in function["depends_on"]), (
        "ENIs are created with the inline policy"
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_checkov_skip_but_the_reasoned_ones(env: str, synthesis: Synthesis) -> None:
    """CKV2_AWS_57 (secrets rotated) now passes for the login secrets; the function skips only the
    dead-letter queue (synchronous invocation) and code signing."""
    names, stack = names_for(SPECS[env]), _data(synthesis, env)
    _, function = _function(stack)
    assert sorted(function["//"]["checkov_skip"]) == ["CKV_AWS_116", "CKV_AWS_272"]
    for body in resources_of(stack, "aws_secretsmanager_secret").values():
        if body["name"] in {names.secret_name(purpose) for purpose in LOGINS}:
            assert "CKV2_AWS_57" not in body.get("//", {}).get("checkov_skip", {})


def test_the_package_is_deterministic_and_holds_what_the_handler_imports(synthesis: Synthesis, tmp_path: Path) -> None:
    archive, code_hash = rotation.package()
    first = archive.read_bytes()
    archive.unlink()
    again, again_hash = rotation.package()
    assert again.read_bytes() == first and again_hash == code_hash
    with zipfile.ZipFile(again) as package:
        entries = package.infolist()
    names = [entry.filename for entry in entries]
    assert names == sorted(names)
    assert {entry.date_time for entry in entries} == {FIXED_DATE} and {entry.compress_type for entry in entries} == {zipfile.ZIP_STORED}
    assert {"login_rotation.py", "database_roles.py", "rds-ca-ap-northeast.pem", "pg8000/native.py", "scramp/core.py"} <= set(names)
    assert not [name for name in names if name.endswith(".pyc") or "__pycache__" in name]
    shipped = [path.read_bytes() for path in synthesis.terraform_dir.glob("stacks/*-data/assets/*/*/*.zip")]
    assert shipped and all(content == first for content in shipped), "every environment ships the package built here"


def test_a_missing_dependency_install_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(rotation.MissingRotationPackage, match=r"not installed in .*: run `make install`"):
        rotation.package_files(site=rotation.ROOT / ".cache" / "absent-for-the-test")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_errors_of_the_function_notify_the_alarm_topic(env: str, synthesis: Synthesis) -> None:
    names = names_for(SPECS[env])
    _, function = _function(_data(synthesis, env))
    alarms = resources_of(synthesis.stack(f"{env}-observability"), "aws_cloudwatch_metric_alarm").values()
    (alarm,) = [alarm for alarm in alarms if alarm["alarm_name"] == names.alarm_name("db-login-rotation-errors")]
    assert (alarm["namespace"], alarm["metric_name"], alarm["statistic"]) == ("AWS/Lambda", "Errors", "Sum")
    assert alarm["dimensions"] == {"FunctionName": function["function_name"]}
    assert (alarm["comparison_operator"], alarm["threshold"], alarm["treat_missing_data"]) == ("GreaterThanThreshold", 0, "notBreaching")
    assert alarm["alarm_actions"] == alarm["ok_actions"] and len(alarm["alarm_actions"]) == 1


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_database_secrets_in_the_cluster_follow_awscurrent_within_the_refresh_interval(env: str, synthesis: Synthesis) -> None:
    spec, names = SPECS[env], names_for(SPECS[env])
    logins = {names.secret_name(purpose) for purpose in LOGINS}
    readers = ("database-secret", "database-migration-secret", names.database_bootstrap_secret.kubernetes_name)
    for name in readers:
        (external,) = synthesis.find(env, "ExternalSecret", name)
        body = external["spec"]
        assert body["refreshInterval"] == spec.secret_sync.database_refresh_interval
        refs = [item["remoteRef"] for item in body["data"]] + [item["extract"] for item in body.get("dataFrom", []) if "extract" in item]
        login_refs = [item for item in refs if item["key"] in logins]
        assert login_refs and all(item.get("version") == "AWSCURRENT" for item in login_refs), name
    # The previous login keeps working for one rotation period: the pods must have the new one well before.
    refresh = spec.secret_sync.database_refresh_interval
    assert refresh.endswith("m") and int(refresh.removesuffix("m")) * 60 < 7 * 24 * 3600
