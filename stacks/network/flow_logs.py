"""VPC flow logs to a KMS-encrypted CloudWatch Logs group with a set retention."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.flow_log import FlowLog
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.vpc import Vpc
from constructs import Construct

from envspec import EnvironmentSpec, Names
from stacks.checkov import skip_check
from stacks.kms import CustomerManagedKey
from stacks.policy import Condition, Statement, policy_document


def log_service_statement(names: Names, region: str) -> Statement:
    """Key-policy statement letting CloudWatch Logs use a key for this account's log groups only."""
    return Statement(
        sid="CloudWatchLogsUsesKeyForThisAccount",
        actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        resources=["*"],  # in a key policy, "*" is this key
        principals={"Service": [f"logs.{region}.amazonaws.com"]},
        conditions=[Condition("ArnLike", "kms:EncryptionContext:aws:logs:arn", [f"arn:aws:logs:{region}:{names.account}:log-group:*"])],
    )


def encrypted_log_group(scope: Construct, construct_id: str, name: str, retention_days: int, key: CustomerManagedKey) -> CloudwatchLogGroup:
    group = CloudwatchLogGroup(scope, construct_id, name=name, retention_in_days=retention_days, kms_key_id=key.arn)
    if retention_days < 365:
        skip_check(group, "CKV_AWS_338", f"non-production environment keeps logs {retention_days} days by design (envspec profile)")
    return group


class FlowLogs(Construct):
    def __init__(self, scope: Construct, construct_id: str, spec: EnvironmentSpec, names: Names, vpc: Vpc, key: CustomerManagedKey):
        super().__init__(scope, construct_id)
        region = spec.aws.region
        self.log_group = encrypted_log_group(
            self, "log_group", f"/aws/vpc/{names.prefix}/flow-logs", spec.network.flow_log_retention_days, key
        )
        trust = policy_document(
            self,
            "trust",
            [
                Statement(
                    sid="VpcFlowLogsAssumesRole",
                    actions=["sts:AssumeRole"],
                    principals={"Service": ["vpc-flow-logs.amazonaws.com"]},
                    conditions=[
                        Condition("StringEquals", "aws:SourceAccount", [names.account]),
                        Condition("ArnLike", "aws:SourceArn", [f"arn:aws:ec2:{region}:{names.account}:vpc-flow-log/*"]),
                    ],
                )
            ],
        )
        role = IamRole(self, "role", name=f"{names.prefix}-vpc-flow-logs", assume_role_policy=trust.json)
        delivery = policy_document(
            self,
            "delivery",
            [
                Statement(
                    sid="WriteFlowLogGroup",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    resources=[self.log_group.arn, f"{self.log_group.arn}:*"],
                ),
                Statement(
                    sid="DescribeLogGroups",
                    actions=["logs:DescribeLogGroups"],
                    resources=[f"arn:aws:logs:{region}:{names.account}:log-group:*"],
                ),
            ],
        )
        IamRolePolicy(self, "delivery_policy", name="flow-log-delivery", role=role.id, policy=delivery.json)
        self.flow_log = FlowLog(
            self,
            "flow_log",
            vpc_id=vpc.id,
            traffic_type=spec.network.flow_log_traffic_type,
            log_destination_type="cloud-watch-logs",
            log_destination=self.log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags={"Name": f"{names.prefix}-flow-logs"},
        )
