"""The account's cost guardrails (observability stack): an AWS Budgets budget and Cost Anomaly Detection,
notifying the KMS-encrypted topics (the budget's actual overrun the alarm topic, its forecast and the
anomalies the notice topic: tests/test_cost_notifications.py), which must let those services publish
and use their key.

Rules of the real services encoded here:
- AWS Cost Management User Guide, "Creating an Amazon SNS topic for budget notifications"
  (https://docs.aws.amazon.com/cost-management/latest/userguide/budgets-sns-policy.html): the topic
  policy allows `budgets.amazonaws.com` `SNS:Publish`, with `aws:SourceAccount` and `aws:SourceArn`
  (`arn:aws:budgets::<account>:*`) conditions; an encrypted topic's key must allow the service
  `kms:GenerateDataKey*` and `kms:Decrypt`.
- The same guide, "Creating an Amazon SNS topic for anomaly notifications": `costalerts.amazonaws.com`.
- Cost Explorer API reference, AnomalySubscription, Frequency: "Notifications are sent either over
  email (for DAILY and WEEKLY frequencies) or SNS (for IMMEDIATE frequency)".
- The SDKs' endpoint rule sets (botocore `data/ce/*/endpoint-rule-set-1.json`, `data/budgets/...`, the
  same Smithy rules aws-sdk-go-v2 and so the Terraform provider use): both services resolve to one
  global endpoint signed for us-east-1 from any region, so the stack's ap-northeast-1 provider works.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from envspec import names_for
from tests.conftest import ENVIRONMENTS, SPECS, Synthesis, data_of, only, resources_of

SERVICES = {"budgets": "budgets.amazonaws.com", "costalerts": "costalerts.amazonaws.com"}


def _stack(synthesis: Synthesis, env: str) -> dict[str, Any]:
    return synthesis.stack(f"{env}-observability")


def _statements(stack: dict[str, Any], service: str) -> list[dict[str, Any]]:
    return [
        statement
        for document in data_of(stack, "aws_iam_policy_document").values()
        for statement in document["statement"]
        if {"type": "Service", "identifiers": [service]} in statement.get("principals", [])
    ]


def _conditions(statement: dict[str, Any]) -> dict[str, tuple[str, list[str]]]:
    return {condition["variable"]: (condition["test"], condition["values"]) for condition in statement.get("condition", [])}


def _topic_arn(stack: dict[str, Any], name: str) -> str:
    (logical_id,) = [key for key, topic in resources_of(stack, "aws_sns_topic").items() if topic["name"] == name]
    return f"${{aws_sns_topic.{logical_id}.arn}}"


def _alarm_topic_arn(stack: dict[str, Any], env: str) -> str:
    return _topic_arn(stack, names_for(SPECS[env]).alarm_topic)


def _notice_topic_arn(stack: dict[str, Any], env: str) -> str:
    return _topic_arn(stack, names_for(SPECS[env]).notice_topic)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_budget_amount_and_notifications_come_from_the_spec(env: str, synthesis: Synthesis) -> None:
    stack, settings = _stack(synthesis, env), SPECS[env].cost
    budget = only(resources_of(stack, "aws_budgets_budget"))
    assert (budget["budget_type"], budget["time_unit"], budget["limit_unit"]) == ("COST", "MONTHLY", "USD")
    assert budget["limit_amount"] == str(settings.monthly_budget_usd)
    assert "cost_filter" not in budget  # the environment's account is the environment
    notifications = {n["notification_type"]: n for n in budget["notification"]}
    assert notifications["FORECASTED"]["threshold"] == settings.forecast_alert_percent == 80
    assert notifications["ACTUAL"]["threshold"] == settings.actual_alert_percent == 100
    for notification in notifications.values():
        assert notification["threshold_type"] == "PERCENTAGE"
    assert notifications["FORECASTED"]["subscriber_sns_topic_arns"] == [_notice_topic_arn(stack, env)]
    assert notifications["ACTUAL"]["subscriber_sns_topic_arns"] == [_alarm_topic_arn(stack, env)]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_anomaly_subscription_reaches_the_topic_immediately_above_the_threshold(env: str, synthesis: Synthesis) -> None:
    stack = _stack(synthesis, env)
    monitor_id, monitor = next(iter(resources_of(stack, "aws_ce_anomaly_monitor").items()))
    assert (monitor["monitor_type"], monitor["monitor_dimension"]) == ("DIMENSIONAL", "SERVICE")
    subscription = only(resources_of(stack, "aws_ce_anomaly_subscription"))
    assert subscription["monitor_arn_list"] == [f"${{aws_ce_anomaly_monitor.{monitor_id}.arn}}"]
    assert subscription["subscriber"] == [{"type": "SNS", "address": _notice_topic_arn(stack, env)}]
    # SNS subscribers get notifications only at IMMEDIATE frequency (DAILY/WEEKLY: email only).
    assert subscription["frequency"] == "IMMEDIATE"
    assert "threshold" not in subscription  # deprecated in favour of threshold_expression
    dimension = subscription["threshold_expression"]["dimension"]
    assert dimension == {
        "key": "ANOMALY_TOTAL_IMPACT_ABSOLUTE",
        "match_options": ["GREATER_THAN_OR_EQUAL"],
        "values": [str(SPECS[env].cost.anomaly_threshold_usd)],
    }


def test_one_aws_services_monitor_per_account() -> None:
    """An account may have only one AWS-services (DIMENSIONAL SERVICE) monitor (AWS Cost Management User
    Guide, "Creating your cost monitors"): every environment lives in an account of its own."""
    accounts = [SPECS[env].aws.account_id for env in ENVIRONMENTS]
    assert len(accounts) == len(set(accounts))


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("service", sorted(SERVICES))
def test_topic_and_key_policies_let_the_service_publish_for_this_account_only(env: str, service: str, synthesis: Synthesis) -> None:
    stack, names = _stack(synthesis, env), names_for(SPECS[env])
    statements = _statements(stack, SERVICES[service])
    source_arn = names.budgets_source_arn_pattern if service == "budgets" else names.cost_explorer_source_arn_pattern
    publish = [s for s in statements if s["actions"] == ["sns:Publish"]]
    key = [s for s in statements if s["actions"] == ["kms:Decrypt", "kms:GenerateDataKey*"]]
    # Budgets notifies both topics (ACTUAL the alarms, FORECASTED the notices), anomalies the notices only.
    assert len(publish) == (2 if service == "budgets" else 1)
    assert len(key) == 1
    for statement in (*publish, *key):
        conditions = _conditions(statement)
        assert conditions["aws:SourceAccount"] == ("StringEquals", [names.account])
        assert conditions["aws:SourceArn"] == ("ArnLike", [source_arn])
    assert source_arn.startswith(f"arn:aws:{'budgets' if service == 'budgets' else 'ce'}::{names.account}:")
    assert _conditions(key[0])["kms:EncryptionContext:aws:sns:topicArn"][1] == [
        names.topic_arn(names.alarm_topic),
        names.topic_arn(names.notice_topic),
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_guardrails_wait_for_the_topic_policy(env: str, synthesis: Synthesis) -> None:
    stack = _stack(synthesis, env)
    policy_of = {value["arn"]: f"aws_sns_topic_policy.{key}" for key, value in resources_of(stack, "aws_sns_topic_policy").items()}
    notices = policy_of[_notice_topic_arn(stack, env)]
    for kind in ("aws_budgets_budget", "aws_ce_anomaly_subscription"):
        assert notices in only(resources_of(stack, kind))["depends_on"]
    assert policy_of[_alarm_topic_arn(stack, env)] in only(resources_of(stack, "aws_budgets_budget"))["depends_on"]


@pytest.mark.parametrize(
    ("service", "endpoint"), [("budgets", "https://budgets.amazonaws.com"), ("ce", "https://ce.us-east-1.amazonaws.com")]
)
def test_the_apis_are_global_so_the_stacks_region_reaches_them(service: str, endpoint: str) -> None:
    region = SPECS["production"].aws.region
    client = boto3.client(service, region_name=region, config=Config(signature_version=UNSIGNED))
    assert client.meta.endpoint_url == endpoint
    assert client._request_signer._region_name == "us-east-1"  # the signing region the endpoint rules chose
