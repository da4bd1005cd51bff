"""The PrometheusRule `ai-subsidy-slos`: recording rules over the SRE Workbook's windows and the
multiwindow, multi-burn-rate alerts, run by promtool at each row's boundary.

Every case starts from a clean history longer than the row's long window, then burns the budget at a
rate just above the row's (it must fire exactly at the step the row's long and short windows both
cross the threshold, and be silent one step before) or just below it (silent long after). The
expected step is computed from the counters here and checked by promtool's own evaluation: promtool
2.42 selects `[t - w, t]` (both ends, Prometheus 2), so a window of k steps holds k intervals.

Sources: Google SRE Workbook, "Alerting on SLOs", section 6 and table 5-8 (windows, burn rates,
budget shares); sloth's rule names (`slo:sli_error:ratio_rate<window>`).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from charts.observability.slo import BUCKET_MISSING, FAST_BURN, SLO_RULE, SLOW_BURN, ServiceLevelObjective, objectives
from envspec.naming import MONITORING_NAMESPACE, MONITORING_SELECTOR_LABELS
from envspec.slo import BURN_RATE_WINDOWS, SLI_WINDOWS, BurnRateWindow, minutes
from tests.conftest import ENVIRONMENTS, SPECS, Synthesis, require_binary
from tests.prometheus import promtool_unit_tests, run, write_rule_file

BACKEND = 'namespace="ai-subsidy", job="ai-subsidy-backend", pod="ai-subsidy-backend-7d9c6b5f4-x2x7k"'


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_binary("promtool", "install Debian's `prometheus` package (.ci/run does)")


def _rule(synthesis: Synthesis, env: str) -> dict[str, Any]:
    (rule,) = synthesis.find(env, "PrometheusRule", SLO_RULE)
    return rule


def _slo(env: str, component: str, kind: str) -> ServiceLevelObjective:
    (slo,) = [item for item in objectives(SPECS[env].slos) if item.component.name == component and item.kind == kind]
    return slo


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_rule_is_where_prometheus_selects_it(env: str, synthesis: Synthesis) -> None:
    rule = _rule(synthesis, env)
    assert rule["metadata"]["namespace"] == MONITORING_NAMESPACE
    assert MONITORING_SELECTOR_LABELS.items() <= rule["metadata"]["labels"].items()


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_objective_records_every_window_and_alerts_twice(env: str, synthesis: Synthesis) -> None:
    groups = _rule(synthesis, env)["spec"]["groups"]
    assert {group["name"] for group in groups} == {
        f"ai-subsidy.slo.{component}.{kind}"
        for component in ("ai-subsidy-backend", "ai-subsidy-frontend")
        for kind in ("availability", "latency")
    }
    for group in groups:
        records = [rule["record"] for rule in group["rules"] if "record" in rule]
        assert records == [f"slo:sli_error:ratio_rate{window}" for window in (*SLI_WINDOWS, "30d")]
        alerts = [rule for rule in group["rules"] if "alert" in rule]
        latency = [(BUCKET_MISSING, {"severity": "warning"})] if group["name"].endswith(".latency") else []
        assert [(alert["alert"], alert["labels"]) for alert in alerts] == [
            (FAST_BURN, {"severity": "critical", "impact": "users"}),
            (SLOW_BURN, {"severity": "warning"}),
            *latency,
        ]
        assert all("for" not in alert for alert in alerts[:2]), "the short window, not `for`, keeps blips out"
        for alert in alerts:
            assert "$value" in alert["annotations"]["description"] and "$labels.job" in alert["annotations"]["description"]


def test_the_burn_rates_are_the_workbooks_table() -> None:
    """Table 5-8 for a 30-day period: 14.4x/1h/5m and 6x/6h/30m page, 3x/1d/2h and 1x/3d/6h are tickets."""
    table = [(row.long, row.short, float(row.burn_rate(30)), row.severity) for row in BURN_RATE_WINDOWS]
    assert table == [("1h", "5m", 14.4, "page"), ("6h", "30m", 6.0, "page"), ("1d", "2h", 3.0, "ticket"), ("3d", "6h", 1.0, "ticket")]
    assert all(minutes(row.short) * 12 == minutes(row.long) for row in BURN_RATE_WINDOWS)


def test_the_thresholds_come_from_the_objective(synthesis: Synthesis) -> None:
    """99.9% leaves 0.1%: the fast page compares with 14.4 * 0.001; the latency objective (95% within 2 s) with 14.4 * 0.05."""
    groups = {group["name"]: group for group in _rule(synthesis, "production")["spec"]["groups"]}
    availability = next(r for r in groups["ai-subsidy.slo.ai-subsidy-backend.availability"]["rules"] if r.get("alert") == FAST_BURN)
    latency = next(r for r in groups["ai-subsidy.slo.ai-subsidy-backend.latency"]["rules"] if r.get("alert") == FAST_BURN)
    assert "> 0.0144\n" in availability["expr"] and "> 0.006\n" in availability["expr"]
    assert "> 0.72\n" in latency["expr"] and "> 0.3\n" in latency["expr"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_promtool_check_rules(env: str, synthesis: Synthesis, promtool: str, tmp_path: Path) -> None:
    result = run(promtool, "check", "rules", str(write_rule_file(tmp_path / "rules.yaml", _rule(synthesis, env)["spec"]["groups"])))
    assert result.returncode == 0, result.stdout + result.stderr


# --- Boundary cases -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BurnCase:
    """`requests` per step, `bad` of them bad per step from the end of the clean history, for
    `burn_steps` steps (None: to the end)."""

    kind: str
    row: BurnRateWindow
    step_minutes: int
    requests: int
    firing_bad: int
    silent_bad: int
    burn_steps: int | None = None
    le: str = "2"  # how the latency bucket's bound is spelled in the scraped series

    @property
    def alert(self) -> str:
        return FAST_BURN if self.row.severity == "page" else SLOW_BURN

    def steps(self, window: str) -> int:
        return minutes(window) // self.step_minutes


def _bad_in_window(case: BurnCase, bad: int, step: int, window_steps: int) -> int:
    """Bad requests in the intervals (step - window_steps, step] after the clean history."""
    start, end = max(step - window_steps, 0), step
    if case.burn_steps is not None:
        end = min(end, case.burn_steps)
    return bad * max(end - start, 0)


def _fires(case: BurnCase, slo: ServiceLevelObjective, bad: int, step: int) -> bool:
    for row in BURN_RATE_WINDOWS:
        if row.severity != case.row.severity:
            continue
        threshold = Fraction(str(slo.threshold(row)))
        ratios = [Fraction(_bad_in_window(case, bad, step, case.steps(w)), case.requests * case.steps(w)) for w in (row.long, row.short)]
        assert threshold not in ratios, "a case must not sit exactly on the threshold (float rounding decides)"
        if all(ratio > threshold for ratio in ratios):
            return True
    return False


def _counter(segments: list[tuple[int, int]]) -> str:
    """promtool expanding notation for a counter growing by `increment` per step for `steps` steps, segment by segment."""
    parts, value = ["0"], 0
    for increment, steps in segments:
        if steps == 0:
            continue
        parts.append(f"{value + increment}+{increment}x{steps - 1}")
        value += increment * steps
    return " ".join(parts)


def _series(case: BurnCase, bad: int, clean: int, total_steps: int) -> dict[str, str]:
    burn = total_steps - clean if case.burn_steps is None else case.burn_steps
    after = total_steps - clean - burn
    good = [(case.requests, clean), (case.requests - bad, burn), (case.requests, after)]
    failed = [(0, clean), (bad, burn), (0, after)]
    if case.kind == "availability":
        return {
            f'http_requests_total{{{BACKEND}, status="200"}}': _counter(good),
            f'http_requests_total{{{BACKEND}, status="503"}}': _counter(failed),
        }
    every = [(case.requests, clean + burn + after)]
    return {
        f'http_request_duration_seconds_bucket{{{BACKEND}, le="1"}}': _counter([(n // 2, s) for n, s in good]),
        f'http_request_duration_seconds_bucket{{{BACKEND}, le="{case.le}"}}': _counter(good),
        f'http_request_duration_seconds_bucket{{{BACKEND}, le="+Inf"}}': _counter(every),
    }


CASES = {
    # 14.5x and 14.3x of a 0.1% budget, 10,000 requests a minute.
    "fast-1h": BurnCase("availability", BURN_RATE_WINDOWS[0], 1, 10_000, firing_bad=145, silent_bad=143),
    # 6.1x and 5.9x: the 1h row stays silent, the 6h row decides.
    "fast-6h": BurnCase("availability", BURN_RATE_WINDOWS[1], 1, 10_000, firing_bad=61, silent_bad=59),
    # 3.1x and 2.9x for one day, then clean again. Both ticket rows spend 10% of the budget, so within
    # a day they cross together; a burn that stops keeps the 2.9x case silent on the 3d row too.
    "slow-1d": BurnCase("availability", BURN_RATE_WINDOWS[2], 10, 10_000, firing_bad=31, silent_bad=29, burn_steps=144),
    # 1.05x and 0.95x, going on: the 1d row never sees 3x, the 3d row decides.
    "slow-3d": BurnCase("availability", BURN_RATE_WINDOWS[3], 10, 20_000, firing_bad=21, silent_bad=19),
    # Latency: 14.5x and 14.3x of a 5% budget (72.5% and 71.5% slower than 2 s), as Prometheus 3 spells the bound.
    "latency-fast-1h": BurnCase("latency", BURN_RATE_WINDOWS[0], 1, 1_000, firing_bad=725, silent_bad=715, le="2.0"),
}


def _percentage(value: Fraction) -> str:
    """Alertmanager's `humanizePercentage`: `humanize(v * 100)%`, humanize printing %.4g."""
    return f"{float(value * 100):.4g}%"


