"""`<env>-dr-data`: the standby's data tier in the DR region.

- PostgreSQL: the cross-region read replica of the primary (`DatabaseReplica`), encrypted with this stack's
  key, in the DR isolated subnets, with the primary's alarms plus `ReplicaLag`; promoted on failover.
- Redis: an empty replication group of its own (`RedisCache`, the primary's construct), with its own AUTH
  token and URL secret (`ai-subsidy/<env>-dr/...`): rebuilt empty rather than replicated
  (docs/disaster-recovery.md, "Redis on a region loss").
- Files: the primary's replica bucket (`<env>-backup`); the standby's pods get access to it.
- Secrets: every other secret is the primary's replica in this region (same name, `<env>-data`).
- Alarms go to this region's own topic (`<env_prefix>-dr-infrastructure-alarms`): a region loss takes the
  primary's topic with it, and the lag alarm matters most exactly then.
"""

from __future__ import annotations

from cdktf import Fn
from cdktf_cdktf_provider_aws.data_aws_kms_alias import DataAwsKmsAlias
from cdktf_cdktf_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from cdktf_cdktf_provider_aws.secretsmanager_secret_version import SecretsmanagerSecretVersion
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct

from envspec import EnvironmentSpec, Names
from envspec.topology import DataStore
from stacks.base import EnvironmentStack
from stacks.checkov import skip_check
from stacks.cluster.stack import ClusterStack
from stacks.data.auth_token import RedisAuthToken
from stacks.data.cache import RedisCache
from stacks.data.identities import WorkloadIdentities
from stacks.data.network_access import store_security_group
from stacks.data.replica import DatabaseReplica
from stacks.data.replica_lag import replica_lag_alarm
from stacks.data.secrets import ROTATION_REASON
from stacks.kms import CustomerManagedKey
from stacks.logs import log_service_statement
from stacks.network.stack import NetworkStack
from stacks.observability.alarms import cache_alarms, create_alarm, database_alarms
from stacks.observability.topic import EncryptedTopic, publishers


class StandbyDataStack(EnvironmentStack):
    layer = "data"

    def __init__(self, scope: Construct, spec: EnvironmentSpec, *, names: Names, network: NetworkStack, cluster: ClusterStack):
        if not names.is_standby:
            raise ValueError("StandbyDataStack takes the standby's names (names.standby)")
        super().__init__(scope, spec, names=names)
        names, spec = self.names, self.spec
        self.key = CustomerManagedKey(
            self,
            "key",
            names=names,
            purpose="data",
            description=f"{names.prefix} data at rest: the replica, Redis, their logs",
            statements=[log_service_statement(names)],
        )
        self.secrets_key = CustomerManagedKey(
            self, "secrets_key", names=names, purpose="secrets", description=f"{names.prefix} the standby's own secrets"
        )

        database_sg = store_security_group(
            self,
            "database_security_group",
            names=names,
            store=DataStore.DATABASE,
            vpc_id=network.vpc_id,
            cluster_sg=cluster.node_security_group_id,
        )
        cache_sg = store_security_group(
            self,
            "cache_security_group",
            names=names,
            store=DataStore.CACHE,
            vpc_id=network.vpc_id,
            cluster_sg=cluster.node_security_group_id,
        )
        source_arn = f"arn:aws:rds:{names.primary_region}:{names.account}:db:{names.env_prefix}"
        self.database = DatabaseReplica(
            self,
            "database",
            settings=spec.database,
            names=names,
            source_arn=source_arn,
            data_key=self.key,
            subnet_ids=network.isolated_subnet_ids,
            security_group_id=database_sg.id,
        )
        self.cache_auth_token = RedisAuthToken(self, "cache_auth_token", spec=spec, names=names, key=self.secrets_key)
        self.cache = RedisCache(
            self,
            "cache",
            spec=spec,
            names=names,
            data_key=self.key,
            auth_token=self.cache_auth_token,
            subnet_ids=network.isolated_subnet_ids,
            security_group_id=cache_sg.id,
        )
        redis = names.app_secret("redis-secret")
        self.redis_secret = SecretsmanagerSecret(
            self,
            "redis_secret",
            name=redis.remote_name,
            description=f"URL of the standby's Redis {names.cache_replication_group} (rebuilt empty; not the primary's replica)",
            kms_key_id=self.secrets_key.arn,
            recovery_window_in_days=spec.backup.secret_recovery_window_days,
            tags={"Name": redis.remote_name, "ConsumedBy": f"{redis.namespace}/{redis.kubernetes_name}"},
        )
        skip_check(self.redis_secret, "CKV2_AWS_57", ROTATION_REASON)
        SecretsmanagerSecretVersion(
            self,
            "redis_connection",
            secret_id=self.redis_secret.id,
            secret_string_wo=Fn.jsonencode({"url": self.cache.url}),
            secret_string_wo_version=spec.cache.auth_token_version,
        )

        # The primary's replicas in this region: same names, their own key (alias of `<env>-data`'s DR copy).
        replica_key = DataAwsKmsAlias(self, "replica_secrets_key", name=f"alias/{names.env_prefix}-secrets")
        files_key = DataAwsKmsAlias(self, "files_key", name=f"alias/{names.env_prefix}-backup-dr")
        replicas = {binding.kubernetes_name: names.secret_arn(binding.remote_name) for binding in names.synced_secrets}
        replicas[redis.kubernetes_name] = self.redis_secret.arn
        WorkloadIdentities(
            self,
            "identities",
            names=names,
            cluster_name=cluster.cluster_name,
            files_bucket_arn=names.bucket_arn("files-dr"),
            files_key_arn=files_key.target_key_arn,
            secrets_key_arns=[replica_key.target_key_arn, self.secrets_key.arn],
            secret_arns=replicas,
            store_secret_arns=list(replicas.values()),
            database_master_arn=None,
        )

        self.topic = EncryptedTopic(
            self,
            "alarm_topic",
            names=names,
            name=names.alarm_topic,
            display_name=f"{names.prefix} alarms",
            publishers=[publishers(names)["cloudwatch"]],
            key_topics=[names.alarm_topic],
        )
        for index, address in enumerate(spec.alarms.notification_emails):
            SnsTopicSubscription(self.topic, f"email_{index}", topic_arn=self.topic.arn, protocol="email", endpoint=address)
        self.definitions = [*database_alarms(spec, names), replica_lag_alarm(names), *cache_alarms(spec, names)]
        self.alarms = [create_alarm(self, names=names, definition=definition, topic_arn=self.topic.arn) for definition in self.definitions]

        instance = self.database.instance
        self.output("database_identifier", instance.identifier, "Identifier of the read replica (promoted on failover)")
        self.output("database_arn", instance.arn, "ARN of the read replica")
        self.output("database_endpoint", instance.address, "Endpoint host name of the replica")
        self.output("cache_replication_group_id", self.cache.group.id, "The standby's Redis replication group")
        self.output("cache_primary_endpoint", self.cache.group.primary_endpoint_address, "The standby's Redis primary endpoint")
        self.output("alarm_topic_arn", self.topic.arn, "The standby region's alarm topic")
        self.output("alarm_names", [alarm.alarm_name for alarm in self.alarms], "Names of the standby's CloudWatch alarms")
