"""`<env>-backup`: the copies behind the recovery point objective, per environment, as synthesized."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from envspec import SpecError, load_environments, names_for
from tests.conftest import ENVIRONMENTS, ROOT, SPECS, Synthesis, data_of, resources_of

CROSS_REGION = [env for env in ENVIRONMENTS if SPECS[env].backup.cross_region]


def _stack(synthesis: Synthesis, env: str) -> dict[str, Any]:
    return synthesis.stack(f"{env}-backup")


def _one(stack: dict[str, Any], resource_type: str, **match: Any) -> tuple[str, dict[str, Any]]:
    found = [(key, item) for key, item in resources_of(stack, resource_type).items() if all(item.get(k) == v for k, v in match.items())]
    assert len(found) == 1, f"{resource_type} {match}: {len(found)} found"
    return found[0]


def _key_of_alias(stack: dict[str, Any], alias: str) -> str:
    (target,) = [item["target_key_id"] for item in resources_of(stack, "aws_kms_alias").values() if item["name"] == alias]
    return target.split(".")[1]  # ${aws_kms_key.<id>.key_id}


def _policy(stack: dict[str, Any], reference: str) -> dict[str, Any]:
    return data_of(stack, "aws_iam_policy_document")[reference.split(".")[2]]


@pytest.mark.parametrize("env", CROSS_REGION)
def test_database_backups_are_replicated_to_the_dr_region_with_their_own_key(env: str, synthesis: Synthesis) -> None:
    stack, spec, names = _stack(synthesis, env), SPECS[env], names_for(SPECS[env])
    (replication,) = resources_of(stack, "aws_db_instance_automated_backups_replication").values()
    dr_key = _key_of_alias(stack, names.kms_alias("backup-dr"))
    assert replication == {
        "//": replication["//"],
        "provider": "aws.dr",
        "source_db_instance_arn": f"arn:aws:rds:{spec.aws.region}:{spec.aws.account_id}:db:ai-subsidy-{env}",
        "kms_key_id": f"${{aws_kms_key.{dr_key}.arn}}",
        "retention_period": spec.database.backup_retention_days,
    }
    assert resources_of(stack, "aws_kms_key")[dr_key]["provider"] == "aws.dr"
    assert resources_of(stack, "aws_kms_key")[dr_key]["enable_key_rotation"] is True
    dr_provider = [item for item in stack["provider"]["aws"] if item.get("alias") == "dr"]
    assert [item["region"] for item in dr_provider] == ["ap-northeast-3"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_vaults_are_encrypted_and_locked_where_the_spec_says(env: str, synthesis: Synthesis) -> None:
    stack, spec, names = _stack(synthesis, env), SPECS[env], names_for(SPECS[env])
    vaults = resources_of(stack, "aws_backup_vault")
    primary_key = _key_of_alias(stack, names.kms_alias("backup"))
    expected = {(names.backup_vault, None)} | ({(names.backup_frequent_vault, None)} if spec.backup.snapshot_schedule else set())
    if spec.backup.cross_region:
        expected.add((names.backup_vault, "aws.dr"))
    assert {(vault["name"], vault.get("provider")) for vault in vaults.values()} == expected
    for vault in vaults.values():
        key = primary_key if vault.get("provider") is None else _key_of_alias(stack, names.kms_alias("backup-dr"))
        assert vault["kms_key_arn"] == f"${{aws_kms_key.{key}.arn}}"
    locks = resources_of(stack, "aws_backup_vault_lock_configuration").values()
    if not spec.backup.vault_lock:
        assert not locks
        return
    by_vault = {vaults[lock["backup_vault_name"].split(".")[1]]["name"] + str(lock.get("provider")): lock for lock in locks}
    assert by_vault[names.backup_vault + "None"]["min_retention_days"] == spec.backup.snapshot_retention_days
    assert by_vault[names.backup_vault + "aws.dr"]["min_retention_days"] == spec.backup.copy_retention_days
    assert all(lock["changeable_for_days"] == 3 for lock in locks)  # compliance mode after three days
    assert names.backup_frequent_vault + "None" not in by_vault


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_plan_snapshots_daily_and_frequently_with_the_specs_retention(env: str, synthesis: Synthesis) -> None:
    stack, spec, names = _stack(synthesis, env), SPECS[env], names_for(SPECS[env])
    (plan,) = resources_of(stack, "aws_backup_plan").values()
    vault_ids = {item["name"] + str(item.get("provider")): key for key, item in resources_of(stack, "aws_backup_vault").items()}
    rules = {rule["rule_name"]: rule for rule in plan["rule"]}
    daily = rules["daily"]
    assert daily["schedule"] == "cron(0 18 * * ? *)"
    assert daily["target_vault_name"] == f"${{aws_backup_vault.{vault_ids[names.backup_vault + 'None']}.name}}"
    assert daily["lifecycle"] == {"delete_after": spec.backup.snapshot_retention_days}
    if spec.backup.cross_region:
        assert daily["copy_action"] == [
            {
                "destination_vault_arn": f"${{aws_backup_vault.{vault_ids[names.backup_vault + 'aws.dr']}.arn}}",
                "lifecycle": {"delete_after": spec.backup.copy_retention_days},
            }
        ]
    else:
        assert "copy_action" not in daily
    if spec.backup.snapshot_schedule:
        frequent = rules["frequent"]
        assert frequent["schedule"] == spec.backup.snapshot_schedule
        assert frequent["lifecycle"] == {"delete_after": spec.backup.frequent_snapshot_retention_days}
        assert frequent["target_vault_name"] == f"${{aws_backup_vault.{vault_ids[names.backup_frequent_vault + 'None']}.name}}"
        assert "copy_action" not in frequent
    else:
        assert set(rules) == {"daily"}


def test_production_snapshots_hourly_and_keeps_the_rds_snapshot_count_under_the_quota() -> None:
    backup = SPECS["production"].backup
    assert backup.snapshot_schedule == "cron(0 * * * ? *)"
    assert 24 * backup.frequent_snapshot_retention_days + backup.snapshot_retention_days < 100


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_selection_is_by_the_agreed_tag_with_the_backup_service_role(env: str, synthesis: Synthesis) -> None:
    stack, spec, names = _stack(synthesis, env), SPECS[env], names_for(SPECS[env])
    (selection,) = resources_of(stack, "aws_backup_selection").values()
    key, value = names.backup_selection_tag
    assert selection["condition"] == [{"string_equals": [{"key": f"aws:ResourceTag/{key}", "value": value}]}]
    assert selection["resources"] == [f"arn:aws:rds:ap-northeast-1:{spec.aws.account_id}:db:*", "arn:aws:s3:::*"]
    role_id, role = _one(stack, "aws_iam_role", name=names.backup_role)
    assert selection["iam_role_arn"] == f"${{aws_iam_role.{role_id}.arn}}"
    trust = _policy(stack, role["assume_role_policy"])
    assert trust["statement"][0]["principals"] == [{"type": "Service", "identifiers": ["backup.amazonaws.com"]}]
    attached = {item["policy_arn"].rsplit("/", 1)[1] for item in resources_of(stack, "aws_iam_role_policy_attachment").values()}
    assert attached == {
        "AWSBackupServiceRolePolicyForBackup",
        "AWSBackupServiceRolePolicyForRestores",
        "AWSBackupServiceRolePolicyForS3Backup",
        "AWSBackupServiceRolePolicyForS3Restore",
    }


@pytest.mark.parametrize("env", CROSS_REGION)
def test_files_replicate_to_a_versioned_dr_bucket_with_replication_time_control(env: str, synthesis: Synthesis) -> None:
    stack, names = _stack(synthesis, env), names_for(SPECS[env])
    (configuration,) = resources_of(stack, "aws_s3_bucket_replication_configuration").values()
    assert configuration["bucket"] == names.bucket("files")  # the data stack's bucket, by name
    replica_id, replica = _one(stack, "aws_s3_bucket", bucket=names.bucket("files-dr"))
    assert replica["provider"] == "aws.dr"
    dr_key = _key_of_alias(stack, names.kms_alias("backup-dr"))
    (rule,) = configuration["rule"]
    assert rule["id"] == names.files_replication_rule and rule["status"] == "Enabled"
    assert rule["delete_marker_replication"] == {"status": "Enabled"}
    assert rule["source_selection_criteria"] == {"sse_kms_encrypted_objects": {"status": "Enabled"}}
    assert rule["destination"] == {
        "bucket": f"${{aws_s3_bucket.{replica_id}.arn}}",
        "storage_class": "STANDARD",
        "encryption_configuration": {"replica_kms_key_id": f"${{aws_kms_key.{dr_key}.arn}}"},
        "replication_time": {"status": "Enabled", "time": {"minutes": 15}},
        "metrics": {"status": "Enabled", "event_threshold": {"minutes": 15}},
    }
    (versioning,) = [
        v for v in resources_of(stack, "aws_s3_bucket_versioning").values() if v["bucket"] == f"${{aws_s3_bucket.{replica_id}.id}}"
    ]
    assert versioning["versioning_configuration"] == {"status": "Enabled"} and versioning["provider"] == "aws.dr"
    (encryption,) = [
        e
        for e in resources_of(stack, "aws_s3_bucket_server_side_encryption_configuration").values()
        if e["bucket"].endswith(f"{replica_id}.id}}")
    ]
    assert encryption["rule"][0]["apply_server_side_encryption_by_default"]["kms_master_key_id"] == f"${{aws_kms_key.{dr_key}.arn}}"


@pytest.mark.parametrize("env", CROSS_REGION)
def test_the_replication_role_decrypts_only_through_the_data_key_alias(env: str, synthesis: Synthesis) -> None:
    stack, spec, names = _stack(synthesis, env), SPECS[env], names_for(SPECS[env])
    role_id, role = _one(stack, "aws_iam_role", name=names.files_replication_role)
    assert _policy(stack, role["assume_role_policy"])["statement"][0]["principals"][0]["identifiers"] == ["s3.amazonaws.com"]
    (policy,) = resources_of(stack, "aws_iam_role_policy").values()
    assert policy["role"] == f"${{aws_iam_role.{role_id}.id}}"
    statements = {item["sid"]: item for item in _policy(stack, policy["policy"])["statement"]}
    decrypt = statements["DecryptSourceWithTheDataKey"]
    assert decrypt["actions"] == ["kms:Decrypt"]
    assert {"test": "ForAnyValue:StringEquals", "variable": "kms:ResourceAliases", "values": [names.kms_alias("data")]} in decrypt[
        "condition"
    ]
    assert statements["ReadSourceVersions"]["resources"] == [f"{names.bucket_arn('files')}/*"]
    assert all(resource != "*" for item in statements.values() for resource in item.get("resources", []))
    assert spec.aws.account_id in decrypt["resources"][0]


@pytest.mark.parametrize("env", CROSS_REGION)
def test_replication_lag_is_alarmed_against_the_recovery_point_objective(env: str, synthesis: Synthesis) -> None:
    stack, spec, names = _stack(synthesis, env), SPECS[env], names_for(SPECS[env])
    _, latency = _one(stack, "aws_cloudwatch_metric_alarm", metric_name="ReplicationLatency")
    assert latency["threshold"] == spec.backup.recovery_point_objective_minutes * 60
    assert latency["dimensions"] == {
        "SourceBucket": names.bucket("files"),
        "DestinationBucket": names.bucket("files-dr"),
        "RuleId": names.files_replication_rule,
    }
    _, failures = _one(stack, "aws_cloudwatch_metric_alarm", metric_name="OperationsFailedReplication")
    (topic_id, topic) = next(iter(data_of(stack, "aws_sns_topic").items()))
    assert topic["name"] == names.alarm_topic  # the observability stack's topic, by name
    for alarm in (latency, failures):
        assert alarm["alarm_actions"] == alarm["ok_actions"] == [f"${{data.aws_sns_topic.{topic_id}.arn}}"]


def test_development_has_no_cross_region_copies(synthesis: Synthesis) -> None:
    stack = _stack(synthesis, "development")
    assert not SPECS["development"].backup.cross_region
    for resource_type in ("aws_db_instance_automated_backups_replication", "aws_s3_bucket_replication_configuration", "aws_s3_bucket"):
        assert not resources_of(stack, resource_type), resource_type
    assert all(item.get("alias") != "dr" for item in stack["provider"]["aws"])


def test_a_bad_snapshot_schedule_is_refused_with_one_clear_error(tmp_path: Path) -> None:
    directory = tmp_path / "environments"
    shutil.copytree(ROOT / "environments", directory)
    path = directory / "staging.yaml"
    path.write_text(path.read_text() + "backup:\n  snapshot_schedule: every hour\n")
    with pytest.raises(SpecError) as error:
        load_environments(directory)
    (problem,) = error.value.problems
    assert problem.field == "backup.snapshot_schedule"
    assert problem.reason == "'every hour' is not an AWS Backup schedule; use six cron fields in UTC, e.g. cron(0 * * * ? *) for hourly"
