"""Permissions of the Karpenter controller: upstream's reference policy, scoped to this cluster.

Statement for statement this is the controller policy of aws/karpenter-provider-aws at v1.14.1
(`website/content/en/docs/getting-started/getting-started-with-karpenter/cloudformation.yaml`:
NodeLifecyclePolicy, IAMIntegrationPolicy, EKSIntegrationPolicy, InterruptionPolicy,
ZonalShiftPolicy, ResourceDiscoveryPolicy), with these narrowings:
- resource ARNs name this account where upstream writes `*` for it;
- `iam:PassRole` names only the node role, as upstream does;
- the instance-profile actions keep upstream's tag conditions (Karpenter v1 creates one instance
  profile per EC2NodeClass from its `role` and tags it with the cluster, region and node class);
- one statement upstream leaves to the key policy: using the cluster key, through EC2 only, for the
  nodes' encrypted root volumes (upstream troubleshooting, "Node terminates before ready on failed
  encrypted EBS volume"); the key policy delegates to IAM, so an IAM grant is enough.
Reads that take no resource stay on "*" limited to this region, as upstream.
"""

from __future__ import annotations

from envspec import Names
from stacks.policy import Condition, Statement

CLUSTER_TAG = "kubernetes.io/cluster/{cluster}"
NODEPOOL_TAG = "karpenter.sh/nodepool"
NODECLASS_TAG = "karpenter.k8s.aws/ec2nodeclass"
REGION_TAG = "topology.kubernetes.io/region"
EKS_CLUSTER_TAG = "eks:eks-cluster-name"

READ_ACTIONS = (
    "ec2:DescribeCapacityReservations",
    "ec2:DescribeImages",
    "ec2:DescribeInstances",
    "ec2:DescribeInstanceStatus",
    "ec2:DescribeInstanceTypeOfferings",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplates",
    "ec2:DescribePlacementGroups",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSpotPriceHistory",
    "ec2:DescribeSubnets",
)
LAUNCH = ("ec2:RunInstances", "ec2:CreateFleet")


