"""The dashboard's error-budget panel, evaluated by promtool on the synthesized SLO recording rules:
half the budget spent reads 0.5, none 1, twice the budget -1 (red: the objective is missed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from charts.observability.dashboard import ERROR_BUDGET_TITLE
from charts.observability.slo import SLO_RULE
from envspec.naming import GRAFANA_DASHBOARD_LABELS
from tests.conftest import ENVIRONMENTS, Synthesis, require_binary
from tests.prometheus import promtool_unit_tests, write_rule_file

APP = 'namespace="ai-subsidy", pod="p"'
# Per minute: backend 10,000 requests, 5 of them 5xx (0.05% of a 0.1% budget: half spent), 250 slower
# than 2 s (2.5% of a 5% budget: half spent); frontend no 5xx (nothing spent), 10% slow (twice the budget).
SERIES = {
    f'http_requests_total{{{APP}, job="ai-subsidy-backend", status="200"}}': "0+9995x180",
    f'http_requests_total{{{APP}, job="ai-subsidy-backend", status="500"}}': "0+5x180",
    f'http_request_duration_seconds_bucket{{{APP}, job="ai-subsidy-backend", le="2"}}': "0+9750x180",
    f'http_request_duration_seconds_bucket{{{APP}, job="ai-subsidy-backend", le="+Inf"}}': "0+10000x180",
    f'http_requests_total{{{APP}, job="ai-subsidy-frontend", status="200"}}': "0+1000x180",
    f'http_request_duration_seconds_bucket{{{APP}, job="ai-subsidy-frontend", le="2.0"}}': "0+900x180",
    f'http_request_duration_seconds_bucket{{{APP}, job="ai-subsidy-frontend", le="+Inf"}}': "0+1000x180",
}
EXPECTED = {
    "ai-subsidy-backend availability": 500,
    "ai-subsidy-backend latency": 500,
    "ai-subsidy-frontend availability": 1000,
    "ai-subsidy-frontend latency": -1000,
}


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_binary("promtool", "install Debian's `prometheus` package (.ci/run does)")


def _panel(synthesis: Synthesis, env: str) -> dict[str, Any]:
    (config_map,) = [d for d in synthesis.find(env, "ConfigMap") if GRAFANA_DASHBOARD_LABELS.items() <= d["metadata"]["labels"].items()]
    (content,) = config_map["data"].values()
    (panel,) = [p for p in json.loads(content)["panels"] if p["title"] == ERROR_BUDGET_TITLE]
    return panel


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_error_budget_panel_reads_the_budget_left(env: str, synthesis: Synthesis, promtool: str, tmp_path: Path) -> None:
    panel = _panel(synthesis, env)
    assert panel["type"] == "stat" and panel["fieldConfig"]["defaults"]["unit"] == "percentunit"
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps == [{"color": "red", "value": None}, {"color": "green", "value": 0}], "red once the budget is spent"
    (rule,) = synthesis.find(env, "PrometheusRule", SLO_RULE)
    write_rule_file(tmp_path / "rules.yaml", rule["spec"]["groups"])
    checks = []
    for target in panel["targets"]:
        name = next(key for key in EXPECTED if target["legendFormat"].startswith(key))
        expected = [{"labels": "{}", "value": EXPECTED[name]}]
        checks.append({"expr": f"sum(round(({target['expr']}) * 1000))", "eval_time": "120m", "exp_samples": expected})
    assert len(checks) == len(EXPECTED)
    tests = [{"interval": "1m", "input_series": [{"series": s, "values": v} for s, v in SERIES.items()], "promql_expr_test": checks}]
    result = promtool_unit_tests(promtool, tmp_path, tests)
    assert result.returncode == 0, result.stdout + result.stderr
