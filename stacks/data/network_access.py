"""Security groups of the data stores: reachable only from the EKS cluster security group.

The port and the clients come from `envspec.topology`: pods reach the stores through the cluster
security group (control plane and nodes, hence pods), and a store no component connects to is an
error rather than an open port.
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from envspec import Names
from envspec.topology import DataStore, store_clients
from synth.errors import construct_error


def store_security_group(
    scope: Construct, construct_id: str, *, names: Names, store: DataStore, vpc_id: str, cluster_sg: str
) -> SecurityGroup:
    """A security group admitting the store's port from the cluster's security group only; no egress
    (the store never calls out)."""
    if not store_clients(store):
        raise construct_error(scope, f"{construct_id}: no component connects to the {store.purpose}; nothing to admit")
    purpose, port = store.purpose, store.port
    group = SecurityGroup(
        scope,
        construct_id,
        name=f"{names.prefix}-{purpose}",
        description=f"{purpose} of {names.prefix}: port {port} from the EKS cluster only",
        vpc_id=vpc_id,
        tags={"Name": f"{names.prefix}-{purpose}"},
    )
    VpcSecurityGroupIngressRule(
        scope,
        f"{construct_id}_from_cluster",
        security_group_id=group.id,
        description=f"{purpose} clients in the EKS cluster",
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        referenced_security_group_id=cluster_sg,
        tags={"Name": f"{names.prefix}-{purpose}-from-cluster"},
    )
    return group
