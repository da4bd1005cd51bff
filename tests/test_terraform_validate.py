"""`terraform validate` of every synthesized stack against the real hashicorp/aws 5.100.0 provider.

The provider is installed once per session (`terraform init -backend=false` on a configuration
that only requires it); each stack is then validated in its own folder sharing that install. The
provider comes from an offline mirror when one is found (tools/terraform_cli.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import STACK_IDS, Synthesis, require_binary
from tools.terraform_cli import AWS_PROVIDER_VERSION, terraform_environment


@pytest.fixture(scope="session")
def terraform() -> str:
    return require_binary("terraform", "install Terraform >= 1.11 (write-only arguments; the S3 backend's native lock file)")


@pytest.fixture(scope="session")
def provider_install(terraform: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = tmp_path_factory.mktemp("terraform-providers")
    config = {"terraform": {"required_providers": {"aws": {"source": "aws", "version": AWS_PROVIDER_VERSION}}}}
    (workspace / "main.tf.json").write_text(json.dumps(config))
    result = subprocess.run(
        [terraform, "init", "-backend=false", "-input=false", "-no-color"],
        cwd=workspace,
        capture_output=True,
        text=True,
        env=terraform_environment(),
    )
    assert result.returncode == 0, f"terraform init failed:\n{result.stdout}\n{result.stderr}"
    return workspace


def test_stacks_require_the_pinned_provider(synthesis: Synthesis) -> None:
    for stack_id in STACK_IDS:
        required = synthesis.stack(stack_id)["terraform"]["required_providers"]
        assert required == {"aws": {"source": "aws", "version": AWS_PROVIDER_VERSION}}, stack_id


@pytest.mark.parametrize("stack_id", STACK_IDS)
def test_terraform_validate(stack_id: str, synthesis: Synthesis, terraform: str, provider_install: Path, tmp_path: Path) -> None:
    shutil.copy(synthesis.stack_file(stack_id), tmp_path / "cdk.tf.json")
    assets = synthesis.stack_file(stack_id).parent / "assets"  # files the configuration reads (Lambda packages)
    if assets.is_dir():
        shutil.copytree(assets, tmp_path / "assets")
    (tmp_path / ".terraform").symlink_to(provider_install / ".terraform")
    shutil.copy(provider_install / ".terraform.lock.hcl", tmp_path / ".terraform.lock.hcl")
    result = subprocess.run(
        [terraform, "validate", "-json", "-no-color"], cwd=tmp_path, capture_output=True, text=True, env=terraform_environment()
    )
    report = json.loads(result.stdout)
    problems = [f"{item['severity']}: {item['summary']}: {item.get('detail', '')}" for item in report["diagnostics"]]
    assert report["valid"] and result.returncode == 0, "\n".join(problems)
    assert not problems, "terraform validate warnings:\n" + "\n".join(problems)
