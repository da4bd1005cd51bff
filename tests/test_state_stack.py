"""Remote state: the bootstrap bucket and every other stack's S3 backend."""

from __future__ import annotations

import pytest

from envspec import names_for
from envspec.naming import LAYERS
from tests.conftest import ENVIRONMENTS, SPECS, Synthesis, data_of, resources_of


def _by_bucket(stack: dict, resource_type: str, bucket_logical_id: str) -> dict:
    (item,) = [r for r in resources_of(stack, resource_type).values() if r["bucket"] == f"${{aws_s3_bucket.{bucket_logical_id}.id}}"]
    return item


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_state_bucket_is_versioned_encrypted_private_and_tls_only(env: str, synthesis: Synthesis) -> None:
    stack = synthesis.stack(f"{env}-state")
    names = names_for(SPECS[env])
    buckets = resources_of(stack, "aws_s3_bucket")
    (state_id,) = [logical for logical, bucket in buckets.items() if bucket["bucket"] == names.state_bucket]
    (key_id,) = resources_of(stack, "aws_kms_key")
    assert _by_bucket(stack, "aws_s3_bucket_versioning", state_id)["versioning_configuration"] == {"status": "Enabled"}
    (rule,) = _by_bucket(stack, "aws_s3_bucket_server_side_encryption_configuration", state_id)["rule"]
    assert rule["apply_server_side_encryption_by_default"] == {
        "sse_algorithm": "aws:kms",
        "kms_master_key_id": f"${{aws_kms_key.{key_id}.arn}}",
    }
    block = _by_bucket(stack, "aws_s3_bucket_public_access_block", state_id)
    assert all(
        block[flag] is True for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    )
    assert resources_of(stack, "aws_kms_key")[key_id]["enable_key_rotation"] is True
    aliases = [alias["name"] for alias in resources_of(stack, "aws_kms_alias").values()]
    assert names.state_kms_alias in aliases
    policy_ref = _by_bucket(stack, "aws_s3_bucket_policy", state_id)["policy"]
    document = data_of(stack, "aws_iam_policy_document")[policy_ref.split(".")[2]]
    (deny,) = [s for s in document["statement"] if s["effect"] == "Deny"]
    assert deny["condition"] == [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}]
    assert deny["actions"] == ["s3:*"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_bootstrap_stack_keeps_local_state(env: str, synthesis: Synthesis) -> None:
    assert "local" in synthesis.stack(f"{env}-state")["terraform"]["backend"]


@pytest.mark.parametrize("stack_id", [f"{env}-{layer}" for env in ENVIRONMENTS for layer in LAYERS if layer != "state"])
def test_remote_state_backend(stack_id: str, synthesis: Synthesis) -> None:
    env = stack_id.split("-", 1)[0]
    names = names_for(SPECS[env])
    backend = synthesis.stack(stack_id)["terraform"]["backend"]["s3"]
    assert backend == {
        "bucket": names.state_bucket,
        "key": f"{stack_id}/terraform.tfstate",
        "region": "ap-northeast-1",
        "encrypt": True,
        "kms_key_id": names.state_kms_alias_arn,
        "use_lockfile": True,
    }
    assert "dynamodb_table" not in backend
