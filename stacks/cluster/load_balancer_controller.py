"""Permissions of the AWS Load Balancer Controller: the upstream policy, scoped to this cluster and VPC.

Statement for statement this is the controller's published `docs/install/iam_policy.json` (v2.14.1, the same
actions as v3.4.2, the controller of chart 3.4.2),
with three kinds of narrowing that the controller's own behaviour allows:

- every `Null` test on the `elbv2.k8s.aws/cluster` tag ("carries the tag of *some* cluster") becomes
  `StringEquals` on this cluster's name: the controller tags everything it creates with the value of
  its `clusterName` setting, which the Kubernetes layer sets to `names.cluster_name`;
- resource ARNs name this region and account instead of `*:*`;
- security-group ingress changes on groups the controller did not create (the cluster security group,
  to admit the load balancer) are limited to groups in this environment's VPC.

Describe/List/Get reads take no resource and stay on "*", as upstream; so does SetWebAcl, which has
no resource type (upstream v3.4.2 grants it on "*" too).
"""

from __future__ import annotations

from envspec import Names
from stacks.policy import Condition, Statement

CLUSTER_TAG = "elbv2.k8s.aws/cluster"

READ_ACTIONS = (
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
    "ec2:GetCoipPoolUsage",
    "ec2:DescribeCoipPools",
    "ec2:GetSecurityGroupsForVpc",
    "ec2:DescribeIpamPools",
    "ec2:DescribeRouteTables",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeListenerCertificates",
    "elasticloadbalancing:DescribeSSLPolicies",
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTrustStores",
    "elasticloadbalancing:DescribeListenerAttributes",
    "elasticloadbalancing:DescribeCapacityReservation",
)
# Certificates, WAF and Shield integrations the Ingress annotations may ask for. ELB's SetWebAcl is
# permission-only with no resource type (Service Authorization Reference, Elastic Load Balancing
# V2): only "*" matches it, so it sits here rather than with the listener writes.
INTEGRATION_ACTIONS = (
    "elasticloadbalancing:SetWebAcl",
    "cognito-idp:DescribeUserPoolClient",
    "acm:ListCertificates",
    "acm:DescribeCertificate",
    "iam:ListServerCertificates",
    "iam:GetServerCertificate",
    "waf-regional:GetWebACL",
    "waf-regional:GetWebACLForResource",
    "waf-regional:AssociateWebACL",
    "waf-regional:DisassociateWebACL",
    "wafv2:GetWebACL",
    # The Ingress names the edge stack's web ACL (`wafv2-acl-name`); the controller resolves the name
    # to the ARN with ListWebACLs (pkg/ingress/model_builder.go, webACLNameToArnMapper).
    "wafv2:ListWebACLs",
    "wafv2:GetWebACLForResource",
    "wafv2:AssociateWebACL",
    "wafv2:DisassociateWebACL",
    "shield:GetSubscriptionState",
    "shield:DescribeProtection",
    "shield:CreateProtection",
    "shield:DeleteProtection",
)
MANAGE_OWN_LOAD_BALANCERS = (
    "elasticloadbalancing:ModifyLoadBalancerAttributes",
    "elasticloadbalancing:SetIpAddressType",
    "elasticloadbalancing:SetSecurityGroups",
    "elasticloadbalancing:SetSubnets",
    "elasticloadbalancing:DeleteLoadBalancer",
    "elasticloadbalancing:ModifyTargetGroup",
    "elasticloadbalancing:ModifyTargetGroupAttributes",
    "elasticloadbalancing:DeleteTargetGroup",
    "elasticloadbalancing:ModifyListenerAttributes",
    "elasticloadbalancing:ModifyCapacityReservation",
    "elasticloadbalancing:ModifyIpPools",
)
MANAGE_LISTENERS = (
    "elasticloadbalancing:ModifyListener",
    "elasticloadbalancing:AddListenerCertificates",
    "elasticloadbalancing:RemoveListenerCertificates",
    "elasticloadbalancing:ModifyRule",
    "elasticloadbalancing:SetRulePriorities",
)


