"""The pull-request summary (`make pr-summary`): stack and manifest changes against a base
synthesis, resources to add/change/destroy from plans Terraform itself wrote (recorded against
moto by tests/fixtures/plans/record.py), and the snapshot diff. No GitHub involved."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, STACK_IDS, Synthesis
from tools import pr_summary
from tools.plan_digest import action_kind, counts, digest_plan

FIXTURES = ROOT / "tests" / "fixtures" / "plans"
CANARY = "canary-value-that-must-never-be-printed"


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def test_recorded_plans_are_terraforms_own_output() -> None:
    for name in ("state-create", "state-change"):
        plan = _fixture(name)
        assert plan["format_version"].startswith("1.") and plan["terraform_version"]
        assert plan["resource_changes"], name


def test_digest_of_a_real_plan() -> None:
    created = digest_plan(_fixture("state-create"))
    assert created["changes"]["update"] == created["changes"]["delete"] == created["changes"]["replace"] == []
    assert len(created["changes"]["create"]) == 14
    changed = digest_plan(_fixture("state-change"))
    assert changed["changes"] == {
        "create": ["aws_kms_alias.extra_alias"],
        "update": ["aws_kms_key.key_F64E54E4"],
        "replace": ["aws_kms_alias.key_alias_9418169B"],
        "delete": ["aws_s3_bucket_versioning.access_logs_versioning_0DA53CB4"],
        "forget": [],
    }
    # Terraform's own arithmetic: "Plan: 2 to add, 1 to change, 2 to destroy."
    assert counts(changed) == {"add": 2, "change": 1, "destroy": 2}


def test_digest_keeps_addresses_and_actions_only() -> None:
    plan = _fixture("state-change")
    plan["resource_changes"][0]["change"]["after"] = {"password": CANARY}
    plan["planned_values"]["root_module"]["resources"][0]["values"]["password"] = CANARY
    assert CANARY not in json.dumps(digest_plan(plan))


def test_action_kinds() -> None:
    assert action_kind(["delete", "create"]) == action_kind(["create", "delete"]) == "replace"
    assert action_kind(["no-op"]) is None and action_kind(["read"]) is None
    with pytest.raises(ValueError):
        action_kind(["explode"])
    with pytest.raises(ValueError, match="terraform show"):
        digest_plan({"resource_changes": []})


@pytest.fixture
def base_and_head(synthesis: Synthesis, tmp_path: Path) -> tuple[Path, Path]:
    """head = this synthesis; base = the same with a resource and an add-on version changed, a
    chart object removed, so the head differs from it in known ways."""
    head = synthesis.terraform_dir.parent
    base = tmp_path / "base"
    shutil.copytree(synthesis.terraform_dir, base / "cdktf.out")
    shutil.copytree(synthesis.kubernetes_dir, base / "dist")
    stack = base / "cdktf.out" / "stacks" / "staging-state" / "cdk.tf.json"
    document = json.loads(stack.read_text())
    bucket = next(iter(document["resource"]["aws_s3_bucket"]))
    document["resource"]["aws_s3_bucket"][bucket]["force_destroy"] = True
    stack.write_text(json.dumps(document, indent=2))
    gitops = base / "dist" / "staging" / "gitops.k8s.yaml"
    docs = [doc for doc in yaml.safe_load_all(gitops.read_text()) if doc and doc["metadata"]["name"] != "metrics-server"]
    gitops.write_text(yaml.safe_dump_all(docs))
    return base, head


def _plans(tmp_path: Path) -> Path:
    plans = tmp_path / "plans" / "plan-staging"
    plans.mkdir(parents=True)
    plan = _fixture("state-change")
    plan["planned_values"]["root_module"]["resources"][0]["values"]["secret"] = CANARY
    (plans / "staging-state.json").write_text(json.dumps(plan))  # raw `terraform show -json`
    digest = digest_plan(_fixture("state-create"))
    (plans / "development-state.changes.json").write_text(json.dumps(digest))  # a digest from a plan job
    return tmp_path / "plans"


def test_summary_names_changed_stacks_manifests_and_planned_changes(base_and_head: tuple[Path, Path], tmp_path: Path) -> None:
    base, head = base_and_head
    text = pr_summary.summarize(str(base), head, _plans(tmp_path))
    assert text.startswith(pr_summary.MARKER)
    assert "| `staging-state` | changed (+0 ~1 -0 resources) | 2 | 1 | 2 |" in text
    assert "| `development-state` | unchanged | 14 | 0 | 0 |" in text
    assert "`staging-network`" in text.split("Unchanged:")[1], "unchanged stacks are listed once, not as rows"
    assert "> - `staging-state`: delete `aws_s3_bucket_versioning.access_logs_versioning_0DA53CB4`" in text
    assert "> - `staging-state`: replace `aws_kms_alias.key_alias_9418169B`" in text
    assert "| staging | `gitops` | changed | 1 | 0 | 0 | `+Application/argocd/metrics-server` |" in text
    assert '-        "force_destroy": true,' in text, "the snapshot diff shows the changed line"
    assert CANARY not in text
    assert text.count("```") % 2 == 0 or "````" in text


def test_summary_without_plans_says_so(base_and_head: tuple[Path, Path]) -> None:
    base, head = base_and_head
    text = pr_summary.summarize(str(base), head, None)
    assert "| `staging-state` | changed (+0 ~1 -0 resources) | — | — | — |" in text
    assert "No `terraform plan` was given" in text


def test_summary_of_no_change(synthesis: Synthesis) -> None:
    head = synthesis.terraform_dir.parent
    text = pr_summary.summarize(str(head), head, None)
    assert "No stack changes." in text and "No manifest changes." in text and "No snapshot changes." in text


def test_long_diffs_are_cut_to_fit_a_comment(base_and_head: tuple[Path, Path]) -> None:
    base, head = base_and_head
    for chart in (base / "dist").glob("*/*.k8s.yaml"):
        chart.write_text("# older\n" * 3000)
    text = pr_summary.summarize(str(base), head, None, max_chars=20_000)
    assert len(text) <= 20_000
    assert "diff truncated" in text
    assert text.rstrip().endswith("</details>")


def test_make_pr_summary_end_to_end(base_and_head: tuple[Path, Path], tmp_path: Path) -> None:
    base, _ = base_and_head
    out = tmp_path / "summary.md"
    head = tmp_path / "head"
    result = subprocess.run(
        ["make", "pr-summary", f"BASE={base}", f"PLANS={_plans(tmp_path)}", f"OUT={out}", f"SUMMARY_HEAD={head}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = out.read_text()
    assert "| `staging-state` | changed (+0 ~1 -0 resources) | 2 | 1 | 2 |" in text
    assert (head / "cdktf.out" / "manifest.json").is_file(), "the target synthesizes the head itself"


def test_make_pr_summary_needs_a_base() -> None:
    result = subprocess.run(["make", "pr-summary"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "set BASE=" in result.stderr


def test_base_given_as_a_git_ref_is_synthesized_in_a_worktree(synthesis: Synthesis) -> None:
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    text = pr_summary.summarize("HEAD", synthesis.terraform_dir.parent, None)
    assert f"Compared with `HEAD` ({commit[:12]})" in text
    for stack_id in STACK_IDS:
        assert f"`{stack_id}`" in text, stack_id
    worktrees = subprocess.run(["git", "worktree", "list"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "pr-summary-" not in worktrees, "the temporary worktree is removed"
