"""`<env>-observability`: CloudWatch alarms on RDS, ElastiCache and the NAT gateways, all notifying
one KMS-encrypted SNS topic (the edge and security stacks' alarms and findings notify it too).

RDS and ElastiCache are watched by their deterministic names (CloudWatch dimensions take names, so
this stack does not depend on the data stack's state); the NAT gateways by the network stack's
attributes (a cross-stack reference: cdktf adds the output and the remote-state lookup).
"""

from __future__ import annotations

from constructs import Construct

from envspec import EnvironmentSpec
from stacks.base import EnvironmentStack
from stacks.network.stack import NetworkStack
from stacks.observability.alarms import cache_alarms, create_alarm, database_alarms, nat_alarms
from stacks.observability.topic import AlarmTopic


class ObservabilityStack(EnvironmentStack):
    layer = "observability"

    def __init__(self, scope: Construct, spec: EnvironmentSpec, network: NetworkStack):
        super().__init__(scope, spec)
        names = self.names
        self.topic = AlarmTopic(self, "alarm_topic", spec, names)
        self.definitions = [
            *database_alarms(spec, names),
            *cache_alarms(spec, names),
            *nat_alarms(spec, network.network.nat_gateways),
        ]
        self.alarms = [create_alarm(self, names, definition, self.topic.arn) for definition in self.definitions]

        self.output("alarm_topic_arn", self.topic.arn, "SNS topic every infrastructure alarm notifies (subscribe on-call endpoints here)")
        self.output("alarm_names", [alarm.alarm_name for alarm in self.alarms], "Names of the CloudWatch alarms")
