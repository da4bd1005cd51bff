"""VPC endpoints so nodes reach S3, ECR, STS, Secrets Manager, CloudWatch Logs and Systems Manager
without the NAT, each with a policy that admits only this account's principals and, where the
service allows it, only this account's resources (see endpoint_policies.py)."""

from __future__ import annotations

from collections.abc import Sequence

from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from cdktf_cdktf_provider_aws.vpc_endpoint import VpcEndpoint
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from envspec import EnvironmentSpec, Names
from stacks.checkov import skip_check
from stacks.network.endpoint_policies import gateway_statements, interface_statements
from stacks.policy import policy_document

# ssm, ssmmessages and ec2messages: Session Manager on the API access host (stacks/cluster/api_access.py).
INTERFACE_SERVICES = ("ecr.api", "ecr.dkr", "sts", "secretsmanager", "logs", "ssm", "ssmmessages", "ec2messages")


class VpcEndpoints(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: EnvironmentSpec,
        names: Names,
        vpc: Vpc,
        subnets: Sequence[Subnet],
        route_table_ids: Sequence[str],
    ):
        super().__init__(scope, construct_id)
        region = spec.aws.region
        self.security_group = SecurityGroup(
            self,
            "security_group",
            name=f"{names.prefix}-vpc-endpoints",
            description="HTTPS from inside the VPC to the interface endpoints",
            vpc_id=vpc.id,
            tags={"Name": f"{names.prefix}-vpc-endpoints"},
        )
        VpcSecurityGroupIngressRule(
            self,
            "https_from_vpc",
            security_group_id=self.security_group.id,
            description="HTTPS from the VPC",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4=str(spec.network.vpc_cidr),
        )
        s3_policy = policy_document(self, "s3_policy", statements=gateway_statements(names))
        skip_check(
            s3_policy,
            "CKV_AWS_283",
            "a VPC endpoint policy, which only narrows requests leaving this VPC; its one statement without a principal "
            "condition reads objects of named AWS-owned buckets (ECR layers through URLs ECR presigns, Amazon Linux and "
            "SSM Agent packages), requests that carry no principal of this account",
        )
        self.gateway = VpcEndpoint(
            self,
            "s3",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=list(route_table_ids),
            policy=s3_policy.json,
            tags={"Name": f"{names.prefix}-s3"},
        )
        self.interfaces = {
            service: VpcEndpoint(
                self,
                service.replace(".", "_"),
                vpc_id=vpc.id,
                service_name=f"com.amazonaws.{region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=[subnet.id for subnet in subnets],
                security_group_ids=[self.security_group.id],
                policy=policy_document(self, f"{service.replace('.', '_')}_policy", statements=interface_statements(names, service)).json,
                tags={"Name": f"{names.prefix}-{service.replace('.', '-')}"},
            )
            for service in INTERFACE_SERVICES
        }
