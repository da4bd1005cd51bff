"""The PrometheusRule `log-agent-alerts` and the log agent's ServiceMonitor, checked and unit-tested by promtool.

Metric names are Fluent Bit's v1 Prometheus metrics (Fluent Bit manual, "Monitoring":
`fluentbit_output_dropped_records_total`, `fluentbit_output_retries_failed_total`, label `name` the
output's alias). The alert fires at the first lost record and stays silent on a counter that does not
move, however high (records lost before the window are an old incident).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from charts.log_agent_monitoring import LOG_AGENT_RULE, SELECTOR_LABELS, log_agent_alerts
from envspec.naming import LOG_AGENT_NAMESPACE
from tests.conftest import ENVIRONMENTS, ROOT, Synthesis, require_binary
from tests.prometheus import promtool_unit_tests, run, write_rule_file
from tests.promtool_cases import AlertCase, Fired, promtool_tests

POD = "fluent-bit-7xk2p"
TARGET = f'job="fluent-bit", namespace="logging", instance="10.0.1.5:2020", pod="{POD}", name="application"'
DESCRIPTION = (
    f"Fluent Bit {POD} gave up on records for its application log group in the last 10m: those log lines never reach CloudWatch Logs."
)
SECTIONS = ("## Meaning", "## Impact", "## Diagnosis", "## Mitigation")


def cases() -> tuple[AlertCase, ...]:
    return tuple(
        AlertCase(
            alert="LogAgentDroppingRecords",
            # One record (or chunk) a minute from minute 3 on; silent: a counter stuck at 5.
            firing={f"{metric}{{{TARGET}}}": "0 0 0 1+1x30"},
            silent={f"{metric}{{{TARGET}}}": "5x40"},
            onset=3,
            for_minutes=0,
            fired=(Fired({"pod": POD, "name": "application"}, DESCRIPTION),),
            value=f"sum(increase({metric}[10m]))",
            firing_value=10,
            silent_value=0,
        )
        for metric in ("fluentbit_output_dropped_records_total", "fluentbit_output_retries_failed_total")
    )


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_binary("promtool", "install Debian's `prometheus` package (.ci/run does)")


def _rule(synthesis: Synthesis, env: str) -> dict[str, Any]:
    (rule,) = synthesis.find(env, "PrometheusRule", LOG_AGENT_RULE)
    return rule


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_promtool_checks_and_unit_tests_the_rule(env: str, synthesis: Synthesis, promtool: str, tmp_path: Path) -> None:
    rule = _rule(synthesis, env)
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    write_rule_file(tmp_path / "rules.yaml", rule["spec"]["groups"])
    checked = run(promtool, "check", "rules", str(tmp_path / "rules.yaml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    (alert,) = [item for group in rule["spec"]["groups"] for item in group["rules"]]
    tests = []
    for case in cases():
        assert alert["for"] == f"{case.for_minutes}m"
        tests += promtool_tests(case, alert["expr"], alert["annotations"], alert["labels"])
    result = promtool_unit_tests(promtool, tmp_path, tests)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_agent_is_scraped_where_its_chart_serves_metrics(env: str, synthesis: Synthesis) -> None:
    """stable/aws-for-fluent-bit 0.2.0: templates/service.yaml names the Service after the fullname with the
    port `monitor-agent` (2020) and selects the chart's selector labels (templates/_helpers.tpl:
    app.kubernetes.io/name = the chart's name, app.kubernetes.io/instance = the fullname); the metrics path
    is the chart's `serviceMonitor.telemetryPath`. Prometheus selects monitors by the release label."""
    (monitor,) = synthesis.find(env, "ServiceMonitor", "fluent-bit")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [LOG_AGENT_NAMESPACE]}
    assert monitor["spec"]["selector"] == {
        "matchLabels": {"app.kubernetes.io/name": "aws-for-fluent-bit", "app.kubernetes.io/instance": "fluent-bit"}
    }
    assert monitor["spec"]["selector"]["matchLabels"] == SELECTOR_LABELS
    assert [(e["port"], e["path"]) for e in monitor["spec"]["endpoints"]] == [("monitor-agent", "/api/v1/metrics/prometheus")]
    (application,) = synthesis.find(env, "Application", "aws-for-fluent-bit")
    values = application["spec"]["source"]["helm"]["valuesObject"]
    assert values["fullnameOverride"] == "fluent-bit" and "nameOverride" not in values
    assert "HTTP_Port 2020" in values["service"]["extraService"]


@pytest.mark.parametrize("alert", log_agent_alerts(), ids=lambda alert: alert.name)
def test_the_alert_has_a_runbook_in_the_index(alert: Any) -> None:
    text = (ROOT / "docs" / "runbooks" / f"{alert.runbook}.md").read_text(encoding="utf-8")
    assert text.startswith(f"# {alert.name}\n") and f"**Severity:** {alert.severity}" in text
    positions = [text.find(section) for section in SECTIONS]
    assert -1 not in positions and positions == sorted(positions)
    assert re.search(r"```sh\n", text) and "kubectl " in text
    index = (ROOT / "docs" / "runbooks" / "README.md").read_text(encoding="utf-8")
    assert f"[{alert.name}]({alert.runbook}.md) | {alert.severity} |" in index
