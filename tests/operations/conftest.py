"""Fixtures for the ops CLI: moto as the AWS API, an emulated Kubernetes API, and a world that looks
like a deployed environment (the data stack's RDS instance, buckets and secrets, named from
envspec.naming exactly as the stacks name them).

Commands run in-process through `ops.cli.main`, as `python -m ops` would run them. moto's own
request recorder is the witness of what went over the wire, so tests can prove a setting was sent
explicitly rather than copied by the emulator.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import boto3
import botocore.loaders
import botocore.session
import pytest
import yaml
from moto import mock_aws
from moto.moto_api import recorder

from envspec import EnvironmentSpec, Names, names_for
from envspec.naming import DATABASE_APP_USER, DATABASE_MIGRATION_USER
from ops.cli import main
from tests.conftest import SPECS
from tests.operations.kubernetes_emulator import ClusterState, KubernetesEmulator

ENV = "production"


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@pytest.fixture
def spec() -> EnvironmentSpec:
    return SPECS[ENV]


@pytest.fixture
def names(spec: EnvironmentSpec) -> Names:
    return names_for(spec)


@pytest.fixture(scope="session", autouse=True)
def _one_botocore_loader() -> Iterator[None]:
    """One botocore data loader for every session the tests and the CLI create.

    Each `mock_aws()` resets boto3's default session and each ops command opens its own
    `boto3.Session`, so every test re-read the service models from disk (EC2's alone is several
    MB of JSON), about half of an ops test's time. botocore already shares one loader's models
    across all clients of a session (`instance_cache`), so sharing it across sessions too changes
    nothing the clients see.
    """
    loaders: dict[Any, botocore.loaders.Loader] = {}
    original = botocore.session.create_loader

    def shared(search_path_string: Any = None) -> botocore.loaders.Loader:
        if search_path_string not in loaders:
            loaders[search_path_string] = original(search_path_string)
        return loaders[search_path_string]

    botocore.session.create_loader = shared
    try:
        yield
    finally:
        botocore.session.create_loader = original


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, spec: EnvironmentSpec, tmp_path: Path) -> Iterator[None]:
    """moto in-process, with credentials for the environment's account and nothing from this machine."""
    for variable in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("MOTO_ACCOUNT_ID", spec.aws.account_id)
    # moto loads ~2,600 public AMIs into every EC2 region backend it creates (0.3 s a region, every
    # test); nothing here reads an AMI (moto/settings.py `ec2_load_default_amis`).
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    with mock_aws():
        yield


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]):
    def runner(*argv: str) -> Result:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return runner


class Recording:
    """Requests moto received, decoded (RDS speaks the query protocol: form-encoded bodies)."""

    def __init__(self, path: Path):
        self.path = path

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        found = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            body = base64.b64decode(entry["body"]).decode("utf-8", "replace") if entry.get("body_encoded") else entry.get("body") or ""
            found.append({**entry, "params": {key: values[0] for key, values in parse_qs(body).items()}})
        return found

    def calls(self, action: str) -> list[dict[str, str]]:
        return [entry["params"] for entry in self.entries() if entry["params"].get("Action") == action]


@pytest.fixture
def recording(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aws: None) -> Iterator[Recording]:
    path = tmp_path / "moto-recording.jsonl"
    # The recorder reads MOTO_RECORDER_FILEPATH once, at import; point this instance at the test's file.
    previous = recorder._location
    monkeypatch.setattr(recorder, "_location", str(path))
    recorder.reset_recording()
    recorder.start_recording()
    try:
        yield Recording(path)
    finally:
        recorder.stop_recording()
        recorder._location = previous


@dataclass
class World:
    names: Names
    subnet_group: str
    security_groups: list[str]
    parameter_group: str
    kms_key: str
    secrets_key: str
    instance: dict[str, Any]


def _network(region: str, cidr: str, zones: tuple[str, str]) -> tuple[list[str], str]:
    ec2 = boto3.client("ec2", region)
    vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=cidr.replace("0.0/16", f"{index}.0/24"), AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for index, zone in enumerate(zones, start=1)
    ]
    return subnets, vpc