def load_balancer_controller_statements(names: Names, vpc_id: str) -> list[Statement]:
    region, account, cluster = names.region, names.account, names.cluster_name
    elb = f"arn:aws:elasticloadbalancing:{region}:{account}"
    security_groups = f"arn:aws:ec2:{region}:{account}:security-group/*"
    vpc = f"arn:aws:ec2:{region}:{account}:vpc/{vpc_id}"
    load_balancers = [f"{elb}:targetgroup/*/*", f"{elb}:loadbalancer/net/*/*", f"{elb}:loadbalancer/app/*/*"]
    listeners = [
        f"{elb}:listener/net/*/*/*",
        f"{elb}:listener/app/*/*/*",
        f"{elb}:listener-rule/net/*/*/*",
        f"{elb}:listener-rule/app/*/*/*",
    ]
    ours = Condition("StringEquals", f"aws:ResourceTag/{CLUSTER_TAG}", [cluster])
    tagging_ours = Condition("StringEquals", f"aws:RequestTag/{CLUSTER_TAG}", [cluster])
    not_retagging = Condition("Null", f"aws:RequestTag/{CLUSTER_TAG}", ["true"])
    return [
        Statement(
            sid="CreateLoadBalancingServiceLinkedRole",
            actions=["iam:CreateServiceLinkedRole"],
            resources=[f"arn:aws:iam::{account}:role/aws-service-role/elasticloadbalancing.amazonaws.com/*"],
            conditions=[Condition("StringEquals", "iam:AWSServiceName", ["elasticloadbalancing.amazonaws.com"])],
        ),
        Statement(sid="Read", actions=READ_ACTIONS, resources=["*"]),
        Statement(sid="CertificatesWafShield", actions=INTEGRATION_ACTIONS, resources=["*"]),
        Statement(
            sid="AdmitLoadBalancersToGroupsInThisVpc",
            actions=["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
            resources=[security_groups],
            conditions=[Condition("ArnEquals", "ec2:Vpc", [vpc])],
        ),
        Statement(sid="CreateSecurityGroupsInThisVpc", actions=["ec2:CreateSecurityGroup"], resources=[vpc]),
        Statement(
            sid="CreateOwnTaggedSecurityGroups", actions=["ec2:CreateSecurityGroup"], resources=[security_groups], conditions=[tagging_ours]
        ),
        Statement(
            sid="TagSecurityGroupsOnCreate",
            actions=["ec2:CreateTags"],
            resources=[security_groups],
            conditions=[Condition("StringEquals", "ec2:CreateAction", ["CreateSecurityGroup"]), tagging_ours],
        ),
        Statement(
            sid="RetagOwnSecurityGroups",
            actions=["ec2:CreateTags", "ec2:DeleteTags"],
            resources=[security_groups],
            conditions=[not_retagging, ours],
        ),
        Statement(
            sid="ManageOwnSecurityGroups",
            actions=["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress", "ec2:DeleteSecurityGroup"],
            resources=[security_groups],
            conditions=[ours],
        ),
        Statement(
            sid="CreateOwnTaggedLoadBalancers",
            actions=["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
            resources=load_balancers,
            conditions=[tagging_ours],
        ),
        Statement(
            sid="CreateListenersAndRules",
            actions=[
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:CreateRule",
                "elasticloadbalancing:DeleteRule",
            ],
            resources=[*load_balancers[1:], *listeners],
        ),
        Statement(
            sid="RetagOwnLoadBalancers",
            actions=["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
            resources=load_balancers,
            conditions=[not_retagging, ours],
        ),
        Statement(
            sid="TagListenersAndRules",
            actions=["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
            resources=listeners,
        ),
        Statement(
            sid="ManageOwnLoadBalancers",
            actions=MANAGE_OWN_LOAD_BALANCERS,
            resources=[*load_balancers, *listeners],
            conditions=[ours],
        ),
        Statement(
            sid="TagLoadBalancersOnCreate",
            actions=["elasticloadbalancing:AddTags"],
            resources=load_balancers,
            conditions=[
                Condition("StringEquals", "elasticloadbalancing:CreateAction", ["CreateTargetGroup", "CreateLoadBalancer"]),
                tagging_ours,
            ],
        ),
        Statement(
            sid="RegisterTargets",
            actions=["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
            resources=[f"{elb}:targetgroup/*/*"],
        ),
        Statement(sid="ManageListeners", actions=MANAGE_LISTENERS, resources=[*load_balancers[1:], *listeners]),
    ]
