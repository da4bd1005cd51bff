"""ElastiCache Redis 7: encrypted at rest (CMK) and in transit, AUTH token kept in Secrets Manager."""

from __future__ import annotations

from collections.abc import Sequence

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.elasticache_parameter_group import ElasticacheParameterGroup, ElasticacheParameterGroupParameter
from cdktf_cdktf_provider_aws.elasticache_replication_group import (
    ElasticacheReplicationGroup,
    ElasticacheReplicationGroupLogDeliveryConfiguration,
)
from cdktf_cdktf_provider_aws.elasticache_subnet_group import ElasticacheSubnetGroup
from constructs import Construct

from envspec import EnvironmentSpec, Names
from envspec.naming import REDIS_PORT
from stacks.checkov import skip_check
from stacks.data.auth_token import RedisAuthToken
from stacks.kms import CustomerManagedKey
from stacks.logs import encrypted_log_group

LOG_TYPES = ("slow-log", "engine-log")
# Redis holds the AI worker's job queue and the users' sessions besides cached values: evicting a key
# under memory pressure would silently drop a queued job or log a user out. `noeviction` makes writes
# fail instead (an error the application sees, and the memory alarm fires first).
PARAMETERS = {"maxmemory-policy": "noeviction"}


class RedisCache(Construct):
    """One replication group. With two or more nodes: automatic failover across zones (Multi-AZ).

    The AUTH token comes from `RedisAuthToken` (auth_token.py). Raising `cache.auth_token_version`
    writes a new token and the group rotates to it with strategy ROTATE: ElastiCache then accepts the
    old and the new token, so running pods keep working until they restart with the new URL.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: EnvironmentSpec,
        names: Names,
        data_key: CustomerManagedKey,
        auth_token: RedisAuthToken,
        subnet_ids: Sequence[str],
        security_group_id: str,
    ):
        super().__init__(scope, construct_id)
        cache = spec.cache
        group_id = names.cache_replication_group
        subnet_group = ElasticacheSubnetGroup(
            self, "subnet_group", name=group_id, description=f"Isolated subnets of {group_id}", subnet_ids=list(subnet_ids)
        )
        self.auth_token = auth_token.value
        log_groups = {
            log: encrypted_log_group(
                self,
                f"{log.replace('-', '_')}_group",
                name=f"/aws/elasticache/{group_id}/{log}",
                retention_days=cache.log_retention_days,
                key=data_key,
            )
            for log in LOG_TYPES
        }
        family = f"redis{cache.engine_version.split('.')[0]}"
        # The family is part of the name, so the only replacing change (a new family) also brings a new
        # name and create_before_destroy never collides with the group in use.
        parameter_group = ElasticacheParameterGroup(
            self,
            "parameter_group",
            name=f"{group_id}-{family}",
            family=family,
            description="Redis settings of the application cache",
            parameter=[ElasticacheParameterGroupParameter(name=name, value=value) for name, value in sorted(PARAMETERS.items())],
            tags={"Name": f"{group_id}-{family}"},
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        highly_available = cache.num_nodes > 1
        self.group = ElasticacheReplicationGroup(
            self,
            "replication_group",
            replication_group_id=group_id,
            description=f"Redis cache and session store of {names.prefix}",
            engine="redis",
            engine_version=cache.engine_version,
            node_type=cache.node_type,
            num_cache_clusters=cache.num_nodes,
            port=REDIS_PORT,
            parameter_group_name=parameter_group.name,
            subnet_group_name=subnet_group.name,
            security_group_ids=[security_group_id],
            automatic_failover_enabled=highly_available,
            multi_az_enabled=highly_available,
            at_rest_encryption_enabled="true",
            kms_key_id=data_key.arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token=self.auth_token,
            auth_token_update_strategy="ROTATE",  # noqa: S106 - a rotation strategy, not a password
            auto_minor_version_upgrade="true",
            snapshot_retention_limit=cache.snapshot_retention_days,
            snapshot_window=cache.snapshot_window_utc,
            maintenance_window=cache.maintenance_window_utc,
            apply_immediately=False,
            log_delivery_configuration=[
                ElasticacheReplicationGroupLogDeliveryConfiguration(
                    destination=group.name, destination_type="cloudwatch-logs", log_format="json", log_type=log
                )
                for log, group in log_groups.items()
            ],
            tags={"Name": group_id},
        )

        if not highly_available:
            skip_check(self.group, "CKV2_AWS_50", f"one node by design in the {spec.profile} profile; production runs three with failover")

    @property
    def url(self) -> str:
        """rediss:// URL with the AUTH token, for the write-only secret value."""
        return f"rediss://:{self.auth_token}@{self.group.primary_endpoint_address}:{REDIS_PORT}"
