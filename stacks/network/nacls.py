"""Network ACLs: every subnet has its own, the VPC's default ACL denies everything and holds no subnet.

A subnet that is not explicitly associated with an ACL uses the VPC's default ACL (VPC User Guide,
"Control subnet traffic with network access control lists": "Each subnet in your VPC must be
associated with a network ACL. If you don't explicitly associate a subnet with a network ACL, the
subnet is automatically associated with the default network ACL"). So the public and private tiers
get explicit ACLs that pass everything (their security groups, which are stateful, do the filtering),
and the default ACL, adopted with no rules, is left with only its implicit deny and no subnet: a subnet
added later without an ACL carries no traffic until someone gives it one.

The isolated tier (RDS, ElastiCache) admits only the private tier (nodes and pods) on the database
and Redis ports. ACLs are stateless: the answers of the database go back to the client's ephemeral
source port, so outbound traffic to the private tier on 1024-65535 is allowed. That range is the VPC
User Guide's ("Ephemeral ports": Linux kernels use 32768-61000, Elastic Load Balancing and NAT
gateways 1024-65535; "to cover the different types of clients ... open ephemeral ports 1024-65535").
Redis traffic is also allowed between the isolated subnets, for replicas replicating from a primary
in another zone.

HTTPS from the private tier is admitted too, for one network interface this project does not place:
the `guardduty-data` endpoint GuardDuty creates for its runtime agent, in a subnet it "selects based on
IP availability", any subnet of the VPC (GuardDuty User Guide, "How the security agent connects to
GuardDuty": "for advanced network topologies, validate that a valid network path exists"). Nothing
else in the isolated tier listens on 443, and its security groups admit only 5432 and 6379.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network

from cdktf_cdktf_provider_aws.default_network_acl import DefaultNetworkAcl
from cdktf_cdktf_provider_aws.network_acl import NetworkAcl, NetworkAclEgress, NetworkAclIngress
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from constructs import Construct

from envspec import Names
from envspec.naming import POSTGRES_PORT, REDIS_PORT
from stacks.checkov import skip_check

EPHEMERAL_PORTS = (1024, 65535)
HTTPS_PORT = 443
ANYWHERE = "0.0.0.0/0"


def _ingress(rule_no: int, cidr: str, ports: tuple[int, int]) -> NetworkAclIngress:
    return NetworkAclIngress(rule_no=rule_no, action="allow", protocol="tcp", cidr_block=cidr, from_port=ports[0], to_port=ports[1])


def _egress(rule_no: int, cidr: str, ports: tuple[int, int]) -> NetworkAclEgress:
    return NetworkAclEgress(rule_no=rule_no, action="allow", protocol="tcp", cidr_block=cidr, from_port=ports[0], to_port=ports[1])


def isolated_rules(
    private_cidrs: Sequence[IPv4Network], isolated_cidrs: Sequence[IPv4Network]
) -> tuple[list[NetworkAclIngress], list[NetworkAclEgress]]:
    """Inbound: PostgreSQL, Redis and HTTPS (the GuardDuty agent's endpoint) from the private tier.
    Outbound: answers to the private tier's ephemeral ports. Both ways between isolated subnets: TCP
    1024-65535 (Redis replication)."""
    ingress, egress = [], []
    for index, cidr in enumerate(str(network) for network in private_cidrs):
        ingress.append(_ingress(100 + index, cidr, (POSTGRES_PORT, POSTGRES_PORT)))
        ingress.append(_ingress(110 + index, cidr, (REDIS_PORT, REDIS_PORT)))
        ingress.append(_ingress(120 + index, cidr, (HTTPS_PORT, HTTPS_PORT)))
        egress.append(_egress(100 + index, cidr, EPHEMERAL_PORTS))
    # Between isolated subnets: the Redis port lies inside the ephemeral range, so one rule each way
    # admits replication and its answers.
    for index, cidr in enumerate(str(network) for network in isolated_cidrs):
        ingress.append(_ingress(200 + index, cidr, EPHEMERAL_PORTS))
        egress.append(_egress(200 + index, cidr, EPHEMERAL_PORTS))
    return ingress, egress


class NetworkAcls(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        vpc: Vpc,
        subnets: dict[str, list[Subnet]],
        private_cidrs: Sequence[IPv4Network],
        isolated_cidrs: Sequence[IPv4Network],
    ):
        super().__init__(scope, construct_id)
        # No ingress or egress blocks: Terraform removes every rule, leaving the implicit deny.
        self.default = DefaultNetworkAcl(
            self, "default", default_network_acl_id=vpc.default_network_acl_id, tags={"Name": f"{names.prefix}-default-deny"}
        )
        self.acls = {
            tier: NetworkAcl(
                self,
                tier,
                vpc_id=vpc.id,
                subnet_ids=[subnet.id for subnet in subnets[tier]],
                ingress=[NetworkAclIngress(rule_no=100, action="allow", protocol="-1", cidr_block=ANYWHERE, from_port=0, to_port=0)],
                egress=[NetworkAclEgress(rule_no=100, action="allow", protocol="-1", cidr_block=ANYWHERE, from_port=0, to_port=0)],
                tags={"Name": f"{names.prefix}-{tier}"},
            )
            for tier in ("public", "private")
        }
        for acl in self.acls.values():
            for check_id in ("CKV_AWS_229", "CKV_AWS_230", "CKV_AWS_231", "CKV_AWS_232"):
                skip_check(
                    acl,
                    check_id,
                    "explicit pass-all ACL so no subnet falls back to the default ACL; the stateful security groups of the "
                    "load balancer, nodes and endpoints admit no FTP, SSH or RDP",
                )
        ingress, egress = isolated_rules(private_cidrs, isolated_cidrs)
        self.acls["isolated"] = NetworkAcl(
            self,
            "isolated",
            vpc_id=vpc.id,
            subnet_ids=[subnet.id for subnet in subnets["isolated"]],
            ingress=ingress,
            egress=egress,
            tags={"Name": f"{names.prefix}-isolated"},
        )
