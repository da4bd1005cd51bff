"""The environment as its standby in `aws.dr_region` sees it: the same spec with the DR region, the DR VPC
and the standby's sizes (envspec/dr.py), so the standby's stacks are the primary's constructs with another
spec and `Names(side="dr")` rather than copies of them.

What changes: the regions swap (the primary becomes the standby's other region), the VPC range, zones and
NAT gateways are the DR ones, the cluster runs its system nodes only (Karpenter adds application capacity
on failover), the database is the read replica's class in one zone (Multi-AZ after promotion, docs/
disaster-recovery.md) and the cache is the standby's empty one. Everything else (hardening, versions,
retention, alarms) is the primary's.
"""

from __future__ import annotations

from envspec.models import DEFAULT_AVAILABILITY_ZONES, EnvironmentSpec, NodeGroups
from envspec.naming import mark_standby


def standby_spec(spec: EnvironmentSpec) -> EnvironmentSpec:
    """The spec of `spec`'s standby; refused for an environment without one (dr.mode backup-restore)."""
    dr = spec.dr
    if not dr.has_standby:
        raise ValueError(f"{spec.name} has no standby (dr.mode {dr.mode})")
    zones = DEFAULT_AVAILABILITY_ZONES[spec.aws.dr_region][: len(spec.availability_zones)]
    primary_system = spec.cluster.node_groups.system
    system = primary_system.model_copy(
        update={
            "min_size": dr.system_node_count,
            "desired_size": dr.system_node_count,
            "max_size": max(primary_system.max_size, dr.system_node_count),
        }
    )
    document = spec.model_copy(
        update={
            "aws": spec.aws.model_copy(update={"region": spec.aws.dr_region, "dr_region": spec.aws.region}),
            "network": spec.network.model_copy(
                update={"vpc_cidr": dr.vpc_cidr, "nat_gateways": dr.nat_gateways, "availability_zones": zones}
            ),
            "cluster": spec.cluster.model_copy(update={"node_groups": NodeGroups(system=system, application=None)}),
            "database": spec.database.model_copy(update={"instance_class": dr.database_instance_class, "multi_az": False}),
            "cache": spec.cache.model_copy(update={"node_type": dr.cache_node_type, "num_nodes": dr.cache_num_nodes}),
        }
    ).model_dump()
    # Validated again like an environment file, so the standby obeys every rule the primary does.
    return mark_standby(EnvironmentSpec.model_validate(document, context={"profile": spec.profile}))