def build_world(names: Names) -> World:
    """What the data stack deploys, as far as the ops CLI reads it."""
    spec = names.spec
    region = spec.aws.region
    subnets, vpc = _network(region, "10.0.0.0/16", ("ap-northeast-1a", "ap-northeast-1c"))
    ec2 = boto3.client("ec2", region)
    database_sg = ec2.create_security_group(GroupName=f"{names.prefix}-database", Description="database", VpcId=vpc)["GroupId"]
    rds, kms = boto3.client("rds", region), boto3.client("kms", region)
    data_key = kms.create_key(Description="data")["KeyMetadata"]["Arn"]
    secrets_key = kms.create_key(Description="secrets")["KeyMetadata"]["Arn"]
    subnet_group, parameter_group = f"{names.prefix}-database", f"{names.prefix}-postgres15"
    rds.create_db_subnet_group(DBSubnetGroupName=subnet_group, DBSubnetGroupDescription="isolated subnets", SubnetIds=subnets)
    rds.create_db_parameter_group(DBParameterGroupName=parameter_group, DBParameterGroupFamily="postgres15", Description="force TLS")
    rds.create_db_instance(
        DBInstanceIdentifier=names.database_identifier,
        DBName=names.database_name,
        Engine="postgres",
        EngineVersion="15.10",
        DBInstanceClass=spec.database.instance_class,
        AllocatedStorage=spec.database.allocated_storage_gib,
        MaxAllocatedStorage=spec.database.max_allocated_storage_gib,
        StorageType="gp3",
        StorageEncrypted=True,
        KmsKeyId=data_key,
        MasterUsername="ai_subsidy_admin",
        ManageMasterUserPassword=True,
        MasterUserSecretKmsKeyId=secrets_key,
        DBSubnetGroupName=subnet_group,
        VpcSecurityGroupIds=[database_sg],
        DBParameterGroupName=parameter_group,
        MultiAZ=spec.database.multi_az,
        BackupRetentionPeriod=spec.database.backup_retention_days,
        PreferredBackupWindow=spec.database.backup_window_utc,
        DeletionProtection=spec.database.deletion_protection,
        EnableIAMDatabaseAuthentication=True,
        EnableCloudwatchLogsExports=["postgresql", "upgrade"],
        CopyTagsToSnapshot=True,
        PubliclyAccessible=False,
        Tags=[{"Key": key, "Value": value} for key, value in [*names.tags().items(), names.backup_selection_tag]],
    )
    instance = rds.describe_db_instances(DBInstanceIdentifier=names.database_identifier)["DBInstances"][0]
    secretsmanager = boto3.client("secretsmanager", region)
    endpoint = instance["Endpoint"]
    # The two logins in the alternating-users format the data stack writes (stacks/data/secrets.py), the password
    # left out: no test needs one. `masterarn` is the RDS-managed master secret the rotation signs in with.
    for purpose, username in (("database", DATABASE_APP_USER), ("database-migration", DATABASE_MIGRATION_USER)):
        login = {
            "engine": "postgres", "host": endpoint["Address"], "port": endpoint["Port"], "dbname": names.database_name,
            "username": username, "masterarn": instance["MasterUserSecret"]["SecretArn"],
        }  # fmt: skip
        secretsmanager.create_secret(Name=names.secret_name(purpose), SecretString=json.dumps(login))
    s3 = boto3.client("s3", region)
    for purpose in ("files", "diagnostics"):
        s3.create_bucket(Bucket=names.bucket(purpose), CreateBucketConfiguration={"LocationConstraint": region})
        s3.put_bucket_versioning(Bucket=names.bucket(purpose), VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_lifecycle_configuration(
        Bucket=names.bucket("files"),
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "expire-noncurrent-versions",
                    "Status": "Enabled",
                    "Filter": {"Prefix": ""},
                    "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
                }
            ]
        },
    )
    return World(names, subnet_group, [database_sg], parameter_group, data_key, secrets_key, instance)


def add_replica(names: Names) -> None:
    """The backup stack's DR bucket and the replication rule it attaches to the files bucket."""
    spec = names.spec
    s3_dr = boto3.client("s3", spec.aws.dr_region)
    s3_dr.create_bucket(Bucket=names.bucket("files-dr"), CreateBucketConfiguration={"LocationConstraint": spec.aws.dr_region})
    s3_dr.put_bucket_versioning(Bucket=names.bucket("files-dr"), VersioningConfiguration={"Status": "Enabled"})
    boto3.client("s3", spec.aws.region).put_bucket_replication(
        Bucket=names.bucket("files"),
        ReplicationConfiguration={
            "Role": f"arn:aws:iam::{names.account}:role/{names.files_replication_role}",
            "Rules": [
                {
                    "ID": names.files_replication_rule,
                    "Status": "Enabled",
                    "Priority": 1,
                    "Filter": {"Prefix": ""},
                    "DeleteMarkerReplication": {"Status": "Enabled"},
                    "Destination": {
                        "Bucket": names.bucket_arn("files-dr"),
                        "ReplicationTime": {"Status": "Enabled", "Time": {"Minutes": 15}},
                        "Metrics": {"Status": "Enabled", "EventThreshold": {"Minutes": 15}},
                    },
                }
            ],
        },
    )


@pytest.fixture
def world(aws: None, names: Names) -> World:
    return build_world(names)


@pytest.fixture
def cluster() -> ClusterState:
    return ClusterState.from_fixtures()


@pytest.fixture
def kube(cluster: ClusterState, names: Names, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[KubernetesEmulator]:
    from ops.kube import cluster_contexts

    with KubernetesEmulator(cluster, cluster_contexts(names)[0]) as emulator:
        config = tmp_path / "kubeconfig"
        config.write_text(yaml.safe_dump(emulator.kubeconfig()), encoding="utf-8")
        monkeypatch.setenv("KUBECONFIG", str(config))
        yield emulator
