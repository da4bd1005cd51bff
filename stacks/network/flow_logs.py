"""VPC flow logs to a KMS-encrypted CloudWatch Logs group with a set retention."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.flow_log import FlowLog
from cdktf_cdktf_provider_aws.vpc import Vpc
from constructs import Construct

from envspec import EnvironmentSpec, Names
from stacks.iam import Role, service_trust, source_account
from stacks.kms import CustomerManagedKey
from stacks.logs import encrypted_log_group
from stacks.policy import Condition, Statement


class FlowLogs(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, spec: EnvironmentSpec, names: Names, vpc: Vpc, key: CustomerManagedKey):
        super().__init__(scope, construct_id)
        region = spec.aws.region
        self.log_group = encrypted_log_group(
            self, "log_group", name=f"/aws/vpc/{names.prefix}/flow-logs", retention_days=spec.network.flow_log_retention_days, key=key
        )
        role = Role(
            self,
            "role",
            name=f"{names.prefix}-vpc-flow-logs",
            description=f"VPC flow log delivery of {names.prefix}",
            trust=[
                service_trust(
                    "vpc-flow-logs.amazonaws.com",
                    source_account(names.account),
                    Condition("ArnLike", "aws:SourceArn", [f"arn:aws:ec2:{region}:{names.account}:vpc-flow-log/*"]),
                )
            ],
            permissions=[
                Statement(
                    sid="WriteFlowLogGroup",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    resources=[self.log_group.arn, f"{self.log_group.arn}:*"],
                ),
                # DescribeLogGroups has no resource type (Service Authorization Reference,
                # CloudWatch Logs): a log-group ARN never matches it, only "*" does.
                Statement(sid="DescribeLogGroups", actions=["logs:DescribeLogGroups"], resources=["*"]),
            ],
        )
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
