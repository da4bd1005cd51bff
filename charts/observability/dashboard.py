"""The Grafana dashboard "AI Subsidy System Monitoring", generated from the same PromQL as the alerts.

Panels read the recording rules where one exists (the same numbers the alerts compare), and draw
the alert thresholds (`thresholds`, the values the rules compare with) as red lines, so a graph
crossing a line is an alert about to fire. The error-budget panel shows, per objective of the spec,
the share of the period's budget left: 1 minus the period's error ratio over the budget (red below
zero, the objective missed). The Prometheus data source is a dashboard variable, so the JSON does
not depend on a data source uid.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from charts.observability import promql as q
from charts.observability import thresholds as t
from charts.observability.slo import FAST_BURN, objectives, sli_error
from envspec import Names
from envspec.slo import BURN_RATE_WINDOWS

TITLE = "AI Subsidy System Monitoring"
UID = "ai-subsidy-system"
FILE_NAME = "ai-subsidy-system.json"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
GRID_WIDTH = 24


@dataclass(frozen=True)
class Target:
    expr: str
    legend: str


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    targets: tuple[Target, ...]
    unit: str
    kind: str = "timeseries"
    threshold: float | None = None  # drawn as a red line (timeseries) or turns the stat red
    width: int = 12
    height: int = 8
    extra_defaults: dict[str, Any] = field(default_factory=dict)


def _backend(metric: str, **matchers: str) -> str:
    return q.app(metric, job=q.BACKEND_JOB, **matchers)


PANELS = (
    Panel(
        "Application health",
        "Scrape targets up per component (0 means Prometheus reaches no pod: ApplicationDown/ApplicationTargetsMissing).",
        tuple(Target(f"sum({q.app(q.UP, job=job)})", f"{job} targets up") for job in q.APPLICATION_JOBS),
        unit="none",
        kind="stat",
        threshold=1,
        width=24,
        height=4,
    ),
    Panel(
        "Request rate",
        "HTTP requests per second, by component.",
        (Target(q.app(q.REQUESTS_RATE, job=f"~{q.BACKEND_JOB}|{q.FRONTEND_JOB}"), "{{job}}"),),
        unit="reqps",
    ),
    Panel(
        "Response time",
        f"Backend response time percentiles over 5 minutes; HighResponseTime fires when p95 stays over {t.HIGH_RESPONSE_TIME.text} "
        "for 10 minutes.",
        (
            Target(_backend(q.DURATION_QUANTILE, quantile="0.5"), "p50"),
            Target(_backend(q.DURATION_QUANTILE, quantile="0.95"), "p95"),
        ),
        unit="s",
        threshold=t.HIGH_RESPONSE_TIME.value,
    ),
    Panel(
        "Error rate",
        f"Share of backend requests answered 5xx; HighErrorRate fires above {t.HIGH_ERROR_RATIO.text} for 5 minutes.",
        (Target(_backend(q.ERROR_RATIO), "5xx ratio"),),
        unit="percentunit",
        threshold=t.HIGH_ERROR_RATIO.value,
        extra_defaults={"min": 0, "max": 1},
    ),
    Panel(
        "AI requests per second",
        "AI requests per second, by component.",
        (Target(q.app(q.AI_REQUESTS_RATE), "{{job}}"),),
        unit="reqps",
    ),
    Panel(
        "AI p95 latency",
        f"95th percentile AI request duration; AIServiceHighLatency fires over {t.AI_HIGH_LATENCY.text} for 5 minutes.",
        (Target(q.app(q.AI_DURATION_QUANTILE, quantile="0.95"), "{{job}} p95"),),
        unit="s",
        threshold=t.AI_HIGH_LATENCY.value,
    ),
    Panel(
        "Database queries per second",
        "Queries the application sends to PostgreSQL, by component.",
        (Target(q.app(q.DATABASE_QUERIES_RATE), "{{job}}"),),
        unit="ops",
    ),
    Panel(
        "Active database connections",
        "Open PostgreSQL connections held by the application's pools, by component.",
        (Target(q.app(q.DATABASE_CONNECTIONS_ACTIVE_SUM), "{{job}}"),),
        unit="short",
    ),
    Panel(
        "Node CPU usage",
        f"CPU busy share per node; HighCPUUsage fires over {t.NODE_CPU.text} for 10 minutes.",
        (Target(q.NODE_CPU_PERCENT, "{{instance}}"),),
        unit="percent",
        threshold=t.NODE_CPU.value,
        extra_defaults={"min": 0, "max": 100},
    ),
    Panel(
        "Node memory usage",
        f"Memory in use per node (total minus available); HighMemoryUsage fires over {t.NODE_MEMORY.text} for 5 minutes.",
        (Target(q.NODE_MEMORY_PERCENT, "{{instance}}"),),
        unit="percent",
        threshold=t.NODE_MEMORY.value,
        extra_defaults={"min": 0, "max": 100},
    ),
)


ERROR_BUDGET_TITLE = "Error budget remaining"


def error_budget_panel(names: Names) -> Panel:
    """Per objective: 1 - (error ratio over the period) / (error budget); 1 is untouched, 0 spent."""
    levels = names.spec.slos
    slos = objectives(levels)
    first = BURN_RATE_WINDOWS[0]
    return Panel(
        ERROR_BUDGET_TITLE,
        f"Share of each objective's {levels.period_days}-day error budget not yet spent (below 0: the objective is missed). "
        "Over the samples Prometheus keeps, when its retention is shorter than the period. "
        f"{FAST_BURN} pages when {first.budget_percent:f}% of it is spent in {first.long}.",
        tuple(
            Target(
                f"1 - {q.app(sli_error(slo.period), job=slo.component.name, slo=slo.kind)} / {slo.objective.error_budget.normalize():f}",
                f"{slo.component.name} {slo.kind} ({slo.target_text})",
            )
            for slo in slos
        ),
        unit="percentunit",
        kind="stat",
        threshold=0,
        width=24,
        height=4,
    )


def _thresholds(panel: Panel) -> dict[str, Any]:
    if panel.threshold is None:
        return {"mode": "absolute", "steps": [{"color": "green", "value": None}]}
    if panel.kind == "stat":  # below the threshold is bad (no target up)
        return {"mode": "absolute", "steps": [{"color": "red", "value": None}, {"color": "green", "value": panel.threshold}]}
    return {"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "red", "value": panel.threshold}]}


def _panel(panel: Panel, *, panel_id: int, x: int, y: int) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": panel.unit, "thresholds": _thresholds(panel), **panel.extra_defaults}
    if panel.kind == "timeseries":
        defaults["custom"] = {"thresholdsStyle": {"mode": "line" if panel.threshold is not None else "off"}, "fillOpacity": 10}
        options: dict[str, Any] = {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}}
    else:
        options = {
            "colorMode": "background",
            "graphMode": "none",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        }
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
        "targets": [
            {"refId": chr(ord("A") + index), "datasource": DATASOURCE, "expr": target.expr, "legendFormat": target.legend}
            for index, target in enumerate(panel.targets)
        ],
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": options,
    }


def dashboard(names: Names) -> dict[str, Any]:
    panels, x, y, row_height = [], 0, 0, 0
    slos = (error_budget_panel(names),) if objectives(names.spec.slos) else ()
    for panel_id, panel in enumerate((*PANELS, *slos), start=1):
        if x + panel.width > GRID_WIDTH:
            x, y = 0, y + row_height
            row_height = 0
        panels.append(_panel(panel, panel_id=panel_id, x=x, y=y))
        x += panel.width
        row_height = max(row_height, panel.height)
    return {
        "uid": UID,
        "title": TITLE,
        "description": f"Health of the AI Subsidy System in {names.env}: traffic, latency, errors, AI, database and nodes.",
        "tags": ["ai-subsidy", names.env],
        "editable": False,
        "timezone": "browser",
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "schemaVersion": 39,
        "graphTooltip": 1,
        "links": [{"title": "Runbooks", "type": "link", "url": names.runbook_base_url, "targetBlank": True}],
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                }
            ]
        },
        "annotations": {"list": []},
        "panels": panels,
    }


def dashboard_json(names: Names) -> str:
    return json.dumps(dashboard(names), indent=2, sort_keys=True) + "\n"


def expressions(document: dict[str, Any]) -> list[str]:
    """Every PromQL expression of a dashboard document."""
    return [target["expr"] for panel in document["panels"] for target in panel.get("targets", [])]