def karpenter_controller_statements(names: Names, node_role_arn: str, queue_arn: str, key_arn: str) -> list[Statement]:
    region, account, cluster = names.region, names.account, names.cluster_name
    ec2 = f"arn:aws:ec2:{region}:{account}"
    profiles = f"arn:aws:iam::{account}:instance-profile/*"
    cluster_tag = CLUSTER_TAG.format(cluster=cluster)
    created = [
        f"{ec2}:{kind}/*" for kind in ("fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request")
    ]
    owned = Condition("StringEquals", f"aws:ResourceTag/{cluster_tag}", ["owned"])
    of_a_nodepool = Condition("StringLike", f"aws:ResourceTag/{NODEPOOL_TAG}", ["*"])
    tagging_owned = Condition("StringEquals", f"aws:RequestTag/{cluster_tag}", ["owned"])
    tagging_cluster = Condition("StringEquals", f"aws:RequestTag/{EKS_CLUSTER_TAG}", [cluster])
    tagging_nodepool = Condition("StringLike", f"aws:RequestTag/{NODEPOOL_TAG}", ["*"])
    profile_owned = [owned, Condition("StringEquals", f"aws:ResourceTag/{REGION_TAG}", [region])]
    profile_of_a_nodeclass = Condition("StringLike", f"aws:ResourceTag/{NODECLASS_TAG}", ["*"])
    tagging_profile = [
        tagging_owned,
        tagging_cluster,
        Condition("StringEquals", f"aws:RequestTag/{REGION_TAG}", [region]),
        Condition("StringLike", f"aws:RequestTag/{NODECLASS_TAG}", ["*"]),
    ]
    return [
        # --- NodeLifecyclePolicy ---
        Statement(
            sid="AllowScopedEC2InstanceAccessActions",
            actions=LAUNCH,
            resources=[
                f"arn:aws:ec2:{region}::image/*",
                f"arn:aws:ec2:{region}::snapshot/*",
                *(f"{ec2}:{kind}/*" for kind in ("security-group", "subnet", "capacity-reservation", "placement-group")),
            ],
        ),
        Statement(
            sid="AllowScopedEC2LaunchTemplateAccessActions",
            actions=LAUNCH,
            resources=[f"{ec2}:launch-template/*"],
            conditions=[owned, of_a_nodepool],
        ),
        Statement(
            sid="AllowScopedEC2InstanceActionsWithTags",
            actions=[*LAUNCH, "ec2:CreateLaunchTemplate"],
            resources=created,
            conditions=[tagging_owned, tagging_cluster, tagging_nodepool],
        ),
        Statement(
            sid="AllowScopedResourceCreationTagging",
            actions=["ec2:CreateTags"],
            resources=created,
            conditions=[
                tagging_owned,
                tagging_cluster,
                Condition("StringEquals", "ec2:CreateAction", ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]),
                tagging_nodepool,
            ],
        ),
        Statement(
            sid="AllowScopedResourceTagging",
            actions=["ec2:CreateTags"],
            resources=[f"{ec2}:instance/*"],
            conditions=[
                owned,
                of_a_nodepool,
                Condition("StringEqualsIfExists", f"aws:RequestTag/{EKS_CLUSTER_TAG}", [cluster]),
                Condition("ForAllValues:StringEquals", "aws:TagKeys", [EKS_CLUSTER_TAG, "karpenter.sh/nodeclaim", "Name"]),
            ],
        ),
        Statement(
            sid="AllowScopedDeletion",
            actions=["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            resources=[f"{ec2}:instance/*", f"{ec2}:launch-template/*"],
            conditions=[owned, of_a_nodepool],
        ),
        # --- IAMIntegrationPolicy ---
        Statement(
            sid="AllowPassingInstanceRole",
            actions=["iam:PassRole"],
            resources=[node_role_arn],
            conditions=[Condition("StringEquals", "iam:PassedToService", ["ec2.amazonaws.com"])],
        ),
        Statement(
            sid="AllowScopedInstanceProfileCreationActions",
            actions=["iam:CreateInstanceProfile"],
            resources=[profiles],
            conditions=tagging_profile,
        ),
        Statement(
            sid="AllowScopedInstanceProfileTagActions",
            actions=["iam:TagInstanceProfile"],
            resources=[profiles],
            conditions=[*profile_owned, profile_of_a_nodeclass, *tagging_profile],
        ),
        Statement(
            sid="AllowScopedInstanceProfileActions",
            actions=["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"],
            resources=[profiles],
            conditions=[*profile_owned, profile_of_a_nodeclass],
        ),
        # --- EKSIntegrationPolicy, InterruptionPolicy, ZonalShiftPolicy ---
        Statement(sid="AllowAPIServerEndpointDiscovery", actions=["eks:DescribeCluster"], resources=[names.cluster_arn]),
        Statement(
            sid="AllowInterruptionQueueActions",
            actions=["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
            resources=[queue_arn],
        ),
        Statement(
            sid="AllowZonalShiftStatusReadOnly",
            actions=["arc-zonal-shift:GetManagedResource"],
            resources=["*"],
            conditions=[Condition("StringEquals", "arc-zonal-shift:ResourceIdentifier", [names.cluster_arn])],
        ),
        # --- ResourceDiscoveryPolicy ---
        Statement(
            sid="AllowRegionalReadActions",
            actions=READ_ACTIONS,
            resources=["*"],
            conditions=[Condition("StringEquals", "aws:RequestedRegion", [region])],
        ),
        Statement(sid="AllowSSMReadActions", actions=["ssm:GetParameter"], resources=[f"arn:aws:ssm:{region}::parameter/aws/service/*"]),
        Statement(sid="AllowPricingReadActions", actions=["pricing:GetProducts"], resources=["*"]),
        Statement(sid="AllowUnscopedInstanceProfileListAction", actions=["iam:ListInstanceProfiles"], resources=["*"]),
        Statement(sid="AllowInstanceProfileReadActions", actions=["iam:GetInstanceProfile"], resources=[profiles]),
        # --- the cluster key, for the nodes' encrypted root volumes ---
        Statement(
            sid="UseClusterKeyForNodeVolumesThroughEc2",
            actions=["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncrypt*", "kms:CreateGrant"],
            resources=[key_arn],
            conditions=[
                Condition("StringEquals", "kms:ViaService", [f"ec2.{region}.amazonaws.com"]),
                Condition("StringEquals", "kms:CallerAccount", [account]),
            ],
        ),
    ]
