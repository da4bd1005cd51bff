"""VPC endpoint policies: this account's principals only, and this account's resources wherever that
does not cut off something the cluster needs from AWS itself.

An endpoint policy is evaluated with the caller's identity and resource policies on every request
through the endpoint (AWS PrivateLink Guide, "Control access to VPC endpoints using endpoint
policies"). `aws:PrincipalAccount` keeps credentials of other accounts out; `aws:ResourceAccount`
keeps this account's principals from moving data to other accounts' resources. The exceptions:

- ECR: the EKS add-on images (vpc-cni, kube-proxy, CoreDNS, EBS CSI, Pod Identity agent) are pulled
  from AWS's registry account of the region (EKS User Guide, "View Amazon container image registries
  for Amazon EKS add-ons": 602401143452 in ap-northeast-1 and ap-northeast-3); the GuardDuty
  runtime agent, which GuardDuty installs as the `aws-guardduty-agent` add-on, from that registry and
  from a GuardDuty registry of its own (GuardDuty User Guide, "Amazon ECR repository hosting GuardDuty
  agent": Asia Pacific (Tokyo) 602401143452 and 781592569369, Osaka 602401143452 and 810724417379);
  `ecr:GetAuthorizationToken` names no resource;
- S3: ECR serves image layers from the AWS-owned bucket `prod-<region>-starport-layer-bucket` (ECR
  User Guide, "Amazon ECR interface VPC endpoints", minimum S3 bucket permissions: `s3:GetObject` on
  `arn:aws:s3:::prod-<region>-starport-layer-bucket/*`), Amazon Linux 2023 package repositories live in
  `al2023-repos-<region>-de612dc2`, and the SSM Agent fetches its updates and documents from the
  AWS-managed buckets the Systems Manager User Guide lists ("SSM Agent communications with AWS managed
  S3 buckets");
- actions that name no resource (`sts:GetCallerIdentity`, `secretsmanager:ListSecrets`,
  `logs:DescribeLogGroups`) are admitted on the principal's account alone.
"""

from __future__ import annotations

from envspec import Names
from stacks.policy import Condition, Statement

# AWS account that serves the EKS add-on images, per region (EKS User Guide, add-on image registries).
EKS_ADDON_REGISTRY_ACCOUNTS = {"ap-northeast-1": "602401143452", "ap-northeast-3": "602401143452"}
# GuardDuty's own registry of the EKS runtime agent, per region (GuardDuty User Guide, "Amazon ECR
# repository hosting GuardDuty agent", Amazon EKS table); the agent's other registry is the one above.
GUARDDUTY_AGENT_REGISTRY_ACCOUNTS = {"ap-northeast-1": "781592569369", "ap-northeast-3": "810724417379"}
ECR_PULL_ACTIONS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")
# Actions without a resource: aws:ResourceAccount would not match them.
UNSCOPED_ACTIONS = {
    "sts": ("sts:GetCallerIdentity",),
    "secretsmanager": ("secretsmanager:ListSecrets", "secretsmanager:GetRandomPassword", "secretsmanager:BatchGetSecretValue"),
    "logs": ("logs:DescribeLogGroups", "logs:DescribeQueries", "logs:DescribeResourcePolicies"),
}
SSM_AGENT_BUCKETS = (
    "aws-ssm-{region}",
    "aws-windows-downloads-{region}",
    "amazon-ssm-{region}",
    "amazon-ssm-packages-{region}",
    "{region}-birdwatcher-prod",
    "aws-ssm-distributor-file-{region}",
    "aws-ssm-document-attachments-{region}",
    "patch-baseline-snapshot-{region}",
)
EVERYONE = {"AWS": ["*"]}


def _ours(names: Names) -> Condition:
    return Condition("StringEquals", "aws:PrincipalAccount", [names.account])


def _resources_in(*accounts: str) -> Condition:
    return Condition("StringEquals", "aws:ResourceAccount", list(accounts))


def gateway_statements(names: Names) -> list[Statement]:
    """The S3 gateway endpoint's policy."""
    region = names.region
    aws_owned = [
        f"arn:aws:s3:::prod-{region}-starport-layer-bucket/*",
        f"arn:aws:s3:::al2023-repos-{region}-de612dc2/*",
        *(f"arn:aws:s3:::{bucket.format(region=region)}/*" for bucket in SSM_AGENT_BUCKETS),
    ]
    return [
        Statement(
            sid="ThisAccountsBuckets",
            actions=["s3:*"],
            resources=["*"],
            principals=EVERYONE,
            conditions=[_ours(names), _resources_in(names.account)],
        ),
        # No principal condition: ECR hands out layer URLs presigned by the ECR service, and the Amazon
        # Linux and SSM Agent downloads are anonymous, so neither request carries this account.
        Statement(sid="AwsOwnedReadOnlyBuckets", actions=["s3:GetObject"], resources=aws_owned, principals=EVERYONE),
    ]


def interface_statements(names: Names, service: str) -> list[Statement]:
    """The policy of the interface endpoint of `service` (its short name, e.g. `ecr.dkr`)."""
    account = names.account
    if service in ("ecr.api", "ecr.dkr"):
        registry = EKS_ADDON_REGISTRY_ACCOUNTS.get(names.region)
        guardduty_registry = GUARDDUTY_AGENT_REGISTRY_ACCOUNTS.get(names.region)
        if registry is None or guardduty_registry is None:
            raise ValueError(f"no EKS add-on image registry account known for region {names.region} (stacks/network/endpoint_policies.py)")
        return [
            Statement(
                sid="ThisAccountsRegistry",
                actions=["ecr:*"],
                resources=["*"],
                principals=EVERYONE,
                conditions=[_ours(names), _resources_in(account)],
            ),
            Statement(
                sid="PullEksAddOnImages",
                actions=ECR_PULL_ACTIONS,
                resources=["*"],
                principals=EVERYONE,
                conditions=[_ours(names), _resources_in(registry)],
            ),
            Statement(
                sid="PullGuardDutyAgentImages",
                actions=ECR_PULL_ACTIONS,
                resources=[f"arn:aws:ecr:{names.region}:{guardduty_registry}:repository/*"],
                principals=EVERYONE,
                conditions=[_ours(names), _resources_in(guardduty_registry)],
            ),
            Statement(
                sid="AuthorizationToken",
                actions=["ecr:GetAuthorizationToken"],
                resources=["*"],
                principals=EVERYONE,
                conditions=[_ours(names)],
            ),
        ]
    if service == "sts":
        return [
            Statement(
                sid="AssumeRolesOfThisAccount",
                actions=["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
                resources=[f"arn:aws:iam::{account}:role/*"],
                principals=EVERYONE,
                conditions=[_ours(names)],
            ),
            Statement(sid="Unscoped", actions=UNSCOPED_ACTIONS["sts"], resources=["*"], principals=EVERYONE, conditions=[_ours(names)]),
        ]
    if service in UNSCOPED_ACTIONS:
        prefix = service
        return [
            Statement(
                sid="ThisAccountsResources",
                actions=[f"{prefix}:*"],
                resources=["*"],
                principals=EVERYONE,
                conditions=[_ours(names), _resources_in(account)],
            ),
            Statement(sid="Unscoped", actions=UNSCOPED_ACTIONS[service], resources=["*"], principals=EVERYONE, conditions=[_ours(names)]),
        ]
    # ssm, ssmmessages, ec2messages: the SSM Agent of this account's instances.
    return [
        Statement(sid="ThisAccountsPrincipals", actions=[f"{service}:*"], resources=["*"], principals=EVERYONE, conditions=[_ours(names)])
    ]
