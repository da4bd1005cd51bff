"""The PrometheusRule `ai-subsidy-alerts`: what the issue's table asks, checked and unit-tested by promtool.

The rules under test are exactly the synthesized PrometheusRule's `spec.groups`, written to a plain
rule file; the unit tests come from tests/promtool_cases.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from charts.observability import promql
from charts.observability.rules import recording_rule_names
from envspec import names_for
from envspec.naming import EXTERNAL_SECRETS_RELEASE, MONITORING_NAMESPACE, MONITORING_SELECTOR_LABELS, PROMETHEUS_RULE
from tests.conftest import ENVIRONMENTS, ROOT, SPECS, Synthesis, require_binary
from tests.prometheus import metric_names, prometheus_rule, promtool_unit_tests, run, unit_test_file, write_rule_file
from tests.promtool_cases import CASES, promtool_tests

# The table: alert -> (for, severity). HighErrorRate was critical there; the error-budget
# page (ErrorBudgetFastBurn) now pages for what it sees, so it is a ticket (docs/alerting.md).
TABLE = {
    "ApplicationDown": ("5m", "critical"),
    "HighResponseTime": ("10m", "warning"),
    "HighErrorRate": ("5m", "warning"),
    "DatabaseConnectionFailure": ("2m", "critical"),
    "AIServiceHighLatency": ("5m", "warning"),
    "HighCPUUsage": ("10m", "warning"),
    "HighMemoryUsage": ("5m", "critical"),
}
# What a production service also needs (the second list).
PRODUCTION_NEEDS = {"PodCrashLooping", "DeploymentReplicasBelowDesired", "AutoscalerAtMaximum", "MigrationJobFailed"}


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_binary("promtool", "install Debian's `prometheus` package (.ci/run does)")


def _alerts(rule: dict[str, Any]) -> dict[str, dict[str, Any]]:
    alerts = {}
    for group in rule["spec"]["groups"]:
        for item in group["rules"]:
            if "alert" in item:
                assert item["alert"] not in alerts, f"{item['alert']} is defined twice"
                alerts[item["alert"]] = item
    return alerts


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_rule_is_where_prometheus_selects_it(env: str, synthesis: Synthesis) -> None:
    rule = prometheus_rule(synthesis, env)
    assert rule["metadata"]["namespace"] == MONITORING_NAMESPACE
    assert MONITORING_SELECTOR_LABELS.items() <= rule["metadata"]["labels"].items()
    assert rule["metadata"]["name"] == PROMETHEUS_RULE


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_table_alert_exists_with_its_duration_and_severity(env: str, synthesis: Synthesis) -> None:
    alerts = _alerts(prometheus_rule(synthesis, env))
    assert {name: (alert["for"], alert["labels"]["severity"]) for name, alert in alerts.items() if name in TABLE} == TABLE
    assert alerts.keys() >= PRODUCTION_NEEDS


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_alert_explains_itself_and_links_its_runbook(env: str, synthesis: Synthesis) -> None:
    names = names_for(SPECS[env])
    for name, alert in _alerts(prometheus_rule(synthesis, env)).items():
        assert alert["labels"]["severity"] in {"critical", "warning"}, name
        annotations = alert["annotations"]
        assert set(annotations) == {"summary", "description", "runbook_url"}, name
        assert "$value" in annotations["description"] and "$labels." in annotations["description"], f"{name}: names neither thing nor value"
        url = annotations["runbook_url"]
        assert url.startswith(f"https://github.com/{SPECS[env].ci.github_repository}/blob/main/docs/runbooks/"), url
        assert url == names.runbook_url(url.rsplit("/", 1)[1].removesuffix(".md"))
        assert (ROOT / "docs" / "runbooks" / url.rsplit("/", 1)[1]).is_file(), f"{name}: no runbook at {url}"


def test_the_rules_are_the_same_in_every_environment_but_for_links(synthesis: Synthesis) -> None:
    def without_links(env: str) -> str:
        text = yaml.safe_dump(prometheus_rule(synthesis, env)["spec"])
        return text.replace(SPECS[env].ci.github_repository, "<repository>")

    assert len({without_links(env) for env in ENVIRONMENTS}) == 1


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_rules_use_only_the_application_exporter_and_recording_metrics(env: str, synthesis: Synthesis) -> None:
    allowed = {
        *promql.APPLICATION_METRICS,
        *promql.NODE_METRICS,
        *promql.KUBE_STATE_METRICS,
        *promql.MONITORING_METRICS,
        promql.UP,
        *recording_rule_names(),
    }
    used = {
        name
        for group in prometheus_rule(synthesis, env)["spec"]["groups"]
        for item in group["rules"]
        for name in metric_names(item["expr"])
    }
    assert used <= allowed, used - allowed


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_promtool_check_rules(env: str, synthesis: Synthesis, promtool: str, tmp_path: Path) -> None:
    rule_file = write_rule_file(tmp_path / "rules.yaml", prometheus_rule(synthesis, env)["spec"]["groups"])
    result = run(promtool, "check", "rules", str(rule_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def _unit_test_file(rule: dict[str, Any], tmp_path: Path, groups: list[dict[str, Any]] | None = None) -> Path:
    write_rule_file(tmp_path / "rules.yaml", groups or rule["spec"]["groups"])
    alerts = _alerts(rule)
    tests = []
    for case in CASES:
        alert = alerts[case.alert]
        assert alert["for"] == f"{case.for_minutes}m", f"{case.alert}: case assumes for {case.for_minutes}m"
        tests += promtool_tests(case, alert["expr"], alert["annotations"], alert["labels"])
    return unit_test_file(tmp_path, tests)


def test_every_alert_has_a_boundary_case(synthesis: Synthesis) -> None:
    alerts = _alerts(prometheus_rule(synthesis, "production"))
    assert sorted(case.alert for case in CASES) == sorted(alerts)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_promtool_unit_tests_fire_above_and_stay_silent_below(env: str, synthesis: Synthesis, promtool: str, tmp_path: Path) -> None:
    result = run(promtool, "test", "rules", str(_unit_test_file(prometheus_rule(synthesis, env), tmp_path)))
    assert result.returncode == 0, result.stdout + result.stderr


def _shorten(duration: str) -> str:
    minutes = int(duration.removesuffix("m"))
    return f"{minutes - 1}m"


def test_the_unit_tests_notice_a_shorter_for(synthesis: Synthesis, promtool: str, tmp_path: Path) -> None:
    """Each case pins its alert's `for`: one minute less makes every alert's case fail."""
    rule = prometheus_rule(synthesis, "production")
    groups = yaml.safe_load(yaml.safe_dump(rule["spec"]["groups"]))
    for group in groups:
        for item in group["rules"]:
            if "alert" in item:
                item["for"] = _shorten(item["for"])
    result = run(promtool, "test", "rules", str(_unit_test_file(rule, tmp_path, groups)))
    assert result.returncode != 0
    failed = set(re.findall(r"alertname: (\w+), time:", result.stdout + result.stderr))
    assert failed == {case.alert for case in CASES}


def test_the_unit_tests_notice_a_moved_threshold(synthesis: Synthesis, promtool: str, tmp_path: Path) -> None:
    """A threshold moved past the firing data silences the alert, and the case says so."""
    rule = prometheus_rule(synthesis, "production")
    groups = yaml.safe_load(yaml.safe_dump(rule["spec"]["groups"]))
    moved = {"HighErrorRate": ("> 0.1", "> 0.102"), "HighResponseTime": ("> 2", "> 2.1"), "DatabaseConnectionFailure": ("> 5", "> 6")}
    for group in groups:
        for item in group["rules"]:
            if item.get("alert") in moved:
                old, new = moved[item["alert"]]
                assert item["expr"].endswith(old)
                item["expr"] = item["expr"].removesuffix(old) + new
    result = run(promtool, "test", "rules", str(_unit_test_file(rule, tmp_path, groups)))
    assert set(re.findall(r"alertname: (\w+), time:", result.stdout + result.stderr)) == set(moved)


def test_the_metric_name_extractor() -> None:
    expr = (
        'sum by (namespace, job) (rate(http_requests_total{status=~"5..", le="+Inf"}[5m]) or rate(x:y:z[5m]) * 0) '
        "/ on (job) group_left histogram_quantile(0.95, a_bucket) > bool 1e3 and up"
    )
    assert metric_names(expr) == {"http_requests_total", "x:y:z", "a_bucket", "up"}


def test_the_sketchs_error_ratio_was_wrong_and_ours_is_not(synthesis: Synthesis, promtool: str, tmp_path: Path) -> None:
    """One 5xx in a thousand requests: the original plan's expression says 100%, the recording rule 0.1%."""
    write_rule_file(tmp_path / "rules.yaml", prometheus_rule(synthesis, "production")["spec"]["groups"])
    backend = 'namespace="ai-subsidy", job="ai-subsidy-backend", pod="p"'
    sketch = (
        'rate(http_requests_total{job="ai-subsidy-backend",status=~"5.."}[5m]) / rate(http_requests_total{job="ai-subsidy-backend"}[5m])'
    )
    test = {
        "interval": "1m",
        "input_series": [
            {"series": f'http_requests_total{{{backend}, status="200"}}', "values": "0+999x20"},
            {"series": f'http_requests_total{{{backend}, status="500"}}', "values": "0+1x20"},
        ],
        "promql_expr_test": [
            {
                "expr": f"round(({sketch}) * 1000)",
                "eval_time": "10m",
                "exp_samples": [{"labels": f'{{{backend}, status="500"}}', "value": 1000}],
            },
            {
                "expr": 'round(namespace_job:http_requests_5xx:ratio_rate5m{job="ai-subsidy-backend"} * 1000)',
                "eval_time": "10m",
                "exp_samples": [{"labels": '{namespace="ai-subsidy", job="ai-subsidy-backend"}', "value": 1}],
            },
        ],
    }
    result = promtool_unit_tests(promtool, tmp_path, [test])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_external_secrets_metrics_are_scraped(env: str, synthesis: Synthesis) -> None:
    """MonitoringSecretNotReady reads what the external-secrets chart's ServiceMonitor scrapes
    (external-secrets helm-chart-2.9.0, templates/servicemonitor.yaml and service.yaml): it exists only
    with `serviceMonitor.enabled`, Prometheus selects it only with our selector label, and its job is
    the metrics Service's name, `<fullname>-metrics` (fullname: the release name)."""
    (application,) = synthesis.find(env, "Application", EXTERNAL_SECRETS_RELEASE)
    monitor = application["spec"]["source"]["helm"]["valuesObject"]["serviceMonitor"]
    assert monitor["enabled"] is True
    assert MONITORING_SELECTOR_LABELS.items() <= monitor["additionalLabels"].items()
    assert monitor.get("honorLabels", False) is False  # the ExternalSecret's namespace is `exported_namespace`
    assert f"{application['spec']['source']['helm']['releaseName']}-metrics" == promql.EXTERNAL_SECRETS_JOB
