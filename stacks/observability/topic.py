"""The SNS topics infrastructure failures are sent to, encrypted with the stack's own KMS key.

Two topics, routed like the cluster's alerts: the alarm topic pages (PagerDuty and Slack), the notice
topic warns (Slack). Each names the AWS services that may publish to it, and only on behalf of this
environment (`aws:SourceAccount`, and `aws:SourceArn` where the service documents that it sends it),
against the confused-deputy problem:

- CloudWatch alarms (`cloudwatch.amazonaws.com`, SourceArn: this environment's alarms; CloudWatch User
  Guide, "Using Amazon CloudWatch alarms", SNS topic access policy);
- EventBridge rules (`events.amazonaws.com`, SourceArn: this environment's rules; EventBridge User
  Guide, "Using resource-based policies for Amazon EventBridge", Amazon SNS permissions);
- RDS event notifications (`events.rds.amazonaws.com`, SourceArn: the database instance; RDS User Guide,
  "Granting permissions to publish notifications to an Amazon SNS topic");
- AWS Backup vault notifications (`backup.amazonaws.com`; AWS Backup Developer Guide, "Notification
  options with AWS Backup", whose policy names no source condition, so only SourceAccount here).
- AWS Budgets (`budgets.amazonaws.com`, SourceArn `arn:aws:budgets::<account>:*`; AWS Cost Management
  User Guide, "Creating an Amazon SNS topic for budget notifications");
- Cost Anomaly Detection (`costalerts.amazonaws.com`, SourceArn: a Cost Explorer resource of the account;
  AWS Cost Management User Guide, "Creating an Amazon SNS topic for anomaly notifications").

A publisher of an encrypted topic must also be allowed `kms:GenerateDataKey*` and `kms:Decrypt` on the
topic's key (SNS Developer Guide, "Enable compatibility between event sources from AWS services and
encrypted topics"; the AWS-managed `alias/aws/sns` key cannot be shared, hence a customer-managed
key). The key policy repeats each publisher's conditions and requires the encryption context SNS
sends, `aws:sns:topicArn`, to name one of these topics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_policy import SnsTopicPolicy
from constructs import Construct

from envspec import Names
from stacks.kms import CustomerManagedKey
from stacks.logs import log_service_statement
from stacks.policy import Condition, Statement, policy_document


@dataclass(frozen=True)
class Publisher:
    """An AWS service that publishes to a topic, and the conditions that pin it to this environment."""

    sid: str
    service: str
    conditions: tuple[Condition, ...]


def publishers(names: Names) -> dict[str, Publisher]:
    account = Condition("StringEquals", "aws:SourceAccount", [names.account])
    return {
        "cloudwatch": Publisher(
            "CloudWatchAlarms", "cloudwatch.amazonaws.com", (account, Condition("ArnLike", "aws:SourceArn", [names.alarm_arn_pattern]))
        ),
        "events": Publisher(
            "EventBridgeRules",
            "events.amazonaws.com",
            (account, Condition("ArnLike", "aws:SourceArn", [names.event_rule_arn_pattern])),
        ),
        "rds": Publisher(
            "RdsEventNotifications", "events.rds.amazonaws.com", (account, Condition("ArnLike", "aws:SourceArn", [names.database_arn]))
        ),
        "backup": Publisher("BackupVaultNotifications", "backup.amazonaws.com", (account,)),
        "budgets": Publisher(
            "BudgetNotifications",
            "budgets.amazonaws.com",
            (account, Condition("ArnLike", "aws:SourceArn", [names.budgets_source_arn_pattern])),
        ),
        "costalerts": Publisher(
            "CostAnomalyAlerts",
            "costalerts.amazonaws.com",
            (account, Condition("ArnLike", "aws:SourceArn", [names.cost_explorer_source_arn_pattern])),
        ),
    }


def topic_key(scope: Construct, *, names: Names, topic_names: Sequence[str]) -> CustomerManagedKey:
    """The KMS key of the topics: every publisher may use it for exactly these topics."""
    topic_arns = [names.topic_arn(name) for name in topic_names]
    return CustomerManagedKey(
        scope,
        "key",
        names=names,
        purpose="alarms",
        description=f"{names.prefix} infrastructure alarm notifications",
        statements=[
            *(
                Statement(
                    sid=f"{publisher.sid}PublishToTheEncryptedTopics",
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    resources=["*"],  # in a key policy, "*" is this key
                    principals={"Service": [publisher.service]},
                    conditions=[*publisher.conditions, Condition("StringEquals", "kms:EncryptionContext:aws:sns:topicArn", topic_arns)],
                )
                for publisher in publishers(names).values()
            ),
            log_service_statement(names),  # the forwarder's log group
        ],
    )


class EncryptedTopic(Construct):
    """A topic, its policy, and (unless given one) the key of all the stack's topics."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        name: str,
        display_name: str,
        publishers: Sequence[Publisher],
        key: CustomerManagedKey | None = None,
        key_topics: Sequence[str] = (),
    ):
        super().__init__(scope, construct_id)
        self.key = key or topic_key(self, names=names, topic_names=key_topics)
        key = self.key
        self.topic = SnsTopic(self, "topic", name=name, display_name=display_name[:100], kms_master_key_id=key.arn, tags={"Name": name})
        policy = policy_document(
            self,
            "policy",
            statements=[
                Statement(
                    sid="AccountManagesTheTopic",
                    actions=[
                        "sns:GetTopicAttributes",
                        "sns:SetTopicAttributes",
                        "sns:AddPermission",
                        "sns:RemovePermission",
                        "sns:DeleteTopic",
                        "sns:Subscribe",
                        "sns:ListSubscriptionsByTopic",
                        "sns:Publish",
                    ],
                    resources=[self.topic.arn],
                    principals={"AWS": [f"arn:aws:iam::{names.account}:root"]},
                ),
                *(
                    Statement(
                        sid=f"{publisher.sid}Publish",
                        actions=["sns:Publish"],
                        resources=[self.topic.arn],
                        principals={"Service": [publisher.service]},
                        conditions=list(publisher.conditions),
                    )
                    for publisher in publishers
                ),
                Statement(
                    sid="DenyPublishWithoutTls",
                    effect="Deny",
                    actions=["sns:Publish"],
                    resources=[self.topic.arn],
                    principals={"AWS": ["*"]},
                    conditions=[Condition("Bool", "aws:SecureTransport", ["false"])],
                ),
            ],
        )
        self.topic_policy = SnsTopicPolicy(self, "topic_policy", arn=self.topic.arn, policy=policy.json)

    @property
    def arn(self) -> str:
        return self.topic.arn
