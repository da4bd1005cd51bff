"""One SARIF report of the checkov gate, for GitHub code scanning.

checkov's own SARIF knows nothing of the reasoned Terraform skips (`stacks.checkov.skip_check`),
so every skipped finding would show up as an open alert. This report is built from the gate's view
instead: a finding without a reason is an open result; a reasoned skip (Terraform registry or a
Kubernetes `checkov.io/skipN` annotation) is a suppressed result carrying its reason. Locations
point at the committed snapshot files, whose text is the synthesized output line for line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SNAPSHOTS = "tests/__snapshots__/test_snapshots"


def snapshot_uri(framework: str, file_path: str) -> str:
    """`/stacks/<stack>/cdk.tf.json` or `/<env>/<chart>.k8s.yaml` -> the committed snapshot file."""
    parts = Path(file_path.lstrip("/")).parts
    if framework == "terraform_json" and len(parts) == 3 and parts[0] == "stacks":
        return f"{SNAPSHOTS}/test_stack[{parts[1]}].json"
    if framework == "kubernetes" and len(parts) == 2 and parts[1].endswith(".k8s.yaml"):
        return f"{SNAPSHOTS}/test_manifests[{parts[0]}][{parts[1].removesuffix('.k8s.yaml')}].yaml"
    return file_path.lstrip("/")


def _result(framework: str, check: dict[str, Any], reason: str | None) -> dict[str, Any]:
    start, end = (check.get("file_line_range") or [1, 1])[:2]
    result: dict[str, Any] = {
        "ruleId": check["check_id"],
        "level": "error",
        "message": {"text": f"{check['check_name']} ({check['resource']})"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": snapshot_uri(framework, check["file_path"])},
                    "region": {"startLine": max(int(start), 1), "endLine": max(int(end), int(start), 1)},
                }
            }
        ],
    }
    if reason:
        result["suppressions"] = [{"kind": "external", "justification": reason}]
    return result


def sarif(entries: list[tuple[str, dict[str, Any], str | None]], checkov_version: str) -> dict[str, Any]:
    """entries: (framework, checkov result item, reason or None)."""
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for framework, check, reason in sorted(entries, key=lambda e: (e[1]["check_id"], e[1]["file_path"], e[1]["resource"])):
        rule = {"id": check["check_id"], "shortDescription": {"text": check["check_name"]}}
        if check.get("guideline"):
            rule["helpUri"] = check["guideline"]
        rules.setdefault(check["check_id"], rule)
        results.append(_result(framework, check, reason))
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "checkov",
                        "version": checkov_version,
                        "informationUri": "https://www.checkov.io",
                        "rules": [rules[key] for key in sorted(rules)],
                    }
                },
                "results": results,
            }
        ],
    }


def write(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
