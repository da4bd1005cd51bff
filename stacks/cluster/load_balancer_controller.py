"""Permissions of the AWS Load Balancer Controller, scoped to this cluster and VPC.

The controller tags everything it creates with `elbv2.k8s.aws/cluster: <cluster name>`; creating,
changing and deleting load balancers, target groups and security groups is allowed only on
resources carrying that tag with this cluster's name. Reads cannot be scoped (Describe* APIs take no
resource) and stay on "*".
"""

from __future__ import annotations

from envspec import Names
from stacks.policy import Condition, Statement

CLUSTER_TAG = "elbv2.k8s.aws/cluster"

READ_ACTIONS = [
    "ec2:DescribeAccountAttributes",
    "ec2:DescribeAddresses",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeVpcs",
    "ec2:DescribeVpcPeeringConnections",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeInstances",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeTags",
    "ec2:DescribeRouteTables",
    "ec2:GetCoipPoolUsage",
    "ec2:DescribeCoipPools",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeListenerAttributes",
    "elasticloadbalancing:DescribeListenerCertificates",
    "elasticloadbalancing:DescribeSSLPolicies",
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTrustStores",
    "acm:ListCertificates",
    "acm:DescribeCertificate",
    "iam:ListServerCertificates",
    "iam:GetServerCertificate",
    "wafv2:GetWebACL",
    "wafv2:GetWebACLForResource",
    "shield:GetSubscriptionState",
    "shield:DescribeProtection",
]


def load_balancer_controller_statements(names: Names, vpc_id: str) -> list[Statement]:
    region, account, cluster = names.region, names.account, names.cluster_name
    elb = f"arn:aws:elasticloadbalancing:{region}:{account}"
    security_groups = f"arn:aws:ec2:{region}:{account}:security-group/*"
    ours = Condition("StringEquals", f"aws:ResourceTag/{CLUSTER_TAG}", [cluster])
    tagging_ours = Condition("StringEquals", f"aws:RequestTag/{CLUSTER_TAG}", [cluster])
    return [
        Statement(sid="Read", actions=READ_ACTIONS, resources=["*"]),
        Statement(
            sid="CreateLoadBalancerServiceLinkedRole",
            actions=["iam:CreateServiceLinkedRole"],
            resources=[f"arn:aws:iam::{account}:role/aws-service-role/elasticloadbalancing.amazonaws.com/*"],
            conditions=[Condition("StringEquals", "iam:AWSServiceName", ["elasticloadbalancing.amazonaws.com"])],
        ),
        Statement(
            sid="CreateSecurityGroupsInThisVpc",
            actions=["ec2:CreateSecurityGroup"],
            resources=[f"arn:aws:ec2:{region}:{account}:vpc/{vpc_id}"],
        ),
        Statement(
            sid="CreateOwnTaggedSecurityGroups",
            actions=["ec2:CreateSecurityGroup", "ec2:CreateTags"],
            resources=[security_groups],
            conditions=[tagging_ours],
        ),
        Statement(
            sid="ManageIngressOfSecurityGroupsInThisVpc",
            actions=["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
            resources=[security_groups],
            conditions=[Condition("ArnEquals", "ec2:Vpc", [f"arn:aws:ec2:{region}:{account}:vpc/{vpc_id}"])],
        ),
        Statement(
            sid="ManageOwnSecurityGroups",
            actions=["ec2:DeleteSecurityGroup", "ec2:CreateTags", "ec2:DeleteTags"],
            resources=[security_groups],
            conditions=[ours],
        ),
        Statement(
            sid="CreateOwnTaggedLoadBalancers",
            actions=["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:AddTags"],
            resources=[f"{elb}:loadbalancer/*", f"{elb}:targetgroup/*"],
            conditions=[tagging_ours],
        ),
        Statement(
            sid="ManageOwnLoadBalancers",
            actions=[
                "elasticloadbalancing:ModifyLoadBalancerAttributes",
                "elasticloadbalancing:SetIpAddressType",
                "elasticloadbalancing:SetSecurityGroups",
                "elasticloadbalancing:SetSubnets",
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:ModifyTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:RegisterTargets",
                "elasticloadbalancing:DeregisterTargets",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:RemoveTags",
                "elasticloadbalancing:CreateListener",
            ],
            resources=[f"{elb}:loadbalancer/*", f"{elb}:targetgroup/*"],
            conditions=[ours],
        ),
        Statement(
            sid="ManageListenersAndRules",
            actions=[
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:ModifyListener",
                "elasticloadbalancing:ModifyListenerAttributes",
                "elasticloadbalancing:AddListenerCertificates",
                "elasticloadbalancing:RemoveListenerCertificates",
                "elasticloadbalancing:CreateRule",
                "elasticloadbalancing:DeleteRule",
                "elasticloadbalancing:ModifyRule",
                "elasticloadbalancing:SetRulePriorities",
                "elasticloadbalancing:AddTags",
            ],
            resources=[f"{elb}:listener/*", f"{elb}:listener-rule/*"],
        ),
    ]
