"""The SNS topic every infrastructure alarm notifies, encrypted with the stack's own KMS key.

CloudWatch alarms can only publish to an encrypted topic whose key lets the CloudWatch service use
it (the AWS-managed `alias/aws/sns` key does not), so the topic gets its own customer-managed key.
Both the key policy and the topic policy admit CloudWatch only on behalf of this environment's
alarms (`aws:SourceAccount` and `aws:SourceArn`), against the confused-deputy problem.
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_policy import SnsTopicPolicy
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct

from envspec import EnvironmentSpec, Names
from stacks.kms import CustomerManagedKey
from stacks.policy import Condition, Statement, policy_document

CLOUDWATCH = "cloudwatch.amazonaws.com"
EVENTS = "events.amazonaws.com"


def _from_this_environments_alarms(names: Names) -> list[Condition]:
    return [
        Condition("StringEquals", "aws:SourceAccount", [names.account]),
        Condition("ArnLike", "aws:SourceArn", [names.alarm_arn_pattern]),
    ]


class AlarmTopic(Construct):
    def __init__(self, scope: Construct, construct_id: str, spec: EnvironmentSpec, names: Names):
        super().__init__(scope, construct_id)
        self.key = CustomerManagedKey(
            self,
            "key",
            names,
            "alarms",
            f"{names.prefix} infrastructure alarm notifications",
            statements=[
                Statement(
                    sid="CloudWatchAlarmsPublishToTheEncryptedTopic",
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    resources=["*"],  # in a key policy, "*" is this key
                    principals={"Service": [CLOUDWATCH]},
                    conditions=_from_this_environments_alarms(names),
                ),
                # EventBridge rules of the security stack (GuardDuty findings) publish to the encrypted
                # topic; SNS calls KMS for them. The topic policy below limits which rules may publish.
                Statement(
                    sid="EventBridgeRulesPublishToTheEncryptedTopic",
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    resources=["*"],  # in a key policy, "*" is this key
                    principals={"Service": [EVENTS]},
                ),
            ],
        )
        self.topic = SnsTopic(
            self,
            "topic",
            name=names.alarm_topic,
            display_name=f"{names.prefix} alarms"[:100],
            kms_master_key_id=self.key.arn,
            tags={"Name": names.alarm_topic},
        )
        policy = policy_document(
            self,
            "policy",
            [
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
                Statement(
                    sid="CloudWatchAlarmsPublish",
                    actions=["sns:Publish"],
                    resources=[self.topic.arn],
                    principals={"Service": [CLOUDWATCH]},
                    conditions=_from_this_environments_alarms(names),
                ),
                Statement(
                    sid="EnvironmentEventRulesPublish",
                    actions=["sns:Publish"],
                    resources=[self.topic.arn],
                    principals={"Service": [EVENTS]},
                    conditions=[
                        Condition("StringEquals", "aws:SourceAccount", [names.account]),
                        Condition("ArnLike", "aws:SourceArn", [names.event_rule_arn_pattern]),
                    ],
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
        SnsTopicPolicy(self, "topic_policy", arn=self.topic.arn, policy=policy.json)
        # Email subscriptions stay pending until the address confirms; endpoints that embed a
        # credential (a PagerDuty integration URL) are subscribed by operators, not from code.
        self.subscriptions = [
            SnsTopicSubscription(self, f"email_{index}", topic_arn=self.topic.arn, protocol="email", endpoint=address)
            for index, address in enumerate(spec.alarms.notification_emails)
        ]

    @property
    def arn(self) -> str:
        return self.topic.arn
