"""Operators' path to a private-only Kubernetes API: Session Manager port forwarding through a small
instance in a private subnet (docs/cluster.md, "Reaching a private API endpoint").

EKS's private endpoint answers only inside the VPC (EKS User Guide, "Cluster API server endpoint":
with public access disabled, "you must use a connected network ... or an Amazon EC2 bastion host").
This host opens no port: its security group has no inbound rule, and the SSM Agent reaches Systems
Manager outbound through the VPC's ssm/ssmmessages/ec2messages endpoints. An operator's
`aws ssm start-session --document-name AWS-StartPortForwardingSessionToRemoteHost` then forwards a
local port to the API endpoint's private addresses. The role carries AmazonSSMManagedInstanceCore and
nothing else; IMDSv2 only; encrypted root volume. The image is the current Amazon Linux 2023 AMI,
resolved by EC2 at launch from AWS's public parameter; replacing the instance patches it (it keeps
no state).
"""

from __future__ import annotations

from collections.abc import Sequence

from cdktf_cdktf_provider_aws.iam_instance_profile import IamInstanceProfile
from cdktf_cdktf_provider_aws.instance import Instance, InstanceLaunchTemplate, InstanceMetadataOptions, InstanceRootBlockDevice
from cdktf_cdktf_provider_aws.launch_template import LaunchTemplate, LaunchTemplateMetadataOptions
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from envspec import Names
from stacks.iam import AWS_MANAGED, Role, service_trust

AMI_PARAMETER = "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
INSTANCE_TYPE = "t3.micro"
HTTPS = 443


class ApiAccessHost(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        vpc_id: str,
        vpc_cidr: str,
        subnet_ids: Sequence[str],
        cluster_security_group_id: str,
    ):
        super().__init__(scope, construct_id)
        name = f"{names.prefix}-api-access"
        self.role = Role(
            self,
            "role",
            name=name,
            description=f"Session Manager host forwarding operators to the private API of {names.cluster_name}",
            trust=[service_trust("ec2.amazonaws.com")],
            managed_policies=[f"{AWS_MANAGED}AmazonSSMManagedInstanceCore"],
        )
        profile = IamInstanceProfile(self, "profile", name=name, role=self.role.role.name, tags={"Name": name})
        self.security_group = SecurityGroup(
            self,
            "security_group",
            name=name,
            description="Session Manager API access host: no inbound rule; HTTPS out to the VPC endpoints and the EKS API",
            vpc_id=vpc_id,
            tags={"Name": name},
        )
        VpcSecurityGroupEgressRule(
            self,
            "https_to_vpc",
            security_group_id=self.security_group.id,
            description="HTTPS to the Systems Manager endpoints and the Kubernetes API endpoint",
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            cidr_ipv4=vpc_cidr,
        )
        VpcSecurityGroupIngressRule(
            self,
            "api_from_access_host",
            security_group_id=cluster_security_group_id,
            description="Kubernetes API from the Session Manager access host",
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            referenced_security_group_id=self.security_group.id,
        )
        metadata = {"http_endpoint": "enabled", "http_tokens": "required", "http_put_response_hop_limit": 1}
        template = LaunchTemplate(
            self,
            "image",
            name=name,
            description=f"{name}: current Amazon Linux 2023 image, IMDSv2 only",
            image_id=AMI_PARAMETER,
            metadata_options=LaunchTemplateMetadataOptions(**metadata),
            tags={"Name": name},
        )
        self.instance = Instance(
            self,
            "instance",
            launch_template=InstanceLaunchTemplate(id=template.id, version="$Latest"),
            instance_type=INSTANCE_TYPE,
            subnet_id=subnet_ids[0],
            vpc_security_group_ids=[self.security_group.id],
            iam_instance_profile=profile.name,
            associate_public_ip_address=False,
            monitoring=True,
            ebs_optimized=True,
            metadata_options=InstanceMetadataOptions(**metadata),
            root_block_device=InstanceRootBlockDevice(encrypted=True, volume_type="gp3", volume_size=8, delete_on_termination=True),
            tags={"Name": name},
        )

    @property
    def instance_id(self) -> str:
        return self.instance.id
