"""The Grafana dashboard: shipped where the sidecar loads it, with the issue's panels, every query
parsed by promtool, reading only the application's metrics and the recording rules, and returning
data when those metrics exist."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from charts.observability import dashboard as board
from charts.observability import promql
from charts.observability.rules import recording_rule_names
from charts.observability.slo import SLO_RULE, sli_error
from envspec.naming import GRAFANA_DASHBOARD_LABELS, MONITORING_NAMESPACE
from tests.conftest import ENVIRONMENTS, Synthesis, require_binary
from tests.prometheus import metric_names, prometheus_rule, promtool_unit_tests, run, write_rule_file

REQUIRED_PANELS = {
    "Application health",
    "Request rate",
    "Response time",
    "Error rate",
    "AI requests per second",
    "AI p95 latency",
    "Database queries per second",
    "Active database connections",
    "Node CPU usage",
    "Node memory usage",
    "Error budget remaining",
}


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_binary("promtool", "install Debian's `prometheus` package (.ci/run does)")


def _dashboard(synthesis: Synthesis, env: str) -> dict[str, Any]:
    (config_map,) = [
        doc for doc in synthesis.find(env, "ConfigMap") if GRAFANA_DASHBOARD_LABELS.items() <= doc["metadata"]["labels"].items()
    ]
    assert config_map["metadata"]["namespace"] == MONITORING_NAMESPACE
    (content,) = config_map["data"].values()
    return json.loads(content)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_dashboard_config_map_is_loaded_by_the_sidecar(env: str, synthesis: Synthesis) -> None:
    (config_map,) = [doc for doc in synthesis.find(env, "ConfigMap") if doc["metadata"]["namespace"] == MONITORING_NAMESPACE]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert list(config_map["data"]) == [board.FILE_NAME]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_dashboard_has_the_issue_panels(env: str, synthesis: Synthesis) -> None:
    document = _dashboard(synthesis, env)
    assert document["title"] == "AI Subsidy System Monitoring"
    assert document["uid"] == board.UID
    assert document["tags"] == ["ai-subsidy", env]
    assert {panel["title"] for panel in document["panels"]} == REQUIRED_PANELS
    health = next(panel for panel in document["panels"] if panel["title"] == "Application health")
    assert {target["expr"] for target in health["targets"]} == {
        'sum(up{namespace="ai-subsidy", job="ai-subsidy-backend"})',
        'sum(up{namespace="ai-subsidy", job="ai-subsidy-frontend"})',
        'sum(up{namespace="ai-subsidy", job="ai-worker"})',
    }
    response = next(panel for panel in document["panels"] if panel["title"] == "Response time")
    assert [target["legendFormat"] for target in response["targets"]] == ["p50", "p95"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_panels_do_not_overlap_and_use_the_datasource_variable(env: str, synthesis: Synthesis) -> None:
    document = _dashboard(synthesis, env)
    cells: set[tuple[int, int]] = set()
    for panel in document["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= board.GRID_WIDTH
        area = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])}
        assert not area & cells, f"{panel['title']} overlaps another panel"
        cells |= area
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    assert [variable["name"] for variable in document["templating"]["list"]] == ["datasource"]
    assert len({panel["id"] for panel in document["panels"]}) == len(document["panels"])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_query_reads_only_listed_metrics_or_recording_rules(env: str, synthesis: Synthesis) -> None:
    allowed = {*promql.APPLICATION_METRICS, *promql.NODE_METRICS, promql.UP, *recording_rule_names(), sli_error("30d")}
    for expr in board.expressions(_dashboard(synthesis, env)):
        assert metric_names(expr), expr
        assert metric_names(expr) <= allowed, f"{expr}: {metric_names(expr) - allowed}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_promtool_parses_every_query(env: str, synthesis: Synthesis, promtool: str, tmp_path: Path) -> None:
    expressions = board.expressions(_dashboard(synthesis, env))
    group = {
        "name": "dashboard",
        "rules": [{"record": f"dashboard:query_{index}:value", "expr": expr} for index, expr in enumerate(expressions)],
    }
    result = run(promtool, "check", "rules", str(write_rule_file(tmp_path / "dashboard.yaml", [group])))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(expressions)} rules found" in result.stdout


# One series of every metric the dashboard reads, as the exporters label them.
APP = 'namespace="ai-subsidy", pod="p"'
SERIES = {
    f'up{{{APP}, job="ai-subsidy-backend"}}': "1x20",
    f'up{{{APP}, job="ai-subsidy-frontend"}}': "1x20",
    f'up{{{APP}, job="ai-worker"}}': "1x20",
    **{
        f'http_requests_total{{{APP}, job="{job}", status="{status}"}}': "0+60x20"
        for job in ("ai-subsidy-backend", "ai-subsidy-frontend")
        for status in ("200", "500")
    },
    **{
        f'http_request_duration_seconds_bucket{{{APP}, job="{job}", le="{le}"}}': f"0+{n}x20"
        for job in ("ai-subsidy-backend", "ai-subsidy-frontend")
        for le, n in (("0.5", 50), ("1", 90), ("2", 98), ("+Inf", 100))
    },
    f'ai_requests_total{{{APP}, job="ai-worker"}}': "0+10x20",
    **{
        f'ai_request_duration_seconds_bucket{{{APP}, job="ai-worker", le="{le}"}}': f"0+{n}x20"
        for le, n in (("5", 50), ("10", 90), ("+Inf", 100))
    },
    f'database_queries_total{{{APP}, job="ai-subsidy-backend"}}': "0+600x20",
    f'database_connections_active{{{APP}, job="ai-subsidy-backend"}}': "7x20",
    'node_cpu_seconds_total{job="node-exporter", instance="n1", cpu="0", mode="idle"}': "0+30x20",
    'node_memory_MemAvailable_bytes{job="node-exporter", instance="n1"}': "4000000000x20",
    'node_memory_MemTotal_bytes{job="node-exporter", instance="n1"}': "16000000000x20",
}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_query_returns_data_from_the_application_metrics(env: str, synthesis: Synthesis, promtool: str, tmp_path: Path) -> None:
    """Fed only the metrics the application and node-exporter export, plus the recording rules, no panel is empty."""
    (slos,) = synthesis.find(env, "PrometheusRule", SLO_RULE)
    write_rule_file(tmp_path / "rules.yaml", prometheus_rule(synthesis, env)["spec"]["groups"] + slos["spec"]["groups"])
    checks = [
        {"expr": f"count({expr}) > bool 0", "eval_time": "10m", "exp_samples": [{"labels": "{}", "value": 1}]}
        for expr in board.expressions(_dashboard(synthesis, env))
    ]
    tests = [{"interval": "1m", "input_series": [{"series": s, "values": v} for s, v in SERIES.items()], "promql_expr_test": checks}]
    result = promtool_unit_tests(promtool, tmp_path, tests)
    assert result.returncode == 0, result.stdout + result.stderr


# Targets of each component as Prometheus would see them: pods up (1) and down (0).
HEALTH = {"ai-subsidy-backend": (1, 1), "ai-subsidy-frontend": (1,), "ai-worker": (1, 0)}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_health_panel_counts_the_targets_up_of_every_component(env: str, synthesis: Synthesis, promtool: str, tmp_path: Path) -> None:
    """One stat per application component (every job the alerts watch, the AI worker included), each
    the number of its targets that answer: promtool evaluates the panel's queries."""
    health = next(panel for panel in _dashboard(synthesis, env)["panels"] if panel["title"] == "Application health")
    assert len(health["targets"]) == len(promql.APPLICATION_JOBS) == len(HEALTH)
    series = [
        {"series": f'up{{namespace="ai-subsidy", job="{job}", pod="{job}-{index}"}}', "values": f"{value}x10"}
        for job, values in HEALTH.items()
        for index, value in enumerate(values)
    ]
    checks = []
    for target in health["targets"]:
        (job,) = [job for job in HEALTH if f'job="{job}"' in target["expr"]]
        checks.append({"expr": target["expr"], "eval_time": "5m", "exp_samples": [{"labels": "{}", "value": sum(HEALTH[job])}]})
    write_rule_file(tmp_path / "rules.yaml", [])
    tests = [{"interval": "1m", "input_series": series, "promql_expr_test": checks}]
    result = promtool_unit_tests(promtool, tmp_path, tests)
    assert result.returncode == 0, result.stdout + result.stderr
