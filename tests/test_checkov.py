"""checkov over the Terraform JSON and the Kubernetes YAML: every finding passed or skipped with a reason."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Synthesis, require_binary
from tools import checkov_gate


@pytest.fixture(scope="session")
def checkov() -> str:
    binary = checkov_gate.checkov_binary()
    return binary or require_binary("checkov", "run `make test`, which installs it into .tools/checkov")


def test_terraform_has_no_unexplained_findings(synthesis: Synthesis, checkov_reports: dict[str, list[dict]]) -> None:
    reports = checkov_reports["terraform_json"]
    assert sum(report["summary"]["passed"] for report in reports) > 0, "checkov ran no Terraform check"
    # A file checkov cannot parse is silently left unscanned (see checkov_gate.UNPARSED_BLOCKS).
    assert not [path for report in reports for path in report["results"].get("parsing_errors", [])], "files checkov could not parse"
    unexplained, stale = checkov_gate.gate_terraform(synthesis.terraform_dir, reports)
    assert not unexplained, "failed checks without a recorded skip:\n" + "\n".join(map(str, unexplained))
    assert not stale, "\n".join(map(str, stale))


def test_kubernetes_has_no_unexplained_findings(checkov_reports: dict[str, list[dict]]) -> None:
    reports = checkov_reports["kubernetes"]
    assert sum(report["summary"]["passed"] for report in reports) > 0, "checkov ran no Kubernetes check"
    findings = checkov_gate.gate_kubernetes(reports)
    assert not findings, "\n".join(map(str, findings))


def test_every_terraform_skip_has_a_reason(synthesis: Synthesis) -> None:
    for file, logical_id, check_id in checkov_gate.all_terraform_skips(synthesis.terraform_dir):
        reason = checkov_gate.stack_skips(synthesis.terraform_dir / file)[logical_id][check_id]
        assert len(reason) >= 20, f"{file} {logical_id} {check_id}: {reason!r}"


def test_the_gate_sees_kubernetes_skips_and_refuses_one_without_a_reason(tmp_path, checkov: str) -> None:
    """checkov's JSON lists skipped checks only without `--quiet`; the gate must see them to judge them."""
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "x", "annotations": {"checkov.io/skip1": "CKV_K8S_15=ok"}},
        "spec": {"containers": [{"name": "c", "image": "registry.example/c:1.0", "imagePullPolicy": "IfNotPresent"}]},
    }
    (tmp_path / "pod.yaml").write_text(json.dumps(manifest))
    findings = checkov_gate.gate_kubernetes(checkov_gate.run_checkov(tmp_path, "kubernetes"))
    assert any(finding.check_id == "CKV_K8S_15" and "without a reason" in finding.reason for finding in findings)
