"""`terraform validate` of every synthesized stack against the real hashicorp/aws 5.100.0 provider.

All stacks are validated by one Terraform process: a root configuration that calls each stack's
JSON as a module (`module "<stack id>" { source = "./stacks/<stack id>" }`), so the provider's
schema loads once rather than once per stack. Each diagnostic names the file it is about, so each
stack's test still fails on its own problems only. `terraform validate` does not read a backend
block (a backend is configured by `init`, which runs here with `-backend=false`), and a module may
not carry one, so the copies leave it out. Should the combined run report any error (one that
could hide another stack's), every stack is validated alone as well, the first way, and each
test reads its own stack's result. The provider comes from an offline mirror when one is found
(tools/terraform_cli.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import STACK_IDS, Synthesis, require_binary
from tests.run_once import json_once
from tools.terraform_cli import AWS_PROVIDER_VERSION, terraform_environment


@pytest.fixture(scope="session")
def terraform() -> str:
    return require_binary("terraform", "install Terraform >= 1.11 (write-only arguments; the S3 backend's native lock file)")


def _run(terraform: str, workspace: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([terraform, *args, "-no-color"], cwd=workspace, capture_output=True, text=True, env=terraform_environment())


def _problems(diagnostics: list[dict[str, Any]]) -> list[str]:
    return [f"{item['severity']}: {item['summary']}: {item.get('detail', '')}" for item in diagnostics]


def _copy_assets(synthesis: Synthesis, stack_id: str, workspace: Path) -> None:
    assets = synthesis.stack_file(stack_id).parent / "assets"
    if assets.is_dir():
        shutil.copytree(assets, workspace / "assets", dirs_exist_ok=True)


def _validate_every_stack(synthesis: Synthesis, terraform: str, workspace: Path) -> dict[str, list[str]]:
    """stack id -> problems (errors and warnings) `terraform validate` reports for it."""
    modules = {}
    for stack_id in synthesis.stack_ids:
        document = synthesis.stack(stack_id)
        module = {**document, "terraform": {key: value for key, value in document["terraform"].items() if key != "backend"}}
        (workspace / "stacks" / stack_id).mkdir(parents=True)
        (workspace / "stacks" / stack_id / "cdk.tf.json").write_text(json.dumps(module))
        modules[stack_id] = {"source": f"./stacks/{stack_id}"}
        # Files a configuration reads (Lambda packages): Terraform resolves their relative paths against
        # the working directory, not the module, so they go where `terraform` runs.
        _copy_assets(synthesis, stack_id, workspace)
    (workspace / "main.tf.json").write_text(json.dumps({"module": modules}))
    init = _run(terraform, workspace, "init", "-backend=false", "-input=false")
    assert init.returncode == 0, f"terraform init failed:\n{init.stdout}\n{init.stderr}"
    result = _run(terraform, workspace, "validate", "-json")
    report = json.loads(result.stdout)
    problems: dict[str, list[str]] = {stack_id: [] for stack_id in synthesis.stack_ids}
    for diagnostic in report["diagnostics"]:
        filename = diagnostic.get("range", {}).get("filename", "")
        owner = filename.split("/")[1] if filename.startswith("stacks/") else None
        for stack_id in [owner] if owner in problems else problems:  # a diagnostic of no stack fails them all
            problems[stack_id] += _problems([diagnostic])
    if report["valid"] and result.returncode == 0:
        return problems
    for stack_id in synthesis.stack_ids:  # an error can stop Terraform before it checks the other modules
        alone = workspace / "alone" / stack_id
        alone.mkdir(parents=True)
        shutil.copy(synthesis.stack_file(stack_id), alone / "cdk.tf.json")
        _copy_assets(synthesis, stack_id, alone)
        (alone / ".terraform").symlink_to(workspace / ".terraform")
        shutil.copy(workspace / ".terraform.lock.hcl", alone / ".terraform.lock.hcl")
        result = _run(terraform, alone, "validate", "-json")
        report = json.loads(result.stdout)
        problems[stack_id] = _problems(report["diagnostics"]) or ([] if report["valid"] else [f"error: {result.stderr.strip()}"])
    return problems


@pytest.fixture(scope="session")
def validation(synthesis: Synthesis, terraform: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Every stack validated once per run (shared by every xdist worker)."""
    return json_once(
        tmp_path_factory, "terraform-validate", lambda: _validate_every_stack(synthesis, terraform, tmp_path_factory.mktemp("validate"))
    )


def test_stacks_require_the_pinned_provider(synthesis: Synthesis) -> None:
    for stack_id in STACK_IDS:
        required = synthesis.stack(stack_id)["terraform"]["required_providers"]
        assert required == {"aws": {"source": "aws", "version": AWS_PROVIDER_VERSION}}, stack_id


@pytest.mark.parametrize("stack_id", STACK_IDS)
def test_terraform_validate(stack_id: str, validation: dict[str, list[str]]) -> None:
    assert stack_id in validation, f"{stack_id} was not synthesized"
    problems = validation[stack_id]
    assert not [problem for problem in problems if problem.startswith("error")], "\n".join(problems)
    assert not problems, "terraform validate warnings:\n" + "\n".join(problems)
