"""`ops dr switch-db`: the restored instance takes over the environment's name, credentials and
clients, against moto and the emulated Kubernetes API."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from envspec import Names
from ops.context import target
from ops.dr.switch import point_login_secrets
from tests.operations.conftest import ENV, World
from tests.operations.kubernetes_emulator import ClusterState, KubernetesEmulator

MANAGED_TAG = "aws:rds:primaryDBInstanceArn"
PURPOSES = ("database", "database-migration")  # the two login secrets


@pytest.fixture
def restored(world: World, run) -> str:
    result = run("dr", "restore-db", "--env", ENV, "--to", "latest", "--poll-seconds", "0", "--execute")
    assert result.code == 0, result.text
    return result.out.split("--instance ")[1].split()[0]


def _managed_secrets(names: Names) -> dict[str, str]:
    """RDS-managed secrets by the instance ARN they are tagged with."""
    secrets = boto3.client("secretsmanager", "ap-northeast-1").list_secrets()["SecretList"]
    tagged = {}
    for secret in secrets:
        tags = {tag["Key"]: tag["Value"] for tag in secret.get("Tags", [])}
        if MANAGED_TAG in tags:
            assert tags[MANAGED_TAG] not in tagged, f"two managed secrets for {tags[MANAGED_TAG]}"
            tagged[tags[MANAGED_TAG]] = secret["ARN"]
    return tagged


def test_dry_run_lists_the_steps_and_changes_nothing(restored: str, run, names: Names, kube: KubernetesEmulator) -> None:
    before = _managed_secrets(names)
    result = run("dr", "switch-db", "--env", ENV, "--instance", restored)
    assert result.code == 0, result.text
    assert f"3. rename {restored} -> ai-subsidy-production" in result.out
    assert "dry run: nothing was changed" in result.out
    rds = boto3.client("rds", "ap-northeast-1")
    assert {item["DBInstanceIdentifier"] for item in rds.describe_db_instances()["DBInstances"]} == {"ai-subsidy-production", restored}
    assert _managed_secrets(names) == before
    assert not [request for request in kube.state.requests if request.method == "PATCH"]


def test_switch_hands_the_name_credentials_and_clients_to_the_restored_instance(
    restored: str, world: World, run, names: Names, kube: KubernetesEmulator, cluster: ClusterState
) -> None:
    rds = boto3.client("rds", "ap-northeast-1")
    restored_resource_id = rds.describe_db_instances(DBInstanceIdentifier=restored)["DBInstances"][0]["DbiResourceId"]
    original_secret = world.instance["MasterUserSecret"]["SecretArn"]

    result = run("dr", "switch-db", "--env", ENV, "--instance", restored, "--poll-seconds", "0", "--execute")
    assert result.code == 0, result.text

    instances = {item["DBInstanceIdentifier"]: item for item in rds.describe_db_instances()["DBInstances"]}
    (replaced,) = [name for name in instances if name.startswith("ai-subsidy-production-replaced-")]
    assert set(instances) == {"ai-subsidy-production", replaced}
    current = instances["ai-subsidy-production"]
    assert current["DbiResourceId"] == restored_resource_id  # the restored copy now carries the name
    assert current["DBInstanceArn"] == names.database_arn
    assert instances[replaced]["DbiResourceId"] == world.instance["DbiResourceId"]
    assert "MasterUserSecret" not in instances[replaced]  # locked out: its secret is gone

    managed = _managed_secrets(names)
    assert managed[names.database_arn] == current["MasterUserSecret"]["SecretArn"] != original_secret
    assert current["MasterUserSecret"]["KmsKeyId"] == world.secrets_key  # the original's secret key
    app_secret = json.loads(
        boto3.client("secretsmanager", "ap-northeast-1").get_secret_value(SecretId=names.secret_name("database"))["SecretString"]
    )
    assert app_secret["host"] == current["Endpoint"]["Address"] and "password" not in app_secret
    _every_login_follows_the_instance(names, current)

    (refresh,) = cluster.patches("/externalsecrets/database-secret")
    assert refresh.content_type == "application/merge-patch+json"
    assert set(refresh.body["metadata"]["annotations"]) == {"force-sync"}
    restarted = [request.path.rsplit("/", 1)[1] for request in cluster.patches("/deployments/")]
    assert restarted == ["ai-subsidy-backend", "ai-worker"]
    for request in cluster.patches("/deployments/"):
        assert request.content_type == "application/strategic-merge-patch+json"
        assert "kubectl.kubernetes.io/restartedAt" in request.body["spec"]["template"]["metadata"]["annotations"]
    assert "terraform -chdir=cdktf.out/stacks/production-data import <address> ai-subsidy-production" in result.out


def _every_login_follows_the_instance(names: Names, current: dict[str, Any]) -> None:
    """Both logins name the switched instance and its master secret, which resolves: the alternating-users rotation
    reads the login's `masterarn` and signs in with it (stacks/data/login_rotation.py, setSecret; Secrets Manager User
    Guide, "Rotation strategies": alternating users, the superuser's credentials in a separate secret)."""
    secretsmanager = boto3.client("secretsmanager", "ap-northeast-1")
    master = current["MasterUserSecret"]["SecretArn"]
    for purpose in PURPOSES:
        login = json.loads(secretsmanager.get_secret_value(SecretId=names.secret_name(purpose))["SecretString"])
        assert (login["host"], int(login["port"]), login["masterarn"]) == (
            current["Endpoint"]["Address"],
            current["Endpoint"]["Port"],
            master,
        )
        assert login["username"] and login["engine"] == "postgres"  # the login's own keys are kept
    assert json.loads(secretsmanager.get_secret_value(SecretId=master)["SecretString"])["username"]


