"""`DatabaseReplica`: the standby's cross-region read replica of the primary's PostgreSQL instance.

What RDS requires of a cross-region replica, and what the Terraform AWS provider (hashicorp/aws 5.100.0,
`aws_db_instance`) lets a replica set:

- `replicate_source_db` is the source's ARN (not its identifier) when the source is in another region
  (provider docs, `replicate_source_db`: "If the replica is in a different region, specify the ARN"); the
  engine, its version, the database name and the master user come from the source and are not set here
  (a replica refuses `username`, `db_name` and `manage_master_user_password`: the password is the source's,
  RDS User Guide "Password management with Amazon RDS and AWS Secrets Manager", limitations: "you can't
  manage the master user password for a read replica").
- An encrypted source needs `kms_key_id`, a key of the replica's region (RDS User Guide, "Creating a read
  replica in a different AWS Region": "you must specify a KMS key identifier valid for the destination
  Region"), and a DB subnet group of that region (`db_subnet_group_name`, the DR isolated subnets).
- Its parameter group is its own, in its region (parameter groups are regional); the same settings as the
  primary's (`parameters_for`), so the promoted instance behaves the same.
- Automated backups on the replica (PostgreSQL 14.1 and later, RDS User Guide "Working with read replicas
  for PostgreSQL"), so the promoted instance has point-in-time recovery from the start; a replica takes no
  final snapshot (RDS refuses FinalDBSnapshotIdentifier when deleting a read replica).
"""

from __future__ import annotations

from collections.abc import Sequence

from cdktf_cdktf_provider_aws.db_instance import DbInstance
from cdktf_cdktf_provider_aws.db_subnet_group import DbSubnetGroup
from constructs import Construct

from envspec import Names
from envspec.models import Database as DatabaseSettings
from envspec.naming import POSTGRES_PORT
from stacks.checkov import skip_check
from stacks.data.database import CA_CERTIFICATE, EXPORTED_LOGS, exported_log_groups, monitoring_role, parameter_group
from stacks.kms import CustomerManagedKey


class DatabaseReplica(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DatabaseSettings,
        names: Names,
        source_arn: str,
        data_key: CustomerManagedKey,
        subnet_ids: Sequence[str],
        security_group_id: str,
    ):
        super().__init__(scope, construct_id)
        identifier = names.database_identifier
        subnet_group = DbSubnetGroup(
            self, "subnet_group", name=identifier, description=f"Isolated subnets of {identifier}", subnet_ids=list(subnet_ids)
        )
        self.parameter_group = parameter_group(
            self,
            identifier=identifier,
            settings=settings,
            description=f"{identifier}: TLS required, slow and DDL statements logged (as the primary)",
        )
        log_groups = exported_log_groups(self, identifier=identifier, retention_days=settings.log_retention_days, key=data_key)
        monitoring = monitoring_role(self, names=names, identifier=identifier)
        self.instance = DbInstance(
            self,
            "instance",
            identifier=identifier,
            replicate_source_db=source_arn,
            instance_class=settings.instance_class,
            auto_minor_version_upgrade=True,
            iam_database_authentication_enabled=True,
            port=POSTGRES_PORT,
            storage_type="gp3",
            max_allocated_storage=settings.max_allocated_storage_gib,
            storage_encrypted=True,
            kms_key_id=data_key.arn,
            multi_az=settings.multi_az,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[security_group_id],
            publicly_accessible=False,
            parameter_group_name=self.parameter_group.name,
            ca_cert_identifier=CA_CERTIFICATE,
            backup_retention_period=settings.backup_retention_days,
            backup_window=settings.backup_window_utc,
            maintenance_window=settings.maintenance_window_utc,
            copy_tags_to_snapshot=True,
            delete_automated_backups=False,
            deletion_protection=settings.deletion_protection,
            skip_final_snapshot=True,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=data_key.arn,
            performance_insights_retention_period=settings.performance_insights_retention_days,
            monitoring_interval=settings.monitoring_interval_seconds,
            monitoring_role_arn=monitoring.arn,
            enabled_cloudwatch_logs_exports=list(EXPORTED_LOGS),
            apply_immediately=False,
            tags={"Name": identifier, "ReplicaOf": source_arn},
            depends_on=log_groups,
        )
        if not settings.multi_az:
            skip_check(
                self.instance,
                "CKV_AWS_157",
                "a read replica in one zone while it stands by; made Multi-AZ after promotion (docs/disaster-recovery.md)",
            )
        if not settings.deletion_protection:
            skip_check(self.instance, "CKV_AWS_293", "the replica of a disposable database; production's has deletion protection")
