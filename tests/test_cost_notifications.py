"""Where the cost notifications go, and what on-call reads of them.

A forecast over the budget and a cost anomaly are working-hours matters: they go to the notice topic
(Slack, severity warning). The month's actual cost past the budget is money being spent now: the alarm
topic (PagerDuty and Slack). The notice topic must then admit AWS Budgets and Cost Anomaly Detection the
way the alarm topic admits them (the same `Publisher` conditions, stacks/observability/topic.py), or
the services' publishes are refused and nothing arrives.

Message shapes the forwarder reads (its receivers here are the loopback HTTP server and moto's Secrets
Manager of tests/test_oncall_forwarder.py):
- Cost Anomaly Detection publishes JSON: the fields of the Anomaly object (Cost Explorer API reference,
  "Anomaly": AnomalyId, Impact.TotalImpact, DimensionValue, MonitorArn, RootCauses) in camelCase, as the
  Cost Management User Guide's example "Anomaly Detected" event shows them, plus `anomalyDetailsLink`;
  on SNS the dimension is `dimensionalValue` (the field mashiike/aws-cost-anomaly-slack-reactor's Anomaly
  type reads from the SNS message). The example below is that shape.
- AWS Budgets publishes text, not JSON: "AWS Budget Notification <date>", a "Dear AWS Customer"
  paragraph, then `Budget Name:`, `Budget Type:`, `Budgeted Amount:`, `Alert Type:`, `Alert Threshold:`,
  `Actual Amount:` lines, subject "AWS Budgets: <name> has exceeded your alert threshold" (as captured
  notifications quoted in public projects show it; the Budgets User Guide documents no schema for it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from envspec import names_for
from stacks.observability import oncall_forwarder
from tests.conftest import ENVIRONMENTS, SPECS, Synthesis, data_of, only, resources_of
from tests.test_oncall_forwarder import ALARM_TOPIC, NOTICE_TOPIC, _receivers, _sns_event

ANOMALY = {
    "accountId": "333333333333",
    "anomalyDetailsLink": "https://console.aws.amazon.com/cost-management/home#/anomaly-detection/monitors/abcdef12/anomalies/6de0dd1d",
    "anomalyEndDate": "2026-11-30T00:00:00Z",
    "anomalyId": "6de0dd1d-feb4-488a-a55d-ff130a7a285a",
    "anomalyScore": {"currentScore": 0.51, "maxScore": 0.67},
    "anomalyStartDate": "2026-11-28T00:00:00Z",
    "dimensionalValue": "Amazon Elastic Compute Cloud - Compute",
    "impact": {
        "maxImpact": 48.2,
        "totalActualSpend": 212.5,
        "totalExpectedSpend": 90.0,
        "totalImpact": 122.5,
        "totalImpactPercentage": 136.11,
    },
    "monitorArn": "arn:aws:ce::333333333333:anomalymonitor/abcdef12-1234-4ea0-84cc-918a97d736ef",
    "monitorName": "ai-subsidy-production-aws-services",
    "rootCauses": [
        {"service": "Amazon Elastic Compute Cloud - Compute", "region": "ap-northeast-1", "usageType": "APN1-BoxUsage:m6i.xlarge"}
    ],
    "subscriptionName": "ai-subsidy-production-aws-services",
}


def _budget_text(kind: str, amount: str) -> str:
    return (
        "AWS Budget Notification December 01, 2026\nAWS Account 333333333333\n\nDear AWS Customer,\n\n"
        f"You requested that we alert you when the {kind} Cost associated with your ai-subsidy-production-monthly budget is greater "
        "than $5,200.00 for the current month. You can find additional details below and by accessing the AWS Budgets dashboard [1].\n\n"
        "Budget Name: ai-subsidy-production-monthly\nBudget Type: Cost\nBudgeted Amount: $6,500.00\n"
        f"Alert Type: {kind}\nAlert Threshold: > $5,200.00\n{kind} Amount: {amount}\n\n"
        "[1] https://console.aws.amazon.com/billing/home#/budgets\n"
    )


BUDGET_SUBJECT = "AWS Budgets: ai-subsidy-production-monthly has exceeded your alert threshold"


@pytest.fixture
def receivers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    yield from _receivers("production", monkeypatch)


def _topic_arn(stack: dict[str, Any], name: str) -> str:
    (logical_id,) = [key for key, topic in resources_of(stack, "aws_sns_topic").items() if topic["name"] == name]
    return f"${{aws_sns_topic.{logical_id}.arn}}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_forecast_and_anomalies_warn_and_the_actual_overrun_pages(env: str, synthesis: Synthesis) -> None:
    stack, names = synthesis.stack(f"{env}-observability"), names_for(SPECS[env])
    alarms, notices = _topic_arn(stack, names.alarm_topic), _topic_arn(stack, names.notice_topic)
    budget = only(resources_of(stack, "aws_budgets_budget"))
    routes = {n["notification_type"]: n["subscriber_sns_topic_arns"] for n in budget["notification"]}
    assert routes == {"FORECASTED": [notices], "ACTUAL": [alarms]}
    subscription = only(resources_of(stack, "aws_ce_anomaly_subscription"))
    assert subscription["subscriber"] == [{"type": "SNS", "address": notices}]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_topic_admits_exactly_the_cost_services_that_publish_to_it(env: str, synthesis: Synthesis) -> None:
    """A service may publish to an SNS topic only if the topic policy allows it (SNS Developer Guide,
    "Amazon SNS access control"); Budgets and Cost Anomaly Detection name the topic in their configuration
    but are refused without it. Each topic's policy document is the one its `aws_sns_topic_policy` uses."""
    stack, names = synthesis.stack(f"{env}-observability"), names_for(SPECS[env])
    documents = data_of(stack, "aws_iam_policy_document")
    admitted: dict[str, set[str]] = {}
    for policy in resources_of(stack, "aws_sns_topic_policy").values():
        document = documents[policy["policy"].split(".")[2]]
        services = {
            identifier
            for statement in document["statement"]
            if statement.get("effect", "Allow") == "Allow" and statement["actions"] == ["sns:Publish"]
            for principal in statement.get("principals", [])
            if principal["type"] == "Service"
            for identifier in principal["identifiers"]
        }
        admitted[policy["arn"]] = services & {"budgets.amazonaws.com", "costalerts.amazonaws.com"}
    assert admitted == {
        _topic_arn(stack, names.alarm_topic): {"budgets.amazonaws.com"},
        _topic_arn(stack, names.notice_topic): {"budgets.amazonaws.com", "costalerts.amazonaws.com"},
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_guardrails_wait_for_the_policies_of_the_topics_they_notify(env: str, synthesis: Synthesis) -> None:
    stack, names = synthesis.stack(f"{env}-observability"), names_for(SPECS[env])
    policy_of = {policy["arn"]: f"aws_sns_topic_policy.{key}" for key, policy in resources_of(stack, "aws_sns_topic_policy").items()}
    alarms, notices = policy_of[_topic_arn(stack, names.alarm_topic)], policy_of[_topic_arn(stack, names.notice_topic)]
    assert {alarms, notices} <= set(only(resources_of(stack, "aws_budgets_budget"))["depends_on"])
    assert notices in only(resources_of(stack, "aws_ce_anomaly_subscription"))["depends_on"]


def test_an_anomaly_on_the_notice_topic_warns_in_slack_with_its_impact_and_link(receivers: list) -> None:
    oncall_forwarder.handler(_sns_event(NOTICE_TOPIC, ANOMALY), None)
    assert [path for path, _ in receivers] == ["/slack"], "a cost anomaly never pages"
    text = receivers[0][1]["text"]
    assert text.startswith(
        "[WARNING] production: Cost anomaly in Amazon Elastic Compute Cloud - Compute: $122.50 above the expected $90.00"
    )
    assert "since 2026-11-28" in text and ANOMALY["anomalyDetailsLink"] in text
    assert "{" not in text, "the raw JSON is not what on-call reads"


def test_the_forecast_on_the_notice_topic_warns_in_slack(receivers: list) -> None:
    oncall_forwarder.handler(_sns_event(NOTICE_TOPIC, _budget_text("Forecasted", "$5,810.00"), BUDGET_SUBJECT), None)
    assert [path for path, _ in receivers] == ["/slack"]
    assert receivers[0][1]["text"] == (
        "[WARNING] production: AWS Budgets ai-subsidy-production-monthly: forecasted cost $5,810.00, alert threshold > $5,200.00"
    )


def test_the_actual_overrun_on_the_alarm_topic_pages(receivers: list) -> None:
    oncall_forwarder.handler(_sns_event(ALARM_TOPIC, _budget_text("Actual", "$6,512.40"), BUDGET_SUBJECT), None)
    assert [path for path, _ in receivers] == ["/pagerduty", "/slack"]
    event = receivers[0][1]
    assert event["payload"]["severity"] == "critical"
    assert event["dedup_key"] == "budgets/ai-subsidy-production-monthly/actual/2026-12"
    assert event["payload"]["summary"] == "AWS Budgets ai-subsidy-production-monthly: actual cost $6,512.40, alert threshold > $5,200.00"


def test_each_month_s_overrun_is_its_own_incident(receivers: list) -> None:
    """A MONTHLY budget's periods start on the first of each month at 00:00 UTC (AWS Billing and Cost
    Management API Reference, budgets `TimePeriod`: "If you chose MONTHLY, AWS set your start date to
    01/01/18 00:00 UTC"), and PagerDuty groups every trigger with the same dedup_key into the alert still
    open for it (PagerDuty Events API v2, `dedup_key`). Two notifications of one month are one incident;
    December's overrun is not folded into November's if that one was never resolved. The month is read
    from the SNS record's `Timestamp` (UTC)."""
    for sent_at in ("2026-11-28T03:10:00.000Z", "2026-11-29T15:10:00.000Z", "2026-12-02T03:10:00.000Z"):
        oncall_forwarder.handler(_sns_event(ALARM_TOPIC, _budget_text("Actual", "$6,512.40"), BUDGET_SUBJECT, sent_at=sent_at), None)
    keys = [event["dedup_key"] for path, event in receivers if path == "/pagerduty"]
    assert keys == ["budgets/ai-subsidy-production-monthly/actual/2026-11"] * 2 + ["budgets/ai-subsidy-production-monthly/actual/2026-12"]


def test_other_text_is_not_taken_for_a_budget() -> None:
    notification = oncall_forwarder.parse("Budget Name: not from AWS\n", "hello", "m-2", sent_at="2026-12-01T09:00:00.000Z")
    assert notification is not None and notification.summary == "hello: Budget Name: not from AWS"
