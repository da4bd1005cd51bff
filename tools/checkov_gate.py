"""Run checkov over the synthesized output and fail on anything neither passed nor skipped with a reason.

Terraform side: checkov ignores inline skips in cdktf JSON, so reasoned skips are written into each
resource's `//` comment object by `stacks.checkov.skip_check` and applied here to checkov's report.
Kubernetes side: objects carry checkov's own `checkov.io/skipN` annotations, which checkov applies;
this gate only insists that each carries a reason.

Usage: python -m tools.checkov_gate [--terraform cdktf.out] [--kubernetes dist] [--sarif FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tools import checkov_sarif

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


def run_checkov(directory: Path, framework: str | tuple[str, ...], sarif_dir: Path | None = None) -> list[dict[str, Any]]:
    binary = checkov_binary()
    if binary is None:
        raise FileNotFoundError("checkov is not installed (run `make test`, which installs it into .tools/checkov)")
    frameworks = [framework] if isinstance(framework, str) else list(framework)
    command = [binary, "-d", str(directory), "--framework", *frameworks, "--skip-download", "--compact", "-o", "json"]
    if sarif_dir is not None:
        command += ["-o", "sarif", "--output-file-path", f"console,{sarif_dir}"]
    result = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, BC_SKIP_MAPPING="TRUE", LOG_LEVEL="ERROR"))
    if result.returncode not in (0, 1) or not result.stdout.strip():
        raise RuntimeError(f"checkov failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    report = json.loads(result.stdout)
    return report if isinstance(report, list) else [report]


def run_checkov_together(scans: dict[str, Path], scratch: Path) -> dict[str, list[dict[str, Any]]]:
    """framework -> reports, from one checkov process over several folders (one framework each).

    checkov's start-up is most of a scan's time, so one process scans a folder holding a copy of
    each (`-d` given twice mixes the reports up). File paths in the reports are rewritten to be
    relative to each folder, exactly as a scan of that folder alone writes them, and a framework
    keeps only findings in its own folder.
    """
    scan = scratch / "checkov-scan"
    prefixes = {}
    for framework, directory in scans.items():
        shutil.copytree(directory, scan / framework / directory.name)
        prefixes[framework] = f"/{framework}/{directory.name}"
        if framework == "terraform_json":
            _drop_unparsed_blocks(scan / framework / directory.name)
    by_framework: dict[str, list[dict[str, Any]]] = {framework: [] for framework in scans}
    for report in run_checkov(scan, tuple(scans)):
        framework = report.get("check_type")
        if framework not in prefixes:
            continue
        prefix = prefixes[framework]
        for kind, checks in report.get("results", {}).items():
            if isinstance(checks, list):
                kept = [check for check in checks if not isinstance(check, dict) or check.get("file_path", prefix).startswith(prefix + "/")]
                for check in kept:
                    if isinstance(check, dict) and "file_path" in check:
                        check["file_path"] = check["file_path"].removeprefix(prefix)
                        if "file_abs_path" in check:
                            check["file_abs_path"] = str(scans[framework]) + check["file_path"]
                report["results"][kind] = kept
        by_framework[framework].append(report)
    shutil.rmtree(scan)
    return by_framework


# Top-level blocks checkov 3.3's terraform_json parser cannot read: it fails on the whole file ("this method receives
# only dicts", checkov/terraform_json/parser.py `hclify`) and scans none of its resources. `removed` (Terraform 1.7+)
# holds no resource, only an address to forget, so the scanned copy goes without it.
UNPARSED_BLOCKS = ("removed",)


def _drop_unparsed_blocks(directory: Path) -> None:
    for path in directory.rglob("*.tf.json"):
        document = json.loads(path.read_text(encoding="utf-8"))
        if any(block in document for block in UNPARSED_BLOCKS):
            kept = {key: value for key, value in document.items() if key not in UNPARSED_BLOCKS}
            path.write_text(json.dumps(kept, indent=2), encoding="utf-8")


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


def sarif_entries(
    terraform_dir: Path, terraform_reports: list[dict[str, Any]], kubernetes_reports: list[dict[str, Any]]
) -> list[tuple[str, dict[str, Any], str | None]]:
    """(framework, finding, reason or None) for every failed or skipped check, as the gate sees it."""
    entries: list[tuple[str, dict[str, Any], str | None]] = []
    for report in terraform_reports:
        for failed in _results(report, "failed_checks"):
            logical_id = failed["resource"].rsplit(".", 1)[-1]
            reason = stack_skips(terraform_dir / failed["file_path"].lstrip("/")).get(logical_id, {}).get(failed["check_id"])
            entries.append(("terraform_json", failed, reason))
    for report in kubernetes_reports:
        entries += [("kubernetes", failed, None) for failed in _results(report, "failed_checks")]
        for skipped in _results(report, "skipped_checks"):
            reason = (skipped.get("check_result", {}).get("suppress_comment") or "").strip()
            entries.append(("kubernetes", skipped, reason or None))
    return entries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.checkov_gate", description=__doc__.splitlines()[0])
    parser.add_argument("--terraform", type=Path, default=ROOT / "cdktf.out")
    parser.add_argument("--kubernetes", type=Path, default=ROOT / "dist")
    parser.add_argument("--sarif", type=Path, help="also write one SARIF report (reasoned skips suppressed) to this file")
    args = parser.parse_args(argv)
    problems: list[Finding] = []
    with tempfile.TemporaryDirectory(prefix="checkov-gate-") as scratch:
        reports = run_checkov_together({"terraform_json": args.terraform, "kubernetes": args.kubernetes}, Path(scratch))
    terraform_reports, kubernetes_reports = reports["terraform_json"], reports["kubernetes"]
    unexplained, stale = gate_terraform(args.terraform, terraform_reports)
    problems += unexplained + stale
    problems += gate_kubernetes(kubernetes_reports)
    if args.sarif:
        version = next((r["summary"].get("checkov_version", "") for r in terraform_reports if "summary" in r), "")
        checkov_sarif.write(args.sarif, checkov_sarif.sarif(sarif_entries(args.terraform, terraform_reports, kubernetes_reports), version))
    for problem in problems:
        print(problem)
    print(f"checkov gate: {len(problems)} unexplained finding(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
