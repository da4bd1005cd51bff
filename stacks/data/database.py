"""RDS PostgreSQL: CMK-encrypted, RDS-managed master password, TLS forced, isolated subnets."""

from __future__ import annotations

from collections.abc import Sequence

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.db_instance import DbInstance
from cdktf_cdktf_provider_aws.db_parameter_group import DbParameterGroup, DbParameterGroupParameter
from cdktf_cdktf_provider_aws.db_subnet_group import DbSubnetGroup
from constructs import Construct

from envspec import EnvironmentSpec, Names
from envspec.models import Database as DatabaseSettings
from envspec.models import PostgresParameters
from envspec.naming import POSTGRES_PORT
from stacks.checkov import skip_check
from stacks.iam import AWS_MANAGED, Role, service_trust, source_account
from stacks.kms import CustomerManagedKey
from stacks.logs import encrypted_log_group

EXPORTED_LOGS = ("postgresql", "upgrade")
# Fixed settings of the parameter group; the environment's own are in `spec.database.parameters`.
FIXED_PARAMETERS = {
    "rds.force_ssl": "1",  # refuse unencrypted connections
    "log_statement": "ddl",
    "log_connections": "1",
    "log_disconnections": "1",
    "log_lock_waits": "1",
    # Query statistics (the pg_stat_statements view, after CREATE EXTENSION), for slow-query work.
    "shared_preload_libraries": "pg_stat_statements",
}
# Static parameters (PostgreSQL context `postmaster`) take effect only after a reboot, and RDS refuses
# `immediate` for them ("RDS for PostgreSQL parameters": static parameters need pending-reboot). The
# tests read each parameter's context from a real PostgreSQL 15 server to keep this set true.
STATIC_PARAMETERS = frozenset({"shared_preload_libraries"})
CA_CERTIFICATE = "rds-ca-rsa2048-g1"


def parameters_for(settings: PostgresParameters) -> dict[str, str]:
    """Every parameter the group sets, by PostgreSQL name (milliseconds and kB are the units PostgreSQL assumes)."""
    return {
        **FIXED_PARAMETERS,
        "idle_in_transaction_session_timeout": str(settings.idle_in_transaction_session_timeout_ms),
        "log_min_duration_statement": str(settings.log_min_duration_statement_ms),
        "log_autovacuum_min_duration": str(settings.log_autovacuum_min_duration_ms),
        "log_temp_files": str(settings.log_temp_files_kb),
    }


def parameter_group(scope: Construct, *, identifier: str, settings: DatabaseSettings, description: str) -> DbParameterGroup:
    """The instance's parameter group: the spec's settings plus the fixed ones, static ones applied at reboot.

    A name prefix, not a name: with create_before_destroy a replacing change (family, description)
    creates the new group first, which a fixed name would make fail as a duplicate."""
    return DbParameterGroup(
        scope,
        "parameter_group",
        name_prefix=f"{identifier}-postgres{settings.engine_major_version}-",
        family=f"postgres{settings.engine_major_version}",
        description=description,
        parameter=[
            DbParameterGroupParameter(name=name, value=value, apply_method="pending-reboot" if name in STATIC_PARAMETERS else "immediate")
            for name, value in sorted(parameters_for(settings.parameters).items())
        ],
        tags={"Name": identifier},
        lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
    )


def exported_log_groups(scope: Construct, *, identifier: str, retention_days: int, key: CustomerManagedKey) -> list[CloudwatchLogGroup]:
    """Created before the instance so RDS exports into encrypted groups with a retention."""
    return [
        encrypted_log_group(scope, f"{log}_log_group", name=f"/aws/rds/instance/{identifier}/{log}", retention_days=retention_days, key=key)
        for log in EXPORTED_LOGS
    ]


def monitoring_role(scope: Construct, *, names: Names, identifier: str) -> Role:
    """The role RDS enhanced monitoring publishes with."""
    return Role(
        scope,
        "monitoring_role",
        name=f"{names.prefix}-rds-monitoring",
        description=f"Enhanced monitoring of {identifier}",
        trust=[service_trust("monitoring.rds.amazonaws.com", source_account(names.account))],
        managed_policies=[f"{AWS_MANAGED}service-role/AmazonRDSEnhancedMonitoringRole"],
    )


class Database(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: EnvironmentSpec,
        names: Names,
        data_key: CustomerManagedKey,
        secrets_key: CustomerManagedKey,
        subnet_ids: Sequence[str],
        security_group_id: str,
    ):
        super().__init__(scope, construct_id)
        database = spec.database
        identifier = names.database_identifier
        subnet_group = DbSubnetGroup(
            self,
            "subnet_group",
            name=identifier,
            description=f"Isolated subnets of {identifier}",
            subnet_ids=list(subnet_ids),
            tags={"Name": identifier},
        )
        parameters = parameter_group(
            self, identifier=identifier, settings=database, description=f"{identifier}: TLS required, slow and DDL statements logged"
        )
        log_groups = exported_log_groups(self, identifier=identifier, retention_days=database.log_retention_days, key=data_key)
        monitoring = monitoring_role(self, names=names, identifier=identifier)
        self.instance = DbInstance(
            self,
            "instance",
            identifier=identifier,
            engine="postgres",
            engine_version=database.engine_major_version,
            auto_minor_version_upgrade=True,
            allow_major_version_upgrade=False,
            instance_class=database.instance_class,
            db_name=names.database_name,
            username=names.database_username,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=secrets_key.arn,
            iam_database_authentication_enabled=True,
            port=POSTGRES_PORT,
            storage_type="gp3",
            allocated_storage=database.allocated_storage_gib,
            max_allocated_storage=database.max_allocated_storage_gib,
            storage_encrypted=True,
            kms_key_id=data_key.arn,
            multi_az=database.multi_az,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[security_group_id],
            publicly_accessible=False,
            parameter_group_name=parameters.name,
            ca_cert_identifier=CA_CERTIFICATE,
            backup_retention_period=database.backup_retention_days,
            backup_window=database.backup_window_utc,
            maintenance_window=database.maintenance_window_utc,
            copy_tags_to_snapshot=True,
            delete_automated_backups=False,
            deletion_protection=database.deletion_protection,
            skip_final_snapshot=not database.final_snapshot,
            final_snapshot_identifier=f"{identifier}-final" if database.final_snapshot else None,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=data_key.arn,
            performance_insights_retention_period=database.performance_insights_retention_days,
            monitoring_interval=database.monitoring_interval_seconds,
            monitoring_role_arn=monitoring.arn,
            enabled_cloudwatch_logs_exports=list(EXPORTED_LOGS),
            apply_immediately=False,
            tags={"Name": identifier, **names.backup_tags},
            depends_on=log_groups,
        )
        if not database.multi_az:
            skip_check(self.instance, "CKV_AWS_157", f"single-AZ by design in the {spec.profile} profile; production is Multi-AZ")
        if not database.deletion_protection:
            skip_check(self.instance, "CKV_AWS_293", f"{spec.profile} databases are disposable; production has deletion protection")
