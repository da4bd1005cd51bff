"""Rotation of the database login secrets by a Lambda function (alternating users, login_rotation.py).

The function runs in the private subnets with a security group that reaches only PostgreSQL (the
database's group) and HTTPS to the interface endpoints (Secrets Manager's among them; the private
DNS name resolves there). Its role follows the Secrets Manager User Guide, "Lambda rotation function
execution role permissions": the rotation actions on the secrets it rotates, GetSecretValue on the
master secret (alternating users), GetRandomPassword, the secrets key through Secrets Manager for
those secrets only, and the network interfaces Lambda creates in the VPC (Lambda Developer Guide,
"Giving Lambda functions access to resources in an Amazon VPC", required IAM permissions).

The package is built here, deterministically: the handler, the bootstrap's `database_roles.py`,
the RDS root certificates and the dependencies `make install` puts in ROTATION_LAMBDA_SITE, each
entry with a fixed timestamp and mode, in name order, stored uncompressed.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.lambda_function import LambdaFunctionVpcConfig
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from cdktf_cdktf_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from cdktf_cdktf_provider_aws.secretsmanager_secret_rotation import (
    SecretsmanagerSecretRotation,
    SecretsmanagerSecretRotationRotationRules,
)
from cdktf_cdktf_provider_aws.secretsmanager_secret_version import SecretsmanagerSecretVersion
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from envspec import EnvironmentSpec, Names
from envspec.naming import POSTGRES_PORT, RDS_CA_FILE
from stacks.iam import Role, service_trust
from stacks.kms import CustomerManagedKey
from stacks.lambda_package import packaged_function, reproducible_zip
from stacks.logs import encrypted_log_group
from stacks.policy import Condition, Statement
from synth.errors import SynthesisError

ROOT = Path(__file__).resolve().parents[2]
HANDLER_SOURCE = Path(__file__).with_name("login_rotation.py")
# Shipped beside the handler: the bootstrap's SCRAM verifier (standard library only) and the RDS roots.
DATABASE_ROLES_SOURCE = ROOT / "charts" / "database_roles.py"
RDS_CA_BUNDLE = ROOT / "charts" / "data" / RDS_CA_FILE
ROTATION_LAMBDA_SITE = ROOT / ".cache" / "rotation-lambda" / "site"
TIMEOUT_SECONDS = 30


class MissingRotationPackage(SynthesisError):
    """The function's dependencies are not installed (`make install`)."""


def package_files(site: Path = ROTATION_LAMBDA_SITE) -> dict[str, bytes]:
    """Every file of the function's package by its name in the zip."""
    if not (site / "pg8000").is_dir():
        raise MissingRotationPackage(
            f"the database login rotation function's dependencies are not installed in {site.relative_to(ROOT)}: "
            "run `make install` (it installs requirements/rotation-lambda.lock)"
        )
    files = {
        HANDLER_SOURCE.name: HANDLER_SOURCE.read_bytes(),
        DATABASE_ROLES_SOURCE.name: DATABASE_ROLES_SOURCE.read_bytes(),
        RDS_CA_BUNDLE.name: RDS_CA_BUNDLE.read_bytes(),
    }
    for path in site.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files[path.relative_to(site).as_posix()] = path.read_bytes()
    return files


def package(site: Path = ROTATION_LAMBDA_SITE) -> tuple[Path, str]:
    """The zip (the same bytes for the same files on every machine) and its base64 SHA-256."""
    files = package_files(site)
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return reproducible_zip(Path(tempfile.gettempdir()) / f"ai-subsidy-login-rotation-{digest.hexdigest()[:16]}.zip", files)


