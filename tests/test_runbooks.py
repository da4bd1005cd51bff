"""Runbooks: one per alert with meaning, impact, diagnosis with the real names, and mitigation; the
index lists every alert; the names the runbooks tell operators to type exist."""

from __future__ import annotations

import re

import pytest

from charts.observability.rules import alerts
from charts.observability.slo import slo_alerts
from envspec.naming import APP_NAMESPACE, MIGRATION_JOB, MONITORING_NAMESPACE
from envspec.slo import ServiceLevels
from envspec.topology import AI_WORKER, BACKEND, FRONTEND
from tests.conftest import ROOT

RUNBOOKS = ROOT / "docs" / "runbooks"
# The error-budget alerts as the default objectives (30 days) make them; one runbook per alert name.
ALERTS = {alert.name: alert for alert in (*alerts(), *slo_alerts(ServiceLevels()))}
SECTIONS = ("## Meaning", "## Impact", "## Diagnosis", "## Mitigation")


@pytest.mark.parametrize("name", sorted(ALERTS))
def test_each_alert_has_a_complete_runbook(name: str) -> None:
    text = (RUNBOOKS / f"{ALERTS[name].runbook}.md").read_text(encoding="utf-8")
    assert text.startswith(f"# {name}\n")
    positions = [text.find(section) for section in SECTIONS]
    assert -1 not in positions and positions == sorted(positions), f"{name}: sections missing or out of order"
    severity = ALERTS[name].severity
    assert f"**Severity:** {severity}" in text
    diagnosis = text[text.find("## Diagnosis") : text.find("## Mitigation")]
    assert re.search(r"```(sh|promql)\n", diagnosis), f"{name}: no commands to run"
    assert "kubectl " in diagnosis or "aws " in diagnosis, f"{name}: no cluster or AWS command in the diagnosis"


def test_the_index_lists_every_alert_and_page() -> None:
    index = (RUNBOOKS / "README.md").read_text(encoding="utf-8")
    for name, alert in ALERTS.items():
        assert f"[{name}]({alert.runbook}.md) | {alert.severity} | {alert.meaning} |" in index, name
    linked = set(re.findall(r"\]\(([\w-]+\.md)", index))
    assert linked == {path.name for path in RUNBOOKS.glob("*.md")} - {"README.md"}


def test_runbooks_use_the_names_people_type() -> None:
    text = "\n".join(path.read_text(encoding="utf-8") for path in RUNBOOKS.glob("*.md"))
    for name in (BACKEND.name, FRONTEND.name, AI_WORKER.name, BACKEND.service_name, FRONTEND.service_name, MIGRATION_JOB):
        assert name in text
    assert f"kubectl -n {APP_NAMESPACE} " in text and f"kubectl -n {MONITORING_NAMESPACE} " in text
    # No stale names from the original sketch.
    assert "deployment/backend " not in text and "-n default" not in text
