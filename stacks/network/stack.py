"""`<env>-network` (and the standby's `<env>-dr-network`, the same stack on the standby's names): everything
else runs inside this VPC. Other stacks read the typed attributes below, never the constructs."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.nat_gateway import NatGateway
from constructs import Construct

from envspec import EnvironmentSpec, Names
from envspec.layout import layout_for
from stacks.base import EnvironmentStack
from stacks.kms import CustomerManagedKey
from stacks.logs import log_service_statement
from stacks.network.endpoints import VpcEndpoints
from stacks.network.flow_logs import FlowLogs
from stacks.network.nacls import NetworkAcls
from stacks.network.vpc import VpcNetwork


class NetworkStack(EnvironmentStack):
    layer = "network"

    def __init__(self, scope: Construct, spec: EnvironmentSpec, *, names: Names | None = None):
        super().__init__(scope, spec, names=names)
        names, spec = self.names, self.spec
        self.key = CustomerManagedKey(
            self,
            "key",
            names=names,
            purpose="network",
            description=f"{names.prefix} network logs",
            statements=[log_service_statement(names)],
        )
        self.network = VpcNetwork(self, "vpc", spec=spec, names=names)
        FlowLogs(self, "flow_logs", spec=spec, names=names, vpc=self.network.vpc, key=self.key)
        layout = layout_for(spec)
        subnets = self.network.subnets
        self.vpc_id: str = self.network.vpc.id
        self.public_subnet_ids: list[str] = [subnet.id for subnet in subnets["public"]]
        self.private_subnet_ids: list[str] = [subnet.id for subnet in subnets["private"]]
        self.isolated_subnet_ids: list[str] = [subnet.id for subnet in subnets["isolated"]]
        self.nat_gateways: dict[str, NatGateway] = dict(self.network.nat_gateways)
        # The private tier's source addresses on the internet: the NAT gateways translate every outbound
        # connection to their Elastic IP (VPC User Guide, "NAT gateways": "the NAT gateway replaces the
        # source IP address of the instances with the IP address of the NAT gateway").
        self.nat_public_cidrs: list[str] = [f"{nat.public_ip}/32" for nat in self.nat_gateways.values()]
        self.acls = NetworkAcls(
            self,
            "acls",
            names=names,
            vpc=self.network.vpc,
            subnets=self.network.subnets,
            private_cidrs=layout.private,
            isolated_cidrs=layout.isolated,
        )
        self.endpoints = VpcEndpoints(
            self,
            "endpoints",
            spec=spec,
            names=names,
            vpc=self.network.vpc,
            subnets=self.network.subnets["private"],
            route_table_ids=[table.id for table in self.network.private_route_tables],
        )
        self.endpoint_security_group_id: str = self.endpoints.security_group.id

        self.output("vpc_id", self.network.vpc.id, "ID of the environment's VPC")
        self.output("vpc_cidr", self.network.vpc.cidr_block, "CIDR block of the VPC")
        for tier in ("public", "private", "isolated"):
            self.output(f"{tier}_subnet_ids", [subnet.id for subnet in subnets[tier]], f"IDs of the {tier} subnets, one per zone")
        self.output("nat_gateway_ids", [nat.id for nat in self.nat_gateways.values()], "IDs of the NAT gateways")
        self.output("nat_public_cidrs", self.nat_public_cidrs, "Source addresses (/32) of the private tier's internet traffic")
        self.output("vpc_endpoint_security_group_id", self.endpoints.security_group.id, "Security group of the interface endpoints")