class LoginRotationFunction(Construct):
    """The function, its network and role, and one rotation schedule per login secret."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: EnvironmentSpec,
        names: Names,
        logs_key: CustomerManagedKey,
        secrets_key: CustomerManagedKey,
        secrets: dict[str, SecretsmanagerSecret],
        initial_versions: Sequence[SecretsmanagerSecretVersion],
        master_secret_arn: str,
        vpc_id: str,
        subnet_ids: Sequence[str],
        database_security_group_id: str,
        endpoint_security_group_id: str,
    ):
        super().__init__(scope, construct_id)
        name = names.login_rotation_function
        region, account = names.region, names.account
        self.security_group = SecurityGroup(
            self,
            "security_group",
            name=name,
            description=f"{name}: PostgreSQL to the database and HTTPS to the VPC endpoints, nothing else",
            vpc_id=vpc_id,
            tags={"Name": name},
        )
        for label, port, group in (("database", POSTGRES_PORT, database_security_group_id), ("endpoints", 443, endpoint_security_group_id)):
            VpcSecurityGroupEgressRule(
                self,
                f"to_{label}",
                security_group_id=self.security_group.id,
                description=f"{name} to the {label}",
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                referenced_security_group_id=group,
                tags={"Name": f"{name}-to-{label}"},
            )
        VpcSecurityGroupIngressRule(
            self,
            "database_from_rotation",
            security_group_id=database_security_group_id,
            description=f"PostgreSQL from {name}",
            ip_protocol="tcp",
            from_port=POSTGRES_PORT,
            to_port=POSTGRES_PORT,
            referenced_security_group_id=self.security_group.id,
            tags={"Name": f"{names.prefix}-database-from-rotation"},
        )

        self.log_group: CloudwatchLogGroup = encrypted_log_group(
            self, "log_group", name=f"/aws/lambda/{name}", retention_days=spec.database.log_retention_days, key=logs_key
        )
        rotated = [secret.arn for secret in secrets.values()]
        network_interfaces = f"arn:aws:ec2:{region}:{account}:network-interface/*"
        self.role = Role(
            self,
            "role",
            name=name,
            description=f"{name}: rotates the database login secrets (alternating users) with the master secret",
            trust=[service_trust("lambda.amazonaws.com")],
            permissions=[
                Statement(sid="WriteOwnLog", actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[f"{self.log_group.arn}:*"]),
                Statement(
                    sid="RotateTheLoginSecrets",
                    actions=[
                        "secretsmanager:DescribeSecret",
                        "secretsmanager:GetSecretValue",
                        "secretsmanager:PutSecretValue",
                        "secretsmanager:UpdateSecretVersionStage",
                    ],
                    resources=rotated,
                ),
                Statement(sid="ReadTheMasterSecret", actions=["secretsmanager:GetSecretValue"], resources=[master_secret_arn]),
                # GetRandomPassword acts on no secret (Service Authorization Reference: no resource type).
                Statement(sid="GeneratePasswords", actions=["secretsmanager:GetRandomPassword"], resources=["*"]),
                Statement(
                    sid="UseTheSecretsKeyForTheseSecretsOnly",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[secrets_key.arn],
                    conditions=[
                        Condition("StringEquals", "kms:ViaService", [f"secretsmanager.{region}.amazonaws.com"]),
                        Condition("StringEquals", "kms:EncryptionContext:SecretARN", [*rotated, master_secret_arn]),
                    ],
                ),
                Statement(
                    sid="CreateNetworkInterfacesInThePrivateSubnets",
                    actions=["ec2:CreateNetworkInterface"],
                    resources=[
                        network_interfaces,
                        *(f"arn:aws:ec2:{region}:{account}:subnet/{subnet}" for subnet in subnet_ids),
                        f"arn:aws:ec2:{region}:{account}:security-group/{self.security_group.id}",
                    ],
                ),
                Statement(
                    sid="ManageOwnNetworkInterfaces",
                    actions=["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
                    resources=[network_interfaces],
                ),
                # Describe actions support no resource-level permissions ("Resource": "*" only).
                Statement(sid="DescribeNetwork", actions=["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"], resources=["*"]),
            ],
        )
        archive, _ = package()
        self.function = packaged_function(
            self,
            archive=archive,
            handler_source=HANDLER_SOURCE,
            name=name,
            description="Rotates the database login secrets: alternating users, the master secret sets the passwords",
            role_arn=self.role.arn,
            timeout_seconds=TIMEOUT_SECONDS,
            memory_size=256,
            checkov_skips={
                "CKV_AWS_116": "Secrets Manager invokes rotation functions synchronously (Lambda Developer Guide, 'Using Lambda "
                "with Secrets Manager'); a dead-letter queue only receives asynchronous events; failures raise the Errors alarm",
            },
            # Both secrets share one window, so Secrets Manager may call for both at once; a throttled
            # synchronous call would fail that rotation step.
            reserved_concurrent_executions=len(secrets),
            vpc_config=LambdaFunctionVpcConfig(subnet_ids=list(subnet_ids), security_group_ids=[self.security_group.id]),
            # Lambda creates the function's network interfaces with the role's inline policy at creation.
            depends_on=[self.log_group, self.role.policy],
        )

        rotation = spec.login_rotation
        self.rotations: dict[str, SecretsmanagerSecretRotation] = {}
        for label, secret in secrets.items():
            key = label.replace("-", "_")
            permission = LambdaPermission(
                self,
                f"{key}_invoke",
                statement_id=f"secretsmanager-{label}",
                action="lambda:InvokeFunction",
                function_name=self.function.function_name,
                principal="secretsmanager.amazonaws.com",
                source_account=account,
                source_arn=secret.arn,
            )
            self.rotations[label] = SecretsmanagerSecretRotation(
                self,
                f"{key}_rotation",
                secret_id=secret.id,
                rotation_lambda_arn=self.function.arn,
                rotation_rules=SecretsmanagerSecretRotationRotationRules(
                    schedule_expression=rotation.schedule_expression, duration=rotation.duration
                ),
                rotate_immediately=rotation.rotate_immediately,
                depends_on=[permission, *initial_versions],
            )
