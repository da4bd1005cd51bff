"""VPC with public, private (workload) and isolated (database) subnets, and their routing."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.eip import Eip
from cdktf_cdktf_provider_aws.internet_gateway import InternetGateway
from cdktf_cdktf_provider_aws.nat_gateway import NatGateway
from cdktf_cdktf_provider_aws.route import Route
from cdktf_cdktf_provider_aws.route_table import RouteTable
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from constructs import Construct

from envspec import EnvironmentSpec, Names
from envspec.layout import layout_for

ANYWHERE = "0.0.0.0/0"


@dataclass(frozen=True)
class Tier:
    name: str
    tags: dict[str, str]


class VpcNetwork(Construct):
    """The VPC and its three subnet tiers across the spec's availability zones.

    Public subnets hold the ALB and the NAT gateway(s), private subnets the EKS nodes and pods,
    isolated subnets RDS and ElastiCache with no route out of the VPC.
    """

    def __init__(self, scope: Construct, construct_id: str, *, spec: EnvironmentSpec, names: Names):
        super().__init__(scope, construct_id)
        zones = spec.availability_zones
        layout = layout_for(spec)
        cluster_tag = {f"kubernetes.io/cluster/{names.cluster_name}": "shared"}

        self.vpc = Vpc(
            self,
            "vpc",
            cidr_block=str(spec.network.vpc_cidr),
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": names.vpc_name},
        )
        # Adopting the default security group with no rules makes it deny everything.
        DefaultSecurityGroup(self, "default_security_group", vpc_id=self.vpc.id, tags={"Name": f"{names.prefix}-default-deny"})

        tiers = {
            "public": Tier("public", {"kubernetes.io/role/elb": "1", **cluster_tag}),
            "private": Tier("private", {"kubernetes.io/role/internal-elb": "1", **cluster_tag, **names.karpenter_discovery_tags}),
            "isolated": Tier("isolated", {}),
        }
        cidrs = {"public": layout.public, "private": layout.private, "isolated": layout.isolated}
        self.subnets: dict[str, list[Subnet]] = {
            tier.name: [
                Subnet(
                    self,
                    f"{tier.name}_{zone}",
                    vpc_id=self.vpc.id,
                    cidr_block=str(cidr),
                    availability_zone=zone,
                    map_public_ip_on_launch=False,
                    tags={"Name": f"{names.prefix}-{tier.name}-{zone}", "Tier": tier.name, **tier.tags},
                )
                for zone, cidr in zip(zones, cidrs[tier.name], strict=True)
            ]
            for tier in tiers.values()
        }

        self.internet_gateway = InternetGateway(self, "internet_gateway", vpc_id=self.vpc.id, tags={"Name": names.prefix})
        public_routes = self._route_table("public", names, self.subnets["public"])
        Route(
            self,
            "public_default_route",
            route_table_id=public_routes.id,
            destination_cidr_block=ANYWHERE,
            gateway_id=self.internet_gateway.id,
        )

        nat_zones = zones[: spec.network.nat_gateway_count]
        # By zone: each private subnet routes through its own zone's gateway, or the one shared gateway.
        self.nat_gateways: dict[str, NatGateway] = {zone: self._nat_gateway(names, index, zone) for index, zone in enumerate(nat_zones)}
        self.private_route_tables = []
        for zone, subnet in zip(zones, self.subnets["private"], strict=True):
            table = self._route_table(f"private_{zone}", names, [subnet])
            nat = self.nat_gateways.get(zone, self.nat_gateways[nat_zones[0]])
            Route(self, f"private_{zone}_default_route", route_table_id=table.id, destination_cidr_block=ANYWHERE, nat_gateway_id=nat.id)
            self.private_route_tables.append(table)
        # Isolated subnets keep only the implicit local route.
        self.isolated_route_table = self._route_table("isolated", names, self.subnets["isolated"])

    def _route_table(self, label: str, names: Names, subnets: list[Subnet]) -> RouteTable:
        table = RouteTable(self, f"{label}_route_table", vpc_id=self.vpc.id, tags={"Name": f"{names.prefix}-{label.replace('_', '-')}"})
        for index, subnet in enumerate(subnets):
            RouteTableAssociation(self, f"{label}_route_table_association_{index}", route_table_id=table.id, subnet_id=subnet.id)
        return table

    def _nat_gateway(self, names: Names, index: int, zone: str) -> NatGateway:
        address = Eip(self, f"nat_address_{zone}", domain="vpc", tags={"Name": f"{names.prefix}-nat-{zone}"})
        return NatGateway(
            self,
            f"nat_gateway_{zone}",
            allocation_id=address.allocation_id,
            subnet_id=self.subnets["public"][index].id,
            tags={"Name": f"{names.prefix}-nat-{zone}"},
            depends_on=[self.internet_gateway],
        )
