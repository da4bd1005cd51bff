"""`<env>-security`: the trail, the CIS metric filters and alarms, GuardDuty and posture checks."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest

from envspec import names_for
from stacks.security.cis_filters import CIS_FILTERS
from stacks.security.guardduty import finding_pattern
from tests.cloudwatch_filter import matches
from tests.conftest import ENVIRONMENTS, SPECS, Synthesis, data_of, only, resources_of


def _stack(synthesis: Synthesis, env: str) -> dict[str, Any]:
    return synthesis.stack(f"{env}-security")


def _statements(stack: dict[str, Any], sid: str) -> list[dict[str, Any]]:
    found = [
        statement
        for document in data_of(stack, "aws_iam_policy_document").values()
        for statement in document["statement"]
        if statement.get("sid") == sid
    ]
    assert found, sid
    return found


def _conditions(statement: dict[str, Any]) -> dict[tuple[str, str], list[str]]:
    return {(item["test"], item["variable"]): item["values"] for item in statement.get("condition", [])}


# --- Audit trail ---------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_trail_is_multi_region_validated_encrypted_and_delivered_to_logs(env: str, synthesis: Synthesis) -> None:
    stack = _stack(synthesis, env)
    trail = only(resources_of(stack, "aws_cloudtrail"))
    assert trail["is_multi_region_trail"] is True and trail["include_global_service_events"] is True
    assert trail["enable_log_file_validation"] is True
    assert trail["kms_key_id"].startswith("${aws_kms_key.") and trail["kms_key_id"].endswith(".arn}")
    # CloudTrail wants the log group ARN with the `:*` suffix (CloudTrail API, CloudWatchLogsLogGroupArn).
    assert trail["cloud_watch_logs_group_arn"].endswith(".arn}:*")
    assert trail["name"] == names_for(SPECS[env]).trail


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_trail_bucket_is_object_locked_by_the_profile(env: str, synthesis: Synthesis) -> None:
    """S3 Object Lock must be enabled when the bucket is created, and the default retention applies
    to every new log file (S3 user guide, "Locking objects with Object Lock")."""
    spec, stack = SPECS[env], _stack(synthesis, env)
    names = names_for(spec)
    (bucket,) = [b for b in resources_of(stack, "aws_s3_bucket").values() if b["bucket"] == names.trail_bucket]
    assert bucket["object_lock_enabled"] is True
    retention = only(resources_of(stack, "aws_s3_bucket_object_lock_configuration"))["rule"]["default_retention"]
    assert retention == {"mode": spec.security.trail_lock_mode, "days": spec.security.trail_retention_days}
    assert retention["mode"] == ("COMPLIANCE" if spec.is_production else "GOVERNANCE")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cloudtrail_may_use_the_key_only_for_this_trail(env: str, synthesis: Synthesis) -> None:
    """CloudTrail user guide, "Configure AWS KMS key policies for CloudTrail": the encrypt statement is
    limited by `aws:SourceArn` (the trail) and `kms:EncryptionContext:aws:cloudtrail:arn`."""
    names = names_for(SPECS[env])
    (statement,) = _statements(_stack(synthesis, env), "CloudTrailEncryptsThisTrailsLogs")
    assert statement["principals"] == [{"type": "Service", "identifiers": ["cloudtrail.amazonaws.com"]}]
    assert statement["actions"] == ["kms:GenerateDataKey*"]
    conditions = _conditions(statement)
    assert conditions[("StringEquals", "aws:SourceArn")] == [names.trail_arn]
    assert conditions[("StringLike", "kms:EncryptionContext:aws:cloudtrail:arn")] == [f"arn:aws:cloudtrail:*:{names.account}:trail/*"]
    (write,) = _statements(_stack(synthesis, env), "CloudTrailWritesLogFiles")
    assert write["resources"] == [f"arn:aws:s3:::{names.trail_bucket}/AWSLogs/{names.account}/*"]
    assert _conditions(write)[("StringEquals", "aws:SourceArn")] == [names.trail_arn]


# --- CIS metric filters --------------------------------------------------------------------------


def _event(name: str, source: str, **extra: Any) -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "eventName": name,
        "eventSource": source,
        "eventType": "AwsApiCall",
        "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::111111111111:assumed-role/admin/someone"},
        **extra,
    }


# Sample CloudTrail records (CloudTrail user guide, "CloudTrail record contents"), each with the filters
# it must match: the positives of every control and near misses (reads, successful sign-ins, service calls).
SAMPLES: list[tuple[str, dict[str, Any], set[str]]] = [
    ("root console sign-in", _event("ConsoleLogin", "signin.amazonaws.com", eventType="AwsConsoleSignIn",
                                    userIdentity={"type": "Root"}, responseElements={"ConsoleLogin": "Success"}),
     {"root-account-usage"}),
    ("root API call", _event("ListBuckets", "s3.amazonaws.com", userIdentity={"type": "Root"}), {"root-account-usage"}),
    ("service acting for root", _event("ListBuckets", "s3.amazonaws.com",
                                       userIdentity={"type": "Root", "invokedBy": "support.amazonaws.com"}), set()),
    ("AWS service event", _event("RotateKey", "kms.amazonaws.com", eventType="AwsServiceEvent", userIdentity={"type": "Root"}), set()),
    ("inline role policy", _event("PutRolePolicy", "iam.amazonaws.com"), {"iam-policy-changes"}),
    ("managed policy attached", _event("AttachRolePolicy", "iam.amazonaws.com"), {"iam-policy-changes"}),
    ("new policy version", _event("CreatePolicyVersion", "iam.amazonaws.com"), {"iam-policy-changes"}),
    ("role created (no policy change)", _event("CreateRole", "iam.amazonaws.com"), set()),
    ("policy read", _event("GetRolePolicy", "iam.amazonaws.com"), set()),
    ("trail stopped", _event("StopLogging", "cloudtrail.amazonaws.com"), {"cloudtrail-changes"}),
    ("trail updated", _event("UpdateTrail", "cloudtrail.amazonaws.com"), {"cloudtrail-changes"}),
    ("trail status read", _event("GetTrailStatus", "cloudtrail.amazonaws.com"), set()),
    ("failed sign-in", _event("ConsoleLogin", "signin.amazonaws.com", eventType="AwsConsoleSignIn",
                              errorMessage="Failed authentication", responseElements={"ConsoleLogin": "Failure"}),
     {"console-sign-in-failures"}),
    ("successful sign-in", _event("ConsoleLogin", "signin.amazonaws.com", eventType="AwsConsoleSignIn",
                                  responseElements={"ConsoleLogin": "Success"}), set()),
    ("key deletion scheduled", _event("ScheduleKeyDeletion", "kms.amazonaws.com"), {"kms-key-deletion"}),
    ("key disabled", _event("DisableKey", "kms.amazonaws.com"), {"kms-key-deletion"}),
    ("key created", _event("CreateKey", "kms.amazonaws.com"), set()),
    ("ingress rule added", _event("AuthorizeSecurityGroupIngress", "ec2.amazonaws.com"), {"security-group-changes"}),
    ("security group deleted", _event("DeleteSecurityGroup", "ec2.amazonaws.com"), {"security-group-changes"}),
    ("security groups listed", _event("DescribeSecurityGroups", "ec2.amazonaws.com"), set()),
    ("NACL entry replaced", _event("ReplaceNetworkAclEntry", "ec2.amazonaws.com"), {"network-acl-changes"}),
    ("NACL association replaced", _event("ReplaceNetworkAclAssociation", "ec2.amazonaws.com"), {"network-acl-changes"}),
    ("route created", _event("CreateRoute", "ec2.amazonaws.com"), set()),
]  # fmt: skip


@pytest.mark.parametrize(("case", "event", "expected"), SAMPLES, ids=[case for case, _, _ in SAMPLES])
def test_each_cis_filter_matches_exactly_its_events(case: str, event: dict[str, Any], expected: set[str]) -> None:
    """The patterns are Security Hub's (CloudWatch.1/.4/.5/.6/.7/.10/.11); evaluated with CloudWatch Logs'
    JSON filter semantics (tests/cloudwatch_filter.py)."""
    assert {item.purpose for item in CIS_FILTERS if matches(item.pattern, event)} == expected


def test_the_evaluator_is_not_vacuous() -> None:
    assert matches('{ $.a = "x" && $.b NOT EXISTS }', {"a": "x"})
    assert not matches('{ $.a = "x" && $.b NOT EXISTS }', {"a": "x", "b": 1})
    assert not matches("{ $.a != y }", {})  # no property: no match
    assert matches("{ ($.a = y) || ($.a = z) }", {"a": "z"})


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_cis_filter_has_an_alarm_that_notifies_the_alarm_topic(env: str, synthesis: Synthesis) -> None:
    names, stack = names_for(SPECS[env]), _stack(synthesis, env)
    filters = {f["name"]: f for f in resources_of(stack, "aws_cloudwatch_log_metric_filter").values()}
    assert set(filters) == {item.purpose for item in CIS_FILTERS}
    topic = only(data_of(stack, "aws_sns_topic"))
    assert topic["name"] == names.alarm_topic
    alarms = {a["alarm_name"]: a for a in resources_of(stack, "aws_cloudwatch_metric_alarm").values()}
    for item in CIS_FILTERS:
        metric_filter = filters[item.purpose]
        assert metric_filter["pattern"] == item.pattern
        assert metric_filter["log_group_name"].startswith("${aws_cloudwatch_log_group.")
        transformation = metric_filter["metric_transformation"]
        alarm = alarms[names.alarm_name(item.purpose)]
        assert (alarm["namespace"], alarm["metric_name"]) == (transformation["namespace"], transformation["name"])
        assert alarm["threshold"] == 1 and alarm["comparison_operator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["statistic"] == "Sum" and alarm["treat_missing_data"] == "notBreaching"
        assert alarm["alarm_actions"] == ["${data.aws_sns_topic.alarm_topic.arn}"]
        # The observability topic admits CloudWatch for alarms named with the environment prefix only.
        assert fnmatch.fnmatch(f"arn:aws:cloudwatch:{names.region}:{names.account}:alarm:{alarm['alarm_name']}", names.alarm_arn_pattern)


# --- GuardDuty -----------------------------------------------------------------------------------


def _numeric_matches(rule: list[Any], value: float) -> bool:
    """EventBridge numeric matching (EventBridge user guide, "Numeric matching"): [op, number, ...]."""
    operators = {">=": value.__ge__, ">": value.__gt__, "<=": value.__le__, "<": value.__lt__, "=": value.__eq__}
    return all(operators[rule[index]](rule[index + 1]) for index in range(0, len(rule), 2))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_guardduty_watches_eks_runtime_s3_and_rds(env: str, synthesis: Synthesis) -> None:
    stack = _stack(synthesis, env)
    detector = only(resources_of(stack, "aws_guardduty_detector"))
    assert detector["enable"] is True and "datasources" not in detector
    features = {f["name"]: f for f in resources_of(stack, "aws_guardduty_detector_feature").values()}
    assert set(features) == {"EKS_AUDIT_LOGS", "RUNTIME_MONITORING", "S3_DATA_EVENTS", "RDS_LOGIN_EVENTS"}
    assert all(feature["status"] == "ENABLED" for feature in features.values())
    # The agent managed by GuardDuty (it installs the EKS add-on and the guardduty-data endpoint).
    assert features["RUNTIME_MONITORING"]["additional_configuration"] == [{"name": "EKS_ADDON_MANAGEMENT", "status": "ENABLED"}]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_medium_and_higher_findings_reach_the_alarm_topic(env: str, synthesis: Synthesis) -> None:
    """GuardDuty severities: Low 1.0-3.9, Medium 4.0-6.9, High 7.0-8.9 (GuardDuty user guide,
    "Severity levels of GuardDuty findings"). The rule's name is inside the topic policy's
    `aws:SourceArn` pattern for EventBridge (stacks/observability/topic.py)."""
    names, stack = names_for(SPECS[env]), _stack(synthesis, env)
    rule = only(resources_of(stack, "aws_cloudwatch_event_rule"))
    pattern = json.loads(rule["event_pattern"])
    assert pattern == finding_pattern(4.0)
    numeric = pattern["detail"]["severity"][0]["numeric"]
    assert [severity for severity in (1.0, 3.9, 4.0, 5.5, 7.0, 8.9) if _numeric_matches(numeric, severity)] == [4.0, 5.5, 7.0, 8.9]
    target = only(resources_of(stack, "aws_cloudwatch_event_target"))
    assert target["arn"] == "${data.aws_sns_topic.alarm_topic.arn}"
    assert fnmatch.fnmatch(f"arn:aws:events:{names.region}:{names.account}:rule/{rule['name']}", names.event_rule_arn_pattern)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_alarm_topic_admits_the_environments_event_rules(env: str, synthesis: Synthesis) -> None:
    """An EventBridge rule can publish to an SNS topic only if the topic policy allows
    events.amazonaws.com, and to an encrypted topic only if the key policy lets it use the key
    (EventBridge user guide, "Amazon SNS permissions")."""
    names = names_for(SPECS[env])
    observability = synthesis.stack(f"{env}-observability")
    (publish,) = _statements(observability, "EventBridgeRulesPublish")
    assert publish["principals"] == [{"type": "Service", "identifiers": ["events.amazonaws.com"]}]
    assert _conditions(publish)[("ArnLike", "aws:SourceArn")] == [names.event_rule_arn_pattern]
    (key,) = _statements(observability, "EventBridgeRulesPublishToTheEncryptedTopics")
    assert set(key["actions"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}


# --- Posture -------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_security_hub_and_config_follow_the_spec(env: str, synthesis: Synthesis) -> None:
    spec, stack = SPECS[env], _stack(synthesis, env)
    hubs = resources_of(stack, "aws_securityhub_account")
    recorders = resources_of(stack, "aws_config_configuration_recorder")
    assert bool(hubs) is bool(recorders) is spec.security.posture_checks
    assert spec.security.posture_checks is (spec.profile in ("staging", "production"))
    if not spec.security.posture_checks:
        return
    assert only(hubs)["enable_default_standards"] is False
    standards = sorted(s["standards_arn"] for s in resources_of(stack, "aws_securityhub_standards_subscription").values())
    assert standards == [
        f"arn:aws:securityhub:{spec.aws.region}::standards/aws-foundational-security-best-practices/v/1.0.0",
        f"arn:aws:securityhub:{spec.aws.region}::standards/cis-aws-foundations-benchmark/v/1.4.0",
    ]
    recorder = only(recorders)
    assert recorder["recording_group"] == {"all_supported": True, "include_global_resource_types": True}
    assert only(resources_of(stack, "aws_config_configuration_recorder_status"))["is_enabled"] is True
    assert only(resources_of(stack, "aws_config_delivery_channel"))["s3_kms_key_arn"].startswith("${aws_kms_key.")
