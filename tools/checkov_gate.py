"""Run checkov over the synthesized output and fail on anything neither passed nor skipped with a reason.

Terraform side: checkov ignores inline skips in cdktf JSON, so reasoned skips are written into each
resource's `//` comment object by `stacks.checkov.skip_check` and applied here to checkov's report.
Kubernetes side: objects carry checkov's own `checkov.io/skipN` annotations, which checkov applies;
this gate only insists that each carries a reason.

Usage: python -m tools.checkov_gate [--terraform cdktf.out] [--kubernetes dist] [--sarif DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PROJECT_CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"
SKIP_KEY = "checkov_skip"


@dataclass(frozen=True)
class Finding:
    check_id: str
    file: str
    resource: str
    reason: str

    def __str__(self) -> str:
        return f"{self.check_id} {self.file} {self.resource}: {self.reason}"


def checkov_binary() -> str | None:
    if PROJECT_CHECKOV.is_file():
        return str(PROJECT_CHECKOV)
    return shutil.which("checkov")


def run_checkov(directory: Path, framework: str, sarif_dir: Path | None = None) -> list[dict[str, Any]]:
    binary = checkov_binary()
    if binary is None:
        raise FileNotFoundError("checkov is not installed (run `make test`, which installs it into .tools/checkov)")
    command = [binary, "-d", str(directory), "--framework", framework, "--skip-download", "--compact", "-o", "json"]
    if sarif_dir is not None:
        command += ["-o", "sarif", "--output-file-path", f"console,{sarif_dir}"]
    result = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, BC_SKIP_MAPPING="TRUE", LOG_LEVEL="ERROR"))
    if result.returncode not in (0, 1) or not result.stdout.strip():
        raise RuntimeError(f"checkov failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    report = json.loads(result.stdout)
    return report if isinstance(report, list) else [report]


@cache
def _stack_document(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def stack_skips(stack_file: Path) -> dict[str, dict[str, str]]:
    """logical id -> {check id: reason}, from resources' own `//` objects and the stack's (data sources)."""
    document = _stack_document(stack_file)
    skips = {logical_id: dict(checks) for logical_id, checks in document.get("//", {}).get(SKIP_KEY, {}).items()}
    for items in document.get("resource", {}).values():
        for logical_id, body in items.items():
            if SKIP_KEY in body.get("//", {}):
                skips.setdefault(logical_id, {}).update(body["//"][SKIP_KEY])
    return skips


def all_terraform_skips(terraform_dir: Path) -> list[tuple[str, str, str]]:
    """(stack file, logical id, check id) for every recorded skip."""
    return [
        (str(stack_file.relative_to(terraform_dir)), logical_id, check_id)
        for stack_file in sorted(terraform_dir.glob("stacks/*/cdk.tf.json"))
        for logical_id, checks in stack_skips(stack_file).items()
        for check_id in checks
    ]


def _results(report: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """checkov omits `results` altogether when it ran no check."""
    return report.get("results", {}).get(kind, [])


def gate_terraform(terraform_dir: Path, reports: list[dict[str, Any]]) -> tuple[list[Finding], list[Finding]]:
    """(unexplained failures, skips that matched no failure)."""
    unexplained, used = [], set()
    for report in reports:
        for failed in _results(report, "failed_checks"):
            relative = failed["file_path"].lstrip("/")
            logical_id = failed["resource"].rsplit(".", 1)[-1]
            reason = stack_skips(terraform_dir / relative).get(logical_id, {}).get(failed["check_id"])
            if reason:
                used.add((relative, logical_id, failed["check_id"]))
            else:
                unexplained.append(Finding(failed["check_id"], relative, failed["resource"], failed["check_name"]))
    stale = [
        Finding(check_id, file, logical_id, "skip recorded but the check does not fail here; remove it")
        for file, logical_id, check_id in all_terraform_skips(terraform_dir)
        if (file, logical_id, check_id) not in used
    ]
    return unexplained, stale


def gate_kubernetes(reports: list[dict[str, Any]]) -> list[Finding]:
    findings = []
    for report in reports:
        for failed in _results(report, "failed_checks"):
            findings.append(Finding(failed["check_id"], failed["file_path"], failed["resource"], failed["check_name"]))
        for skipped in _results(report, "skipped_checks"):
            comment = (skipped.get("check_result", {}).get("suppress_comment") or "").strip()
            if len(comment) < 20 or comment == "No comment provided":
                findings.append(Finding(skipped["check_id"], skipped["file_path"], skipped["resource"], "skip annotation without a reason"))
    return findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.checkov_gate", description=__doc__.splitlines()[0])
    parser.add_argument("--terraform", type=Path, default=ROOT / "cdktf.out")
    parser.add_argument("--kubernetes", type=Path, default=ROOT / "dist")
    parser.add_argument("--sarif", type=Path, help="also write checkov's SARIF reports into this folder")
    args = parser.parse_args(argv)
    problems: list[Finding] = []
    terraform_sarif = args.sarif / "terraform" if args.sarif else None
    kubernetes_sarif = args.sarif / "kubernetes" if args.sarif else None
    unexplained, stale = gate_terraform(args.terraform, run_checkov(args.terraform, "terraform_json", terraform_sarif))
    problems += unexplained + stale
    problems += gate_kubernetes(run_checkov(args.kubernetes, "kubernetes", kubernetes_sarif))
    for problem in problems:
        print(problem)
    print(f"checkov gate: {len(problems)} unexplained finding(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
