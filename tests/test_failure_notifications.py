"""Backup failures, RDS events and alarms reach on-call: the rules the publishing services apply.

Each publisher needs two grants, and both are evaluated here against the request the service makes:
- the topic policy must allow `sns:Publish` to the service principal; the services send
  `aws:SourceAccount` and `aws:SourceArn` (the alarm, the EventBridge rule, the DB instance):
  EventBridge User Guide, "Using resource-based policies for Amazon EventBridge" (Amazon SNS
  permissions, SourceArn the rule); RDS User Guide, "Granting permissions to publish notifications to
  an Amazon SNS topic" (principal events.rds.amazonaws.com, SourceArn the RDS resource); AWS Backup
  Developer Guide, "Notification options with AWS Backup" (principal backup.amazonaws.com);
- the key of an encrypted topic must allow the same principal `kms:GenerateDataKey*` and
  `kms:Decrypt` (SNS Developer Guide, "Enable compatibility between event sources from AWS services and
  encrypted topics"), SNS calling KMS with encryption context `aws:sns:topicArn`.
Before this change only CloudWatch could publish, and backup jobs and RDS events notified nobody.

The EventBridge pattern is matched against AWS Backup's documented events ("Monitoring AWS Backup
events using EventBridge": detail-type "Backup Job State Change"/"Copy Job State Change",
`detail.state`), with EventBridge's matching rule (every field of the pattern must match one of its
listed values; fields the pattern does not name are ignored).
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest

from envspec import names_for
from stacks.observability.events import BACKUP_FAILED_STATES
from tests.conftest import ENVIRONMENTS, SPECS, Synthesis, data_of, ref, resources_of
from tests.iam_eval import allowed

# RDS User Guide, "Amazon RDS event categories and event messages", DB instance events.
RDS_INSTANCE_CATEGORIES = {
    "availability",
    "backup",
    "configuration change",
    "creation",
    "deletion",
    "failover",
    "failure",
    "low storage",
    "maintenance",
    "notification",
    "read replica",
    "recovery",
    "restoration",
    "security patching",
}
# AWS Backup API Reference, BackupVaultEvents.
BACKUP_VAULT_EVENTS = {
    "BACKUP_JOB_STARTED",
    "BACKUP_JOB_COMPLETED",
    "COPY_JOB_STARTED",
    "COPY_JOB_SUCCESSFUL",
    "COPY_JOB_FAILED",
    "RESTORE_JOB_STARTED",
    "RESTORE_JOB_COMPLETED",
    "RECOVERY_POINT_MODIFIED",
    "S3_BACKUP_OBJECT_FAILED",
    "S3_RESTORE_OBJECT_FAILED",
}


def _stack(synthesis: Synthesis, env: str) -> dict[str, Any]:
    return synthesis.stack(f"{env}-observability")


def _allowed(statements: list[dict[str, Any]], service: str, action: str, resource: str, context: dict[str, str]) -> bool:
    return allowed(statements, service, action, resource, context)


def _topics(synthesis: Synthesis, env: str) -> dict[str, tuple[str, list[dict[str, Any]]]]:
    """Topic name -> (logical id, its policy statements with the topic's real ARN as resource)."""
    stack, names = _stack(synthesis, env), names_for(SPECS[env])
    documents = data_of(stack, "aws_iam_policy_document")
    topics = {}
    for policy in resources_of(stack, "aws_sns_topic_policy").values():
        logical_id = ref(policy["arn"])
        name = resources_of(stack, "aws_sns_topic")[logical_id]["name"]
        arn, token = names.topic_arn(name), f"${{aws_sns_topic.{logical_id}.arn}}"
        statements = [
            {**statement, "resources": [arn if r == token else r for r in statement["resources"]]}
            for statement in documents[ref(policy["policy"])]["statement"]
        ]
        topics[name] = (logical_id, statements)
    return topics


def _key_statements(synthesis: Synthesis, env: str) -> list[dict[str, Any]]:
    stack = _stack(synthesis, env)
    (key,) = resources_of(stack, "aws_kms_key").values()
    return data_of(stack, "aws_iam_policy_document")[ref(key["policy"])]["statement"]


def _publishers(env: str) -> dict[str, tuple[str, dict[str, str]]]:
    """What each service sends when it publishes on behalf of this environment: principal, context."""
    names = names_for(SPECS[env])
    account, region = names.account, names.region
    return {
        "alarm": ("cloudwatch.amazonaws.com", {"aws:SourceArn": f"arn:aws:cloudwatch:{region}:{account}:alarm:{names.prefix}-rds-cpu"}),
        "backup rule": (
            "events.amazonaws.com",
            {"aws:SourceArn": f"arn:aws:events:{region}:{account}:rule/{names.prefix}-backup-job-failures"},
        ),
        "rds event": ("events.rds.amazonaws.com", {"aws:SourceArn": names.database_arn}),
        "vault notification": ("backup.amazonaws.com", {}),
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_publisher_may_publish_to_the_alarm_topic_and_use_its_key(env: str, synthesis: Synthesis) -> None:
    names = names_for(SPECS[env])
    topics, key = _topics(synthesis, env), _key_statements(synthesis, env)
    _, alarm_statements = topics[names.alarm_topic]
    _, notice_statements = topics[names.notice_topic]
    topic_arn = names.topic_arn(names.alarm_topic)
    for what, (service, sent) in _publishers(env).items():
        context = {"aws:SourceAccount": names.account, "aws:SecureTransport": "true", **sent}
        assert _allowed(alarm_statements, service, "sns:Publish", topic_arn, context), f"{what} cannot publish"
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            kms_context = {**context, "kms:EncryptionContext:aws:sns:topicArn": topic_arn}
            assert _allowed(key, service, action, "*", kms_context), f"{what} cannot {action} on the topic key"
        # Another account's resource of the same service, the confused deputy, is refused.
        foreign = {**context, "aws:SourceAccount": "999999999999"}
        assert not _allowed(alarm_statements, service, "sns:Publish", topic_arn, foreign), what
        assert not _allowed(key, service, "kms:GenerateDataKey", "*", {**foreign, "kms:EncryptionContext:aws:sns:topicArn": topic_arn})
    # Source ARNs of another environment's rule or database are refused too.
    other = names_for(SPECS["production" if env != "production" else "staging"])
    assert not _allowed(
        alarm_statements,
        "events.rds.amazonaws.com",
        "sns:Publish",
        topic_arn,
        {"aws:SourceAccount": names.account, "aws:SourceArn": other.database_arn},
    )
    # The key serves these topics only.
    assert not _allowed(
        key,
        "cloudwatch.amazonaws.com",
        "kms:Decrypt",
        "*",
        {
            **_publishers(env)["alarm"][1],
            "aws:SourceAccount": names.account,
            "kms:EncryptionContext:aws:sns:topicArn": f"{topic_arn}-other",
        },
    )
    # The notice topic takes RDS events only.
    rds_service, rds_context = _publishers(env)["rds event"]
    notice_arn = names.topic_arn(names.notice_topic)
    assert _allowed(notice_statements, rds_service, "sns:Publish", notice_arn, {"aws:SourceAccount": names.account, **rds_context})
    assert not _allowed(notice_statements, "cloudwatch.amazonaws.com", "sns:Publish", notice_arn, {"aws:SourceAccount": names.account})


def _matches(pattern: Any, event: Any) -> bool:
    if isinstance(pattern, dict):
        return isinstance(event, dict) and all(key in event and _matches(value, event[key]) for key, value in pattern.items())
    return event in pattern


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_failed_backup_and_copy_jobs_reach_the_alarm_topic(env: str, synthesis: Synthesis) -> None:
    stack, names = _stack(synthesis, env), names_for(SPECS[env])
    ((rule_id, rule),) = resources_of(stack, "aws_cloudwatch_event_rule").items()
    (target,) = resources_of(stack, "aws_cloudwatch_event_target").values()
    assert fnmatch.fnmatchcase(
        f"arn:aws:events:{names.region}:{names.account}:rule/{rule['name']}", _publishers(env)["backup rule"][1]["aws:SourceArn"]
    )
    pattern = json.loads(rule["event_pattern"])
    for detail_type in ("Backup Job State Change", "Copy Job State Change"):
        for state, expected in (("FAILED", True), ("ABORTED", True), ("EXPIRED", True), ("COMPLETED", False), ("RUNNING", False)):
            event = {"source": "aws.backup", "detail-type": detail_type, "detail": {"state": state, "backupJobId": "j"}}
            assert _matches(pattern, event) is expected, (detail_type, state)
    assert not _matches(pattern, {"source": "aws.rds", "detail-type": "Backup Job State Change", "detail": {"state": "FAILED"}})
    assert set(BACKUP_FAILED_STATES) <= {
        "CREATED",
        "PENDING",
        "RUNNING",
        "ABORTING",
        "ABORTED",
        "COMPLETED",
        "FAILED",
        "EXPIRED",
        "PARTIAL",
    }
    (alarm_id,) = [k for k, t in resources_of(stack, "aws_sns_topic").items() if t["name"] == names.alarm_topic]
    assert target["rule"] == f"${{aws_cloudwatch_event_rule.{rule_id}.name}}" and target["arn"] == f"${{aws_sns_topic.{alarm_id}.arn}}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_rds_events_of_the_instance_page_or_warn(env: str, synthesis: Synthesis) -> None:
    stack, names = _stack(synthesis, env), names_for(SPECS[env])
    topic_names = {f"${{aws_sns_topic.{k}.arn}}": t["name"] for k, t in resources_of(stack, "aws_sns_topic").items()}
    routed = {}
    for subscription in resources_of(stack, "aws_db_event_subscription").values():
        assert subscription["source_type"] == "db-instance" and subscription["source_ids"] == [names.database_identifier]
        assert set(subscription["event_categories"]) <= RDS_INSTANCE_CATEGORIES
        routed[topic_names[subscription["sns_topic"]]] = set(subscription["event_categories"])
    assert routed == {
        names.alarm_topic: {"failover", "failure", "low storage"},
        names.notice_topic: {"maintenance", "notification"},
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_vaults_report_s3_object_failures_to_the_alarm_topic(env: str, synthesis: Synthesis) -> None:
    backup, names = synthesis.stack(f"{env}-backup"), names_for(SPECS[env])
    assert {topic["name"] for topic in data_of(backup, "aws_sns_topic").values()} == {names.alarm_topic}
    notifications = resources_of(backup, "aws_backup_vault_notifications").values()
    vaults = {f"${{aws_backup_vault.{k}.name}}" for k, v in resources_of(backup, "aws_backup_vault").items() if "provider" not in v}
    assert {n["backup_vault_name"] for n in notifications} == vaults
    for notification in notifications:
        assert set(notification["backup_vault_events"]) == {"S3_BACKUP_OBJECT_FAILED", "S3_RESTORE_OBJECT_FAILED"}
        assert set(notification["backup_vault_events"]) <= BACKUP_VAULT_EVENTS


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_forwarder_reads_only_alertmanagers_receiver_secrets(env: str, synthesis: Synthesis) -> None:
    """Same receivers as the cluster's alerts: the secrets the Alertmanager ExternalSecrets read, by
    name, and nothing else; the function's configuration holds names, never values."""
    stack, names = _stack(synthesis, env), names_for(SPECS[env])
    (function,) = resources_of(stack, "aws_lambda_function").values()
    statements = data_of(stack, "aws_iam_policy_document")
    role_id = ref(function["role"])
    (policy,) = [p for p in resources_of(stack, "aws_iam_role_policy").values() if ref(p["role"]) == role_id]
    permissions = statements[ref(policy["policy"])]["statement"]
    # Slack, and PagerDuty where the environment pages; not the heartbeat URL, which only Alertmanager calls.
    receivers = sorted(binding.remote_name for binding in (names.slack_secret, names.pagerduty_secret) if binding)
    (read,) = [s for s in permissions if "secretsmanager:GetSecretValue" in s["actions"]]
    assert read["actions"] == ["secretsmanager:GetSecretValue"]
    assert sorted(read["resources"]) == sorted(names.secret_arn(name) for name in receivers)
    (decrypt,) = [s for s in permissions if s["sid"] == "DecryptReceiverCredentialsThroughSecretsManager"]
    assert {c["variable"] for c in decrypt["condition"]} == {"kms:ViaService", "kms:EncryptionContext:SecretARN"}
    variables = function["environment"]["variables"]
    assert sorted(value for value in (variables.get("PAGERDUTY_SECRET_ID"), variables["SLACK_SECRET_ID"]) if value) == receivers
    subscribed = {s["topic_arn"] for s in resources_of(stack, "aws_sns_topic_subscription").values() if s["protocol"] == "lambda"}
    assert subscribed == {f"${{aws_sns_topic.{k}.arn}}" for k in resources_of(stack, "aws_sns_topic")}
    permissions_to_invoke = resources_of(stack, "aws_lambda_permission").values()
    assert {p["source_arn"] for p in permissions_to_invoke} == subscribed
    assert {p["principal"] for p in permissions_to_invoke} == {"sns.amazonaws.com"}