def test_after_a_switch_the_migration_login_and_both_masterarns_follow_and_a_rerun_writes_nothing(
    restored: str, world: World, run, names: Names
) -> None:
    """Before, only the application's login got the new host, and neither login the new master secret: the lockout
    removes the old instance's managed secret (`ManageMasterUserPassword` false), RDS creates a new one for the switched
    instance (a new ARN), and the next rotation of either login failed reading the stale `masterarn`."""
    secretsmanager = boto3.client("secretsmanager", "ap-northeast-1")
    stale = world.instance["MasterUserSecret"]["SecretArn"]
    result = run("dr", "switch-db", "--env", ENV, "--instance", restored, "--skip-kubernetes", "--poll-seconds", "0", "--execute")
    assert result.code == 0, result.text
    current = boto3.client("rds", "ap-northeast-1").describe_db_instances(DBInstanceIdentifier=names.database_identifier)["DBInstances"][0]
    assert current["MasterUserSecret"]["SecretArn"] != stale
    _every_login_follows_the_instance(names, current)

    def versions() -> dict[str, int]:
        listed = {purpose: secretsmanager.list_secret_version_ids(SecretId=names.secret_name(purpose)) for purpose in PURPOSES}
        return {purpose: len(item["Versions"]) for purpose, item in listed.items()}

    before = versions()
    assert point_login_secrets(target(ENV), current["Endpoint"], current["MasterUserSecret"]["SecretArn"]) == []
    assert versions() == before


def test_switching_to_the_environments_own_instance_is_refused(world: World, run) -> None:
    result = run("dr", "switch-db", "--env", ENV, "--instance", "ai-subsidy-production", "--skip-kubernetes", "--execute")
    assert result.code == 2
    assert "already the environment's database" in result.err


def test_an_unknown_restored_instance_is_refused(world: World, run) -> None:
    result = run("dr", "switch-db", "--env", ENV, "--instance", "ai-subsidy-production-restore-nope", "--skip-kubernetes", "--execute")
    assert result.code == 2
    assert result.err == "error: no instance ai-subsidy-production-restore-nope in ap-northeast-1; nothing was changed\n"
