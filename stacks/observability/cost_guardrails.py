"""The account's monthly cost budget and Cost Anomaly Detection, routed like the cluster's alerts.

- AWS Budgets: a COST budget of the spec's amount, with a FORECASTED and an ACTUAL notification. The
  forecast is a working-hours matter (the money is not spent yet): the notice topic (Slack, warning).
  The actual cost past the budget is money being spent now, perhaps by a runaway (a scaling loop, a
  leaked key): the alarm topic (PagerDuty and Slack). Each environment has an account of its own, so
  the budget covers the account and needs no cost filter.
- Cost Anomaly Detection: one AWS-services monitor (DIMENSIONAL, SERVICE), of which an account may
  have only one, and a subscription whose threshold is an expression on the anomaly's total impact,
  to the notice topic: anomalies are judged on a day's billing data, hours after the fact, and most
  are planned work. SNS subscribers are notified only with IMMEDIATE frequency; DAILY and WEEKLY go
  to email only (Cost Explorer API reference, AnomalySubscription, Frequency).

- The `Environment` cost allocation tag (`aws_ce_cost_allocation_tag`, Active): Cost Explorer groups by a
  user-defined tag only once it is activated (AWS Billing User Guide, "Activating user-defined cost
  allocation tags"), and only a standalone account or an organization's management account may activate
  one (a member account is refused, AccessDeniedException), hence `cost.activate_allocation_tag`. The
  provider (5.100.0, internal/service/ce/cost_allocation_tag.go) creates it with
  UpdateCostAllocationTagsStatus, whose per-key failures come back in the response's `Errors` and are not
  read, then reads it back with ListCostAllocationTags: a key not yet in the billing data (up to 24 hours
  after the first tagged resource) lists nothing and the create fails with "empty result", the resource
  left tainted for the next apply (docs/cost.md, "The cost allocation tag").

Both APIs are global: the AWS SDKs' endpoint rules send Budgets to budgets.amazonaws.com and Cost
Explorer to ce.us-east-1.amazonaws.com, signed for us-east-1, whatever the provider's region, so the
stack's own provider creates them (tests/test_cost_guardrails.py checks botocore's rules).
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.budgets_budget import BudgetsBudget, BudgetsBudgetNotification
from cdktf_cdktf_provider_aws.ce_anomaly_monitor import CeAnomalyMonitor
from cdktf_cdktf_provider_aws.ce_anomaly_subscription import (
    CeAnomalySubscription,
    CeAnomalySubscriptionSubscriber,
    CeAnomalySubscriptionThresholdExpression,
    CeAnomalySubscriptionThresholdExpressionDimension,
)
from cdktf_cdktf_provider_aws.ce_cost_allocation_tag import CeCostAllocationTag
from constructs import Construct

from envspec import Names
from envspec.cost import CostSettings
from envspec.naming import ENVIRONMENT_TAG
from stacks.observability.topic import EncryptedTopic


class CostGuardrails(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, settings: CostSettings, names: Names, alarms: EncryptedTopic, notices: EncryptedTopic
    ):
        super().__init__(scope, construct_id)
        topics = {"FORECASTED": notices, "ACTUAL": alarms}
        # Created once the topic policies let the services publish, so no first notification is refused.
        self.budget = BudgetsBudget(
            self,
            "budget",
            name=names.budget,
            budget_type="COST",
            limit_amount=str(settings.monthly_budget_usd),
            limit_unit="USD",
            time_unit="MONTHLY",
            notification=[
                BudgetsBudgetNotification(
                    comparison_operator="GREATER_THAN",
                    notification_type=kind,
                    threshold=percent,
                    threshold_type="PERCENTAGE",
                    subscriber_sns_topic_arns=[topics[kind].arn],
                )
                for kind, percent in (("FORECASTED", settings.forecast_alert_percent), ("ACTUAL", settings.actual_alert_percent))
            ],
            tags={"Name": names.budget},
            depends_on=[topic.topic_policy for topic in topics.values()],
        )
        self.monitor = CeAnomalyMonitor(
            self,
            "anomaly_monitor",
            name=names.cost_anomaly_monitor,
            monitor_type="DIMENSIONAL",
            monitor_dimension="SERVICE",
            tags={"Name": names.cost_anomaly_monitor},
        )
        self.subscription = CeAnomalySubscription(
            self,
            "anomaly_subscription",
            name=names.cost_anomaly_monitor,
            frequency="IMMEDIATE",
            monitor_arn_list=[self.monitor.arn],
            subscriber=[CeAnomalySubscriptionSubscriber(type="SNS", address=notices.arn)],
            threshold_expression=CeAnomalySubscriptionThresholdExpression(
                dimension=CeAnomalySubscriptionThresholdExpressionDimension(
                    key="ANOMALY_TOTAL_IMPACT_ABSOLUTE",
                    match_options=["GREATER_THAN_OR_EQUAL"],
                    values=[str(settings.anomaly_threshold_usd)],
                )
            ),
            tags={"Name": names.cost_anomaly_monitor},
            depends_on=[notices.topic_policy],
        )
        self.allocation_tag: CeCostAllocationTag | None = None
        if settings.activate_allocation_tag:
            self.allocation_tag = CeCostAllocationTag(self, "allocation_tag", tag_key=ENVIRONMENT_TAG, status="Active")
