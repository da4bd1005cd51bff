"""The pull-request summary: what a change does to every stack and manifest, as Markdown.

Compares a base synthesis with the current one (`cdktf.out/`, `dist/`), adds resources to
add/change/destroy per stack from `terraform plan` digests when given, each environment's monthly
cost estimate before and after (tools.cost), and the snapshot diff.
CI posts the result as one pull-request comment (updated in place, found by MARKER); locally,
`make pr-summary BASE=origin/main` prints it.

Usage: python -m tools.pr_summary --base <dir | git ref> [--head DIR] [--plans DIR] [--output FILE]
  --base DIR   a folder holding a base synthesis (`cdktf.out/` and `dist/`)
  --base REF   a git ref: synthesized here in a temporary worktree; the snapshot diff is `git diff REF`
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from envspec import DEFAULT_DIRECTORY, load_environments
from envspec.exit_codes import FAILED
from tools.cost.compare import cost_section, estimates
from tools.errors import ToolError, report
from tools.plan_digest import counts, digest_plan

ROOT = Path(__file__).resolve().parent.parent
MARKER = "<!-- ai-subsidy:pr-summary -->"
SNAPSHOTS = "tests/__snapshots__"
# GitHub refuses comments over 65,536 characters; the tables always fit, the diff is cut to fit.
DEFAULT_MAX_CHARS = 60_000


# --- Reading a synthesis ------------------------------------------------------------------------
@dataclass(frozen=True)
class Synthesis:
    root: Path

    @property
    def terraform_dir(self) -> Path:
        return self.root / "cdktf.out"

    @property
    def kubernetes_dir(self) -> Path:
        return self.root / "dist"

    def stacks(self) -> dict[str, Path]:
        folder = self.terraform_dir / "stacks"
        return {path.parent.name: path for path in sorted(folder.glob("*/cdk.tf.json"))} if folder.is_dir() else {}

    @property
    def environments_dir(self) -> Path:
        """The environment files the synthesis was made from (copied next to a ref's synthesis)."""
        return self.root / "environments"

    def charts(self) -> dict[str, Path]:
        """'<env>/<chart>' -> file."""
        folder = self.kubernetes_dir
        if not folder.is_dir():
            return {}
        return {f"{path.parent.name}/{path.name.removesuffix('.k8s.yaml')}": path for path in sorted(folder.glob("*/*.k8s.yaml"))}


def _resources(document: dict[str, Any]) -> dict[str, Any]:
    return {f"{kind}.{name}": body for kind, items in document.get("resource", {}).items() for name, body in items.items()}


def _objects(path: Path) -> dict[str, Any]:
    objects = {}
    for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        if doc:
            metadata = doc.get("metadata", {})
            key = "/".join(part for part in (doc.get("kind", "?"), metadata.get("namespace"), metadata.get("name", "?")) if part)
            objects[key] = doc
    return objects


@dataclass
class Change:
    """Items added, removed and changed between two keyed collections."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @classmethod
    def between(cls, base: dict[str, Any], head: dict[str, Any]) -> Change:
        return cls(
            added=sorted(set(head) - set(base)),
            removed=sorted(set(base) - set(head)),
            changed=sorted(key for key in set(base) & set(head) if base[key] != head[key]),
        )

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def describe(self, noun: str) -> str:
        parts = [f"+{len(self.added)}", f"~{len(self.changed)}", f"-{len(self.removed)}"]
        return f"{' '.join(parts)} {noun}"


@dataclass(frozen=True)
class FileChange:
    name: str
    status: str  # added | removed | changed | unchanged
    detail: Change | None
    base: Path | None
    head: Path | None


def compare(base: dict[str, Path], head: dict[str, Path], load: Any) -> list[FileChange]:
    result = []
    for name in sorted(set(base) | set(head)):
        old, new = base.get(name), head.get(name)
        if old is None or new is None:
            status = "added" if old is None else "removed"
            detail = Change.between(load(old) if old else {}, load(new) if new else {})
        elif old.read_bytes() == new.read_bytes():
            status, detail = "unchanged", None
        else:
            status, detail = "changed", Change.between(load(old), load(new))
        result.append(FileChange(name, status, detail, old, new))
    return result


# --- Plans ----------------------------------------------------------------------------------------
def load_plans(directory: Path | None) -> dict[str, dict[str, Any]]:
    """stack id -> digest, from `<stack>.changes.json` digests or raw `terraform show -json` files."""
    if directory is None:
        return {}
    if not directory.is_dir():
        raise ToolError(f"plans folder {directory} not found")
    plans: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.rglob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        if path.name.endswith(".changes.json"):
            plans[path.name.removesuffix(".changes.json")] = document
        elif "resource_changes" in document or "format_version" in document:
            plans[path.stem] = digest_plan(document)
    return plans


# --- Rendering ----------------------------------------------------------------------------------
def _code(text: str) -> str:
    return f"`{text}`"


def _fence(text: str, language: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{language}\n{text}\n{ticks}"


def _stack_rows(stacks: list[FileChange], plans: dict[str, dict[str, Any]], have_plans: bool) -> tuple[list[str], list[str]]:
    rows, warnings = [], []
    for item in stacks:
        plan = plans.get(item.name)
        synthesized = item.status if item.detail is None else f"{item.status} ({item.detail.describe('resources')})"
        if plan is not None:
            numbers = counts(plan)
            planned = [str(numbers["add"]), str(numbers["change"]), str(numbers["destroy"])]
            for kind in ("delete", "replace"):
                warnings += [f"{_code(item.name)}: {kind} {_code(address)}" for address in plan["changes"][kind]]
            if plan.get("errored"):
                warnings.append(f"{_code(item.name)}: the plan reported errors")
        elif have_plans:
            planned = ["not planned"] * 3
        else:
            planned = ["—"] * 3
        if item.status != "unchanged" or (plan is not None and any(counts(plan).values())):
            rows.append(f"| {_code(item.name)} | {synthesized} | " + " | ".join(planned) + " |")
    return rows, warnings


def _manifest_rows(charts: list[FileChange]) -> list[str]:
    rows = []
    for item in charts:
        if item.status == "unchanged" or item.detail is None:
            continue
        env, chart = item.name.split("/", 1)
        detail = item.detail
        listed = [f"+{name}" for name in detail.added] + [f"~{name}" for name in detail.changed] + [f"-{name}" for name in detail.removed]
        objects = ", ".join(_code(entry) for entry in listed[:8]) + (f" and {len(listed) - 8} more" if len(listed) > 8 else "")
        rows.append(
            f"| {env} | {_code(chart)} | {item.status} | {len(detail.added)} | {len(detail.changed)} | {len(detail.removed)} | {objects} |"
        )
    return rows


def file_diff(changes: list[FileChange], base_root: Path, head_root: Path) -> str:
    """Unified diff of the changed synthesized files (the same text as their snapshots)."""
    chunks = []
    for item in changes:
        if item.status == "unchanged":
            continue
        old = item.base.read_text(encoding="utf-8").splitlines(keepends=True) if item.base else []
        new = item.head.read_text(encoding="utf-8").splitlines(keepends=True) if item.head else []
        old_name = str(item.base.relative_to(base_root)) if item.base else "/dev/null"
        new_name = str(item.head.relative_to(head_root)) if item.head else "/dev/null"
        chunks.append("".join(difflib.unified_diff(old, new, f"a/{old_name}", f"b/{new_name}", n=3)))
    return "".join(chunks)


def render(
    stacks: list[FileChange],
    charts: list[FileChange],
    plans: dict[str, dict[str, Any]],
    have_plans: bool,
    diff: str,
    base_label: str,
    max_chars: int = DEFAULT_MAX_CHARS,
    cost: Sequence[str] = (),
) -> str:
    lines = [MARKER, "## Infrastructure changes", "", f"Compared with {base_label}.", ""]
    stack_rows, warnings = _stack_rows(stacks, plans, have_plans)
    lines += ["### Terraform stacks", ""]
    if stack_rows:
        lines += ["| stack | synthesized JSON | to add | to change | to destroy |", "|---|---|---|---|---|", *stack_rows]
    else:
        lines.append("No stack changes.")
    unchanged = [
        item.name for item in stacks if item.status == "unchanged" and not (item.name in plans and any(counts(plans[item.name]).values()))
    ]
    if unchanged:
        lines += ["", f"Unchanged: {', '.join(_code(name) for name in unchanged)}"]
    if have_plans:
        lines += ["", "Plan columns: `terraform plan` with the read-only plan role against the live state."]
    else:
        lines += ["", "No `terraform plan` was given (PLANS=...): the plan columns are empty."]
    if warnings:
        lines += ["", "> [!WARNING]", "> Resources this change destroys or replaces:", *[f"> - {warning}" for warning in warnings]]
    if cost:
        lines += ["", *cost]
    manifest_rows = _manifest_rows(charts)
    lines += ["", "### Kubernetes manifests", ""]
    if manifest_rows:
        lines += [
            "| environment | chart | file | added | changed | removed | objects |",
            "|---|---|---|---|---|---|---|",
            *manifest_rows,
        ]
    else:
        lines.append("No manifest changes.")
    lines += ["", "### Snapshot diff", ""]
    if not diff.strip():
        lines.append("No snapshot changes.")
        return "\n".join(lines) + "\n"
    added = sum(1 for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in diff.splitlines() if line.startswith("-") and not line.startswith("---"))
    head = "\n".join(lines) + "\n"
    summary = f"<details><summary>{added} lines added, {removed} removed</summary>\n\n"
    budget = max_chars - len(head) - len(summary) - 200
    if len(diff) > budget:
        cut = diff[: max(budget, 0)].rsplit("\n", 1)[0]
        diff_text = f"{cut}\n... diff truncated at {max_chars} characters; run `make pr-summary` or read the files changed"
    else:
        diff_text = diff.rstrip("\n")
    return head + summary + _fence(diff_text, "diff") + "\n\n</details>\n"


# --- Base synthesis -----------------------------------------------------------------------------
def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise ToolError(f"{' '.join(command[:3])} failed: {(result.stderr or result.stdout).strip()[-2000:]}")
    return result.stdout


@contextmanager
def base_synthesis(base: str) -> Iterator[tuple[Synthesis, str | None]]:
    """(synthesis, git ref or None) for a folder, or a ref synthesized in a temporary worktree."""
    if Path(base).is_dir():
        yield Synthesis(Path(base)), None
        return
    commit = _run(["git", "rev-parse", "--verify", f"{base}^{{commit}}"], ROOT).strip()
    scratch = Path(tempfile.mkdtemp(prefix="pr-summary-"))
    worktree = scratch / "tree"
    try:
        _run(["git", "worktree", "add", "--detach", "--quiet", str(worktree), commit], ROOT)
        # Installed packages are not in git: the base is packaged with this checkout's (the rotation function's
        # site, installed by `make install`), so a change of requirements/rotation-lambda.lock alone shows no diff.
        if (ROOT / ".cache").is_dir():
            (worktree / ".cache").symlink_to(ROOT / ".cache", target_is_directory=True)
        from synth.runtime import configure_jsii_runtime

        configure_jsii_runtime()  # the base tree has no node_modules: use this checkout's Node
        out = scratch / "out"
        command = [sys.executable, "-m", "synth", "--quiet", "--terraform-outdir", str(out / "cdktf.out")]
        _run([*command, "--kubernetes-outdir", str(out / "dist")], worktree, env=dict(os.environ))
        shutil.copytree(worktree / "environments", out / "environments")
        yield Synthesis(out), commit
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=ROOT, capture_output=True, check=False)
        shutil.rmtree(scratch, ignore_errors=True)


def summarize(base: str, head: Path, plans_dir: Path | None, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    plans = load_plans(plans_dir)
    head_synthesis = Synthesis(head)
    if not head_synthesis.stacks() and not head_synthesis.charts():
        raise ToolError(f"no synthesized output under {head} (run `make synth` first)")
    with base_synthesis(base) as (base_synthesis_, ref):
        head_specs = load_environments(DEFAULT_DIRECTORY)
        cost = cost_section(
            estimates(base_synthesis_.terraform_dir, base_synthesis_.environments_dir, head_specs),
            estimates(head_synthesis.terraform_dir, head_synthesis.environments_dir, head_specs),
        )
        stacks = compare(base_synthesis_.stacks(), head_synthesis.stacks(), lambda path: _resources(json.loads(path.read_text())))
        charts = compare(base_synthesis_.charts(), head_synthesis.charts(), _objects)
        if ref is not None:
            diff = _run(["git", "diff", "--no-color", "--no-ext-diff", ref, "--", SNAPSHOTS], ROOT)
            label = f"{_code(base)} ({ref[:12]})"
        else:
            diff = file_diff(stacks + charts, base_synthesis_.root, head_synthesis.root)
            label = f"the synthesis in {_code(base)}"
    return render(stacks, charts, plans, plans_dir is not None, diff, label, max_chars, cost)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.pr_summary", description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="base synthesis folder, or a git ref to synthesize")
    parser.add_argument("--head", type=Path, default=ROOT, help="folder holding cdktf.out/ and dist/ (default: this checkout)")
    parser.add_argument("--plans", type=Path, help="folder of plan digests (*.changes.json) or `terraform show -json` files")
    parser.add_argument("--output", type=Path, help="write the Markdown here instead of printing it")
    parser.add_argument("--max-chars", type=int, default=DEFAULT_MAX_CHARS)
    args = parser.parse_args(argv)
    try:
        text = summarize(args.base, args.head, args.plans, args.max_chars)
    except ToolError as error:
        return report(error, error.exit_code)
    except ValueError as error:  # an unreadable plan or manifest
        return report(error, FAILED)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        print(f"pull-request summary written to {args.output}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