@pytest.mark.parametrize("name", sorted(CASES))
def test_burn_rate_alert_fires_at_its_boundary(name: str, synthesis: Synthesis, promtool: str, tmp_path: Path) -> None:
    case = CASES[name]
    slo = _slo("production", "ai-subsidy-backend", case.kind)
    clean = case.steps(max((r.long for r in BURN_RATE_WINDOWS if r.severity == case.row.severity), key=minutes)) + 1
    limit = 2 * case.steps(case.row.long)
    fire = next(n for n in range(1, limit) if _fires(case, slo, case.firing_bad, n))
    assert not any(_fires(case, slo, case.silent_bad, n) for n in range(1, limit)), "the silent case must not fire"
    assert fire > case.steps(case.row.short), "a boundary case must need its long window, not just the short one"
    total = clean + fire + 10
    long_ratio = Fraction(_bad_in_window(case, case.firing_bad, fire, case.steps(case.row.long)), case.requests * case.steps(case.row.long))
    group = next(g for g in _rule(synthesis, "production")["spec"]["groups"] if g["name"].endswith(f"backend.{case.kind}"))
    alert = next(r for r in group["rules"] if r.get("alert") == case.alert)
    description = (
        alert["annotations"]["description"]
        .replace("{{ $value | humanizePercentage }}", _percentage(long_ratio))
        .replace("{{ $labels.job }}", "ai-subsidy-backend")
        .replace("{{ $labels.slo }}", case.kind)
    )
    at = lambda step: f"{(clean + step) * case.step_minutes}m"  # noqa: E731
    firing = {
        "interval": f"{case.step_minutes}m",
        "input_series": [{"series": s, "values": v} for s, v in _series(case, case.firing_bad, clean, total).items()],
        "alert_rule_test": [
            {"eval_time": at(fire - 1), "alertname": case.alert, "exp_alerts": []},
            {
                "eval_time": at(fire),
                "alertname": case.alert,
                "exp_alerts": [
                    {
                        "exp_labels": {"namespace": "ai-subsidy", "job": "ai-subsidy-backend", "slo": case.kind, **alert["labels"]},
                        "exp_annotations": {**alert["annotations"], "description": description},
                    }
                ],
            },
        ],
    }
    silent = {
        "interval": f"{case.step_minutes}m",
        "input_series": [{"series": s, "values": v} for s, v in _series(case, case.silent_bad, clean, total).items()],
        "alert_rule_test": [
            {"eval_time": at(fire), "alertname": case.alert, "exp_alerts": []},
            {"eval_time": at(fire + 10), "alertname": case.alert, "exp_alerts": []},
        ],
    }
    write_rule_file(tmp_path / "rules.yaml", [group])
    result = promtool_unit_tests(promtool, tmp_path, [firing, silent], evaluation_interval=f"{case.step_minutes}m")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_blip_that_high_error_rate_sees_does_not_page(synthesis: Synthesis, promtool: str, tmp_path: Path) -> None:
    """Six minutes of 12% errors after six clean hours do not page (the 1h window holds 1.2% errors, under
    14.4 * 0.1%); twenty minutes of them do, from the eighth minute on."""
    (group,) = [g for g in _rule(synthesis, "production")["spec"]["groups"] if g["name"].endswith("backend.availability")]
    write_rule_file(tmp_path / "rules.yaml", [group])

    def scenario(burn: int) -> dict[str, Any]:
        good = _counter([(1000, 361), (880, burn), (1000, 30)])
        bad = _counter([(0, 361), (120, burn), (0, 30)])
        return {
            "interval": "1m",
            "input_series": [
                {"series": f'http_requests_total{{{BACKEND}, status="200"}}', "values": good},
                {"series": f'http_requests_total{{{BACKEND}, status="500"}}', "values": bad},
            ],
        }

    blip = {
        **scenario(6),
        "alert_rule_test": [{"eval_time": f"{361 + m}m", "alertname": FAST_BURN, "exp_alerts": []} for m in range(0, 30, 3)],
    }
    outage = {
        **scenario(20),
        "promql_expr_test": [
            {"expr": f"ALERTS{{alertname='{FAST_BURN}'}}", "eval_time": "368m", "exp_samples": []},
            {
                "expr": f"count(ALERTS{{alertname='{FAST_BURN}', alertstate='firing'}})",
                "eval_time": "369m",
                "exp_samples": [{"labels": "{}", "value": 1}],
            },
        ],
    }
    result = promtool_unit_tests(promtool, tmp_path, [blip, outage])
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_histogram_without_the_threshold_bucket_is_reported(synthesis: Synthesis, promtool: str, tmp_path: Path) -> None:
    """Buckets 1, 2.5 and +Inf: nothing counts "within 2 s", the latency SLI is empty and no burn
    rate can fire, so SLOLatencyBucketMissing does after 30 minutes. With a 2 s bucket (either
    spelling) or no traffic at all it stays silent."""
    (group,) = [g for g in _rule(synthesis, "production")["spec"]["groups"] if g["name"].endswith("backend.latency")]
    (alert,) = [r for r in group["rules"] if r.get("alert") == BUCKET_MISSING]
    assert alert["for"] == "30m"
    write_rule_file(tmp_path / "rules.yaml", [group])

    def buckets(*bounds: str) -> list[dict[str, str]]:
        return [{"series": f'http_request_duration_seconds_bucket{{{BACKEND}, le="{le}"}}', "values": "0+100x60"} for le in bounds]

    description = alert["annotations"]["description"].replace("{{ $labels.job }}", "ai-subsidy-backend").replace("{{ $value }}", "1")
    missing = {
        "interval": "1m",
        "input_series": buckets("1", "2.5", "+Inf"),
        "alert_rule_test": [
            {"eval_time": "29m", "alertname": BUCKET_MISSING, "exp_alerts": []},
            {
                "eval_time": "30m",
                "alertname": BUCKET_MISSING,
                "exp_alerts": [
                    {
                        "exp_labels": {"namespace": "ai-subsidy", "job": "ai-subsidy-backend", **alert["labels"]},
                        "exp_annotations": {**alert["annotations"], "description": description},
                    }
                ],
            },
        ],
    }
    silent = [
        {"interval": "1m", "input_series": series, "alert_rule_test": [{"eval_time": "45m", "alertname": BUCKET_MISSING, "exp_alerts": []}]}
        for series in (buckets("1", "2", "+Inf"), buckets("1.0", "2.0", "+Inf"), [])
    ]
    result = promtool_unit_tests(promtool, tmp_path, [missing, *silent])
    assert result.returncode == 0, result.stdout + result.stderr
