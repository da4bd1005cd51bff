"""Subnet plan derived from the VPC CIDR: large private subnets (EKS pods take VPC addresses),
small public and isolated ones carved from the last quarter.

A pure function of the spec, read by the network stack (which builds the subnets) and by the
Kubernetes network policies (which allow traffic by subnet range), so it lives with the spec.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from envspec.models import EnvironmentSpec


@dataclass(frozen=True)
class SubnetLayout:
    public: tuple[ipaddress.IPv4Network, ...]
    private: tuple[ipaddress.IPv4Network, ...]
    isolated: tuple[ipaddress.IPv4Network, ...]

    @property
    def interface_endpoints(self) -> tuple[ipaddress.IPv4Network, ...]:
        """Subnets holding the interface VPC endpoints' network interfaces (the network stack puts
        one in every private subnet), which pods reach AWS APIs through."""
        return self.private


def subnet_layout(vpc: ipaddress.IPv4Network, az_count: int) -> SubnetLayout:
    """Quarters 1-3 hold one private subnet per zone; quarter 4 splits into eighths: public
    subnets first, isolated (database) subnets from the middle on."""
    quarters = list(vpc.subnets(prefixlen_diff=2))
    eighths = list(quarters[3].subnets(prefixlen_diff=3))
    return SubnetLayout(
        public=tuple(eighths[:az_count]),
        private=tuple(quarters[:az_count]),
        isolated=tuple(eighths[4 : 4 + az_count]),
    )


def layout_for(spec: EnvironmentSpec) -> SubnetLayout:
    return subnet_layout(spec.network.vpc_cidr, len(spec.availability_zones))
