"""`<env>-observability`: CloudWatch alarms on RDS, ElastiCache and the NAT gateways, AWS Backup job
failures and RDS events, the account's cost budget and anomaly alerts, sent to two KMS-encrypted SNS
topics (alarms page, notices warn: a budget's actual overrun pages, its forecast and cost anomalies
warn) that a Lambda
function forwards to the cluster's PagerDuty and Slack receivers. The edge and security stacks' alarms
and findings notify the alarm topic too.

Log-based alarms and the runbooks' saved Logs Insights queries read the cluster stack's container
log groups (stacks/observability/log_signals.py).

RDS and ElastiCache are watched by their deterministic names (CloudWatch dimensions take names, so
this stack does not depend on the data stack's state); the NAT gateways by the network stack's
attributes (a cross-stack reference: cdktf adds the output and the remote-state lookup).
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct

from envspec import EnvironmentSpec
from stacks.base import EnvironmentStack
from stacks.cluster.stack import ClusterStack
from stacks.network.stack import NetworkStack
from stacks.observability.alarms import cache_alarms, create_alarm, database_alarms, nat_alarms
from stacks.observability.cost_guardrails import CostGuardrails
from stacks.observability.events import FailureEvents
from stacks.observability.karpenter_alarm import interruption_queue_alarm
from stacks.observability.log_signals import LogSignals
from stacks.observability.oncall import OnCallForwarder, dead_letter_alarm
from stacks.observability.rotation_alarm import login_rotation_alarm
from stacks.observability.topic import EncryptedTopic, publishers


class ObservabilityStack(EnvironmentStack):
    layer = "observability"

    def __init__(self, scope: Construct, spec: EnvironmentSpec, *, network: NetworkStack, cluster: ClusterStack):
        super().__init__(scope, spec)
        names = self.names
        services = publishers(names)
        # Budgets publishes to both (ACTUAL pages, FORECASTED warns), Cost Anomaly Detection only warns.
        self.topic = EncryptedTopic(
            self,
            "alarm_topic",
            names=names,
            name=names.alarm_topic,
            display_name=f"{names.prefix} alarms",
            publishers=[services[key] for key in ("cloudwatch", "events", "rds", "backup", "budgets")],
            key_topics=[names.alarm_topic, names.notice_topic],
        )
        self.notice_topic = EncryptedTopic(
            self,
            "notice_topic",
            names=names,
            name=names.notice_topic,
            display_name=f"{names.prefix} notices",
            publishers=[services[key] for key in ("rds", "budgets", "costalerts")],
            key=self.topic.key,
        )
        # Email subscriptions stay pending until the address confirms: a second path that does not
        # depend on the forwarder (its dead-letter alarm reaches them). Kept in the topic's scope so
        # their addresses (logical ids) stay those of the confirmed subscriptions.
        self.subscriptions = [
            SnsTopicSubscription(self.topic, f"email_{index}", topic_arn=self.topic.arn, protocol="email", endpoint=address)
            for index, address in enumerate(spec.alarms.notification_emails)
        ]
        self.forwarder = OnCallForwarder(
            self, "oncall", spec=spec, names=names, key=self.topic.key, critical=self.topic, warning=[self.notice_topic]
        )
        self.events = FailureEvents(self, "failure_events", names=names, alarms=self.topic, notices=self.notice_topic)
        self.definitions = [
            *database_alarms(spec, names),
            *cache_alarms(spec, names),
            *nat_alarms(spec, network.nat_gateways),
            dead_letter_alarm(names),
            interruption_queue_alarm(names),
            login_rotation_alarm(names),
        ]
        self.alarms = [create_alarm(self, names=names, definition=definition, topic_arn=self.topic.arn) for definition in self.definitions]
        self.cost = CostGuardrails(self, "cost", settings=spec.cost, names=names, alarms=self.topic, notices=self.notice_topic)
        # On the cluster stack's log groups (a cross-stack reference: that stack is applied first).
        self.log_signals = LogSignals(self, "log_signals", names=names, groups=cluster.container_log_group_names, topic_arn=self.topic.arn)

        self.output("alarm_topic_arn", self.topic.arn, "SNS topic of everything that pages on-call (alarms, backup and RDS failures)")
        self.output(
            "notice_topic_arn",
            self.notice_topic.arn,
            "SNS topic of warnings: RDS maintenance and notification events, cost forecasts and anomalies (Slack)",
        )
        self.output("oncall_forwarder_name", self.forwarder.function.function_name, "Lambda function forwarding both topics to on-call")
        self.output(
            "alarm_names", [alarm.alarm_name for alarm in [*self.alarms, *self.log_signals.alarms]], "Names of the CloudWatch alarms"
        )
