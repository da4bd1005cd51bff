"""The PrometheusRule `karpenter-alerts` and Karpenter's ServiceMonitor, checked and unit-tested by promtool.

Metric names are Karpenter v1.14.1's (aws/karpenter-provider-aws website/content/en/docs/reference/metrics.md);
`kube_pod_status_unschedulable` is kube-state-metrics'. Each alert is shown firing just past its
threshold and after its `for`, and silent just short of it (tests/promtool_cases.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from charts.karpenter_monitoring import KARPENTER_RULE, karpenter_alerts
from tests.conftest import ENVIRONMENTS, ROOT, SPECS, Synthesis, require_binary
from tests.prometheus import promtool_unit_tests, run, write_rule_file
from tests.promtool_cases import AlertCase, Fired, _buckets, promtool_tests

KARPENTER = 'job="karpenter", namespace="kube-system", instance="10.0.1.5:8080", pod="karpenter-6d8f9c7b5-abcde"'
KSM = 'job="kube-state-metrics", namespace="ai-subsidy"'
WORKER_POD = "ai-worker-6f7b8c9d5-k8s2p"
QUEUE = "karpenter_interruption_message_queue_duration_seconds_bucket"
SECTIONS = ("## Meaning", "## Impact", "## Diagnosis", "## Mitigation")


def cases(pending_minutes: int) -> tuple[AlertCase, ...]:
    pool = 'job="karpenter", nodepool="application"'
    return (
        AlertCase(
            alert="KarpenterPodsUnschedulable",
            firing={f'kube_pod_status_unschedulable{{{KSM}, pod="{WORKER_POD}", uid="u1"}}': "0 0 0 1x40"},
            # Unschedulable one minute short of the threshold, then a node arrives.
            silent={f'kube_pod_status_unschedulable{{{KSM}, pod="{WORKER_POD}", uid="u1"}}': f"1x{pending_minutes - 1} 0x40"},
            onset=3,
            for_minutes=pending_minutes,
            fired=(
                Fired(
                    {"namespace": "ai-subsidy", "pod": WORKER_POD},
                    f"Pod ai-subsidy/{WORKER_POD} has been unschedulable for more than {pending_minutes} minutes; "
                    "Karpenter launches a node in about two.",
                ),
            ),
            value="max(kube_pod_status_unschedulable)",
            firing_value=1,
            silent_value=0,
        ),
        AlertCase(
            alert="KarpenterNodePoolLimitNear",
            firing={
                f'karpenter_nodepools_usage{{{pool}, resource_type="cpu"}}': "20 20 20 22x40",
                f'karpenter_nodepools_limit{{{pool}, resource_type="cpu"}}': "24x43",
            },
            silent={
                f'karpenter_nodepools_usage{{{pool}, resource_type="cpu"}}': "21x40",
                f'karpenter_nodepools_limit{{{pool}, resource_type="cpu"}}': "24x40",
            },
            onset=3,
            for_minutes=15,
            fired=(
                Fired(
                    {"nodepool": "application", "resource_type": "cpu"},
                    "NodePool application uses 91.67% of its cpu limit; past it Karpenter launches no more nodes and pods stay Pending.",
                ),
            ),
            value="max(karpenter_nodepools_usage) / max(karpenter_nodepools_limit)",
            firing_value=917,
            silent_value=875,
            scale=1000,
        ),
        AlertCase(
            alert="KarpenterDown",
            firing={f"up{{{KARPENTER}}}": "1 1 1 0x40"},
            silent={f"up{{{KARPENTER}}}": "1x40"},
            onset=3,
            for_minutes=5,
            fired=(
                Fired(
                    {},
                    "No karpenter scrape target in kube-system has answered for 5 minutes: no node is launched for Pending pods and "
                    "interruption messages are not consumed.",
                ),
            ),
            value='count(up{job="karpenter"} == 1)',
            firing_value=None,
            silent_value=1,
        ),
        AlertCase(
            alert="KarpenterInterruptionHandlingSlow",
            # Every message waits between 60 and 120 s (p99 about 119 s); silent: all within 10 s.
            firing={
                k: "_x3 " + v for k, v in _buckets(QUEUE, 'job="karpenter"', {"10": 0, "60": 0, "120": 10, "+Inf": 10}, minutes=40).items()
            },
            silent=_buckets(QUEUE, 'job="karpenter"', {"10": 10, "60": 10, "120": 10, "+Inf": 10}, minutes=40),
            onset=4,
            for_minutes=10,
            fired=(
                Fired(
                    {},
                    "The 99th percentile wait of interruption messages is 1m 59s (over 60s): "
                    "nodes may be reclaimed before they are drained.",
                ),
            ),
            value=f"histogram_quantile(0.99, sum by (le) (rate({QUEUE}[10m])))",
            firing_value=119,
            silent_value=10,
        ),
    )


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_binary("promtool", "install Debian's `prometheus` package (.ci/run does)")


def _rule(synthesis: Synthesis, env: str) -> dict[str, Any]:
    (rule,) = synthesis.find(env, "PrometheusRule", KARPENTER_RULE)
    return rule


def _alerts(rule: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["alert"]: item for group in rule["spec"]["groups"] for item in group["rules"]}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_promtool_checks_and_unit_tests_the_rules(env: str, synthesis: Synthesis, promtool: str, tmp_path: Path) -> None:
    rule = _rule(synthesis, env)
    write_rule_file(tmp_path / "rules.yaml", rule["spec"]["groups"])
    checked = run(promtool, "check", "rules", str(tmp_path / "rules.yaml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    alerts = _alerts(rule)
    env_cases = cases(SPECS[env].node_autoscaling.pending_alert_minutes)
    assert sorted(case.alert for case in env_cases) == sorted(alerts)
    tests = []
    for case in env_cases:
        alert = alerts[case.alert]
        assert alert["for"] == f"{case.for_minutes}m"
        tests += promtool_tests(case, alert["expr"], alert["annotations"], alert["labels"])
    result = promtool_unit_tests(promtool, tmp_path, tests)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_karpenter_is_scraped_where_its_chart_serves_metrics(env: str, synthesis: Synthesis) -> None:
    """charts/karpenter/templates/service.yaml at v1.14.1: Service `karpenter` (release name), port `http-metrics`,
    selector app.kubernetes.io/name and instance; Prometheus selects monitors by the release label."""
    (monitor,) = synthesis.find(env, "ServiceMonitor", "karpenter")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["kube-system"]}
    selector = {"app.kubernetes.io/name": "karpenter", "app.kubernetes.io/instance": "karpenter"}
    assert monitor["spec"]["selector"] == {"matchLabels": selector}
    assert [endpoint["port"] for endpoint in monitor["spec"]["endpoints"]] == ["http-metrics"]
    assert _rule(synthesis, env)["metadata"]["labels"]["release"] == "kube-prometheus-stack"


@pytest.mark.parametrize("alert", karpenter_alerts(SPECS["production"]), ids=lambda alert: alert.name)
def test_each_alert_has_a_runbook_in_the_index(alert: Any) -> None:
    text = (ROOT / "docs" / "runbooks" / f"{alert.runbook}.md").read_text(encoding="utf-8")
    assert text.startswith(f"# {alert.name}\n") and f"**Severity:** {alert.severity}" in text
    positions = [text.find(section) for section in SECTIONS]
    assert -1 not in positions and positions == sorted(positions)
    assert re.search(r"```sh\n", text) and "kubectl " in text
    index = (ROOT / "docs" / "runbooks" / "README.md").read_text(encoding="utf-8")
    assert f"[{alert.name}]({alert.runbook}.md) | {alert.severity} |" in index
