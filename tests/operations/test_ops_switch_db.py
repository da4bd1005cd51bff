"""`ops dr switch-db`: the restored instance takes over the environment's name, credentials and
clients, against moto and the emulated Kubernetes API."""

from __future__ import annotations

import json

import boto3
import pytest

from envspec import Names
from tests.operations.conftest import ENV, World
from tests.operations.kubernetes_emulator import ClusterState, KubernetesEmulator

MANAGED_TAG = "aws:rds:primaryDBInstanceArn"


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

    (refresh,) = cluster.patches("/externalsecrets/database-secret")
    assert refresh.content_type == "application/merge-patch+json"
    assert set(refresh.body["metadata"]["annotations"]) == {"force-sync"}
    restarted = [request.path.rsplit("/", 1)[1] for request in cluster.patches("/deployments/")]
    assert restarted == ["ai-subsidy-backend", "ai-worker"]
    for request in cluster.patches("/deployments/"):
        assert request.content_type == "application/strategic-merge-patch+json"
        assert "kubectl.kubernetes.io/restartedAt" in request.body["spec"]["template"]["metadata"]["annotations"]
    assert "terraform -chdir=cdktf.out/stacks/production-data import <address> ai-subsidy-production" in result.out


def test_switching_to_the_environments_own_instance_is_refused(world: World, run) -> None:
    result = run("dr", "switch-db", "--env", ENV, "--instance", "ai-subsidy-production", "--skip-kubernetes", "--execute")
    assert result.code == 2
    assert "already the environment's database" in result.err


def test_an_unknown_restored_instance_is_refused(world: World, run) -> None:
    result = run("dr", "switch-db", "--env", ENV, "--instance", "ai-subsidy-production-restore-nope", "--skip-kubernetes", "--execute")
    assert result.code == 2
    assert result.err == "error: no instance ai-subsidy-production-restore-nope in ap-northeast-1; nothing was changed\n"
