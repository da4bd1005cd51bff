"""The SARIF report CI uploads to code scanning (`make checkov`): open results for unexplained
findings only, reasoned skips suppressed with their reason, locations in committed files."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT, Synthesis
from tools import checkov_gate, checkov_sarif


@pytest.fixture(scope="module")
def report(synthesis: Synthesis, checkov_reports: dict[str, list[dict]]) -> dict:
    """The SARIF of the same checkov run the gate tests judge (tests/test_checkov.py)."""
    terraform, kubernetes = checkov_reports["terraform_json"], checkov_reports["kubernetes"]
    return checkov_sarif.sarif(checkov_gate.sarif_entries(synthesis.terraform_dir, terraform, kubernetes), "test")


def test_reasoned_skips_are_suppressed_with_their_reason(report: dict, synthesis: Synthesis) -> None:
    (run,) = report["runs"]
    results = run["results"]
    skips = checkov_gate.all_terraform_skips(synthesis.terraform_dir)
    assert len([r for r in results if "suppressions" in r]) >= len(skips) > 0
    for file, logical_id, check_id in skips:
        reason = checkov_gate.stack_skips(synthesis.terraform_dir / file)[logical_id][check_id]
        uri = checkov_sarif.snapshot_uri("terraform_json", f"/{file}")
        matching = [
            r
            for r in results
            if r["ruleId"] == check_id
            and logical_id in r["message"]["text"]
            and r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == uri
        ]
        assert matching and all(r["suppressions"] == [{"kind": "external", "justification": reason}] for r in matching), logical_id
    assert not [r for r in results if "suppressions" not in r], "the gate passes, so nothing is left open"
    assert {rule["id"] for rule in run["tool"]["driver"]["rules"]} == {r["ruleId"] for r in results}


def test_locations_point_at_committed_snapshot_lines(report: dict) -> None:
    for result in report["runs"][0]["results"]:
        location = result["locations"][0]["physicalLocation"]
        path = ROOT / location["artifactLocation"]["uri"]
        assert path.is_file(), path
        lines = path.read_text(encoding="utf-8").count("\n")
        assert 1 <= location["region"]["startLine"] <= location["region"]["endLine"] <= lines


def test_an_unexplained_finding_stays_open() -> None:
    finding = {
        "check_id": "CKV_K8S_1",
        "check_name": "x",
        "file_path": "/staging/app.k8s.yaml",
        "resource": "Pod.a",
        "file_line_range": [3, 9],
    }
    (result,) = checkov_sarif.sarif([("kubernetes", finding, None)], "test")["runs"][0]["results"]
    assert "suppressions" not in result
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "tests/__snapshots__/test_snapshots/test_manifests[staging][app].yaml"
    )
