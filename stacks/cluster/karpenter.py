"""Karpenter's AWS side: the node role and its access entry, the controller's Pod Identity, the
interruption queue with the EventBridge rules that feed it, and the discovery tag on the node
security group (the private subnets get theirs in the network stack, from the same name).

Upstream reference: aws/karpenter-provider-aws v1.14.1,
`website/content/en/docs/getting-started/getting-started-with-karpenter/cloudformation.yaml`.
"""

from __future__ import annotations

import json

from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktf_cdktf_provider_aws.cloudwatch_event_target import CloudwatchEventTarget
from cdktf_cdktf_provider_aws.ec2_tag import Ec2Tag
from cdktf_cdktf_provider_aws.eks_access_entry import EksAccessEntry
from cdktf_cdktf_provider_aws.eks_cluster import EksCluster
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from cdktf_cdktf_provider_aws.sqs_queue_policy import SqsQueuePolicy
from constructs import Construct

from envspec import Names
from envspec.naming import KARPENTER_DISCOVERY_TAG
from stacks.cluster.karpenter_policy import karpenter_controller_statements
from stacks.iam import AWS_MANAGED, PodIdentity, Role, service_trust
from stacks.policy import Condition, Statement, policy_document

# The events Karpenter acts on (upstream's ScheduledChangeRule, SpotInterruptionRule, RebalanceRule,
# InstanceStateChangeRule, CapacityReservationInterruptionRule), keyed by a short rule name.
INTERRUPTION_EVENTS = {
    "health": ("aws.health", "AWS Health Event"),
    "spot-interruption": ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
    "rebalance": ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
    "state-change": ("aws.ec2", "EC2 Instance State-change Notification"),
    "reservation-warning": ("aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"),
}
# Upstream keeps messages 300 s: an interruption warning older than that is past acting on.
QUEUE_RETENTION_SECONDS = 300
NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly")


class KarpenterResources(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, names: Names, cluster: EksCluster, key_arn: str, node_security_group_id: str
    ):
        super().__init__(scope, construct_id)
        # Same managed policies as the managed node groups: vpc-cni has its own Pod Identity, so the
        # nodes need no CNI permissions (upstream also attaches AmazonEKS_CNI_Policy and SSM; neither is used here).
        self.node_role = Role(
            self,
            "node_role",
            name=names.karpenter_node_role,
            description=f"EC2 instances Karpenter launches for {names.cluster_name}",
            trust=[service_trust("ec2.amazonaws.com")],
            managed_policies=[f"{AWS_MANAGED}{policy}" for policy in NODE_POLICIES],
        )
        # API authentication mode: the nodes join through an access entry of type EC2_LINUX (no aws-auth).
        self.access_entry = EksAccessEntry(
            self, "node_access_entry", cluster_name=cluster.name, principal_arn=self.node_role.arn, type="EC2_LINUX"
        )

        # SQS-managed encryption (upstream's choice): EventBridge can deliver to it with no key policy,
        # whereas a customer managed key would need kms:GenerateDataKey and kms:Decrypt for
        # events.amazonaws.com in its key policy (EventBridge user guide, "Amazon SQS permissions").
        self.queue = SqsQueue(
            self,
            "interruption_queue",
            name=names.karpenter_interruption_queue,
            message_retention_seconds=QUEUE_RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            tags={"Name": names.karpenter_interruption_queue},
        )
        self.rules = [
            CloudwatchEventRule(
                self,
                f"rule_{label.replace('-', '_')}",
                name=f"{names.prefix}-karpenter-{label}",
                description=f"{detail_type} events for Karpenter's interruption queue",
                event_pattern=json.dumps({"source": [source], "detail-type": [detail_type]}),
                tags={"Name": f"{names.prefix}-karpenter-{label}"},
            )
            for label, (source, detail_type) in INTERRUPTION_EVENTS.items()
        ]
        for rule in self.rules:
            CloudwatchEventTarget(
                self, f"{rule.node.id}_target", rule=rule.name, arn=self.queue.arn, target_id="KarpenterInterruptionQueueTarget"
            )
        queue_policy = policy_document(
            self,
            "queue_policy",
            statements=[
                Statement(
                    sid="EventBridgeRulesSendInterruptionEvents",
                    actions=["sqs:SendMessage"],
                    resources=[self.queue.arn],
                    principals={"Service": ["events.amazonaws.com"]},
                    # EventBridge sends the rule's ARN as aws:SourceArn: only these rules may write.
                    conditions=[Condition("ArnEquals", "aws:SourceArn", [rule.arn for rule in self.rules])],
                ),
                Statement(
                    sid="DenyHTTP",
                    effect="Deny",
                    actions=["sqs:*"],
                    resources=[self.queue.arn],
                    principals={"AWS": ["*"]},
                    conditions=[Condition("Bool", "aws:SecureTransport", ["false"])],
                ),
            ],
        )
        SqsQueuePolicy(self, "interruption_queue_policy", queue_url=self.queue.url, policy=queue_policy.json)

        self.controller = PodIdentity(
            self,
            "controller",
            names=names,
            cluster_name=cluster.name,
            service_account=names.karpenter_service_account,
            purpose="karpenter-controller",
            permissions=karpenter_controller_statements(names, self.node_role.arn, self.queue.arn, key_arn),
        )
        # EKS creates the cluster security group, which the nodes carry; the EC2NodeClass finds it by this tag.
        Ec2Tag(
            self,
            "node_security_group_discovery_tag",
            resource_id=node_security_group_id,
            key=KARPENTER_DISCOVERY_TAG,
            value=names.cluster_name,
        )
