"""`terraform plan` of every stack of one environment against a local AWS emulator (moto server).

The environment is synthesized for the emulator target (`--aws-emulator`, never the default): every
provider calls moto on loopback and every stack keeps local state, so cross-stack references read
real state files. Upstream stacks are applied only as far as downstream plans need their outputs
(VPC and subnets; the EKS cluster); then every stack is planned.

What the emulator (moto 5.2) lacks, and why nothing more is applied:
- EKS CreateAddon, CreateAccessEntry and CreatePodIdentityAssociation are not implemented (404), so
  the cluster stack's add-ons, access entries and Pod Identity associations can only be planned;
- moto's EKS cluster has no `cluster_security_group_id`, so the data stack plans its security-group
  rules against an empty reference;
- ElastiCache replication groups cannot be applied (member clusters are not emulated).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from envspec.naming import LAYERS
from tests.conftest import require_binary, run_synth
from tools.terraform_cli import terraform_environment

ENVIRONMENT = "production"
# What each upstream stack must have applied for the stacks after it to plan.
APPLY_FOR_DOWNSTREAM = {"network": ("aws_vpc", "aws_subnet"), "cluster": ("aws_eks_cluster",)}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    port = _free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)  # noqa: S310 - loopback emulator
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("moto_server did not start")
            time.sleep(0.2)
    yield endpoint
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="module")
def emulator_stacks(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("emulator")
    result = run_synth(
        out / "cdktf.out",
        out / "dist",
        "--env",
        ENVIRONMENT,
        "--target",
        "terraform",
        "--aws-emulator",
        moto_endpoint,
        "--emulator-state-dir",
        str(out / "state"),
    )
    assert result.returncode == 0, result.stderr
    return out / "cdktf.out" / "stacks"


def _terraform(terraform: str, stack_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **terraform_environment(),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # moto accepts any key; never a real credential
        "AWS_REGION": "ap-northeast-1",
    }
    return subprocess.run([terraform, *args, "-input=false", "-no-color"], cwd=stack_dir, capture_output=True, text=True, env=env)


def test_every_stack_plans_against_the_emulator(emulator_stacks: Path) -> None:
    terraform = require_binary("terraform", "install Terraform >= 1.11")
    for layer in LAYERS:
        stack_dir = emulator_stacks / f"{ENVIRONMENT}-{layer}"
        document = json.loads((stack_dir / "cdk.tf.json").read_text())
        assert "local" in document["terraform"]["backend"] and "endpoints" in document["provider"]["aws"][0]
        init = _terraform(terraform, stack_dir, "init")
        assert init.returncode == 0, init.stdout + init.stderr

        plan = _terraform(terraform, stack_dir, "plan", "-lock=false", "-detailed-exitcode")
        assert plan.returncode == 2, f"plan of {stack_dir.name} failed:\n{plan.stdout[-3000:]}\n{plan.stderr[-3000:]}"
        assert "Plan:" in plan.stdout and " to add" in plan.stdout

        if layer in APPLY_FOR_DOWNSTREAM:
            targets = [
                f"-target={resource_type}.{logical_id}"
                for resource_type in APPLY_FOR_DOWNSTREAM[layer]
                for logical_id in document["resource"][resource_type]
            ]
            apply = _terraform(terraform, stack_dir, "apply", "-auto-approve", "-lock=false", *targets)
            assert apply.returncode == 0, f"apply of {stack_dir.name} failed:\n{apply.stderr[-3000:]}"


def test_the_emulator_target_is_never_the_default(synthesis) -> None:
    for stack_id in synthesis.stack_ids:
        document = synthesis.stack(stack_id)
        for provider in document["provider"]["aws"]:
            assert not {"endpoints", "skip_credentials_validation", "access_key"} & set(provider), stack_id
        assert list(document["terraform"]["backend"]) == (["local"] if stack_id.endswith("-state") else ["s3"]), stack_id
