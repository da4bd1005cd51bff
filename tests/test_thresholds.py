"""Each alert threshold is defined once (charts/observability/thresholds.py, kubernetes-mixin's
`_config` idea): moving the number there moves the alert's expression, its summary and description,
and the dashboard's red line together. Checked in a fresh interpreter that changes every threshold
before the rules and the dashboard are built, so no copy of the old number can hide anywhere."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

# alert -> (threshold constant, dashboard panel drawing it, new value)
USES = {
    "HighErrorRate": ("HIGH_ERROR_RATIO", "Error rate", 0.25),
    "HighResponseTime": ("HIGH_RESPONSE_TIME", "Response time", 3.5),
    "DatabaseConnectionFailure": ("DATABASE_CONNECTION_FAILURES", None, 7),
    "AIServiceHighLatency": ("AI_HIGH_LATENCY", "AI p95 latency", 12),
    "HighCPUUsage": ("NODE_CPU", "Node CPU usage", 77),
    "HighMemoryUsage": ("NODE_MEMORY", "Node memory usage", 93),
}

PROGRAM = """
import dataclasses, json, sys
from charts.observability import thresholds as t
changes = json.loads(sys.argv[1])
for name, value in changes.items():
    setattr(t, name, dataclasses.replace(getattr(t, name), value=value))
from charts.observability import dashboard, rules
from envspec import names_for
from envspec.loader import load_environments
names = names_for(load_environments(only=["production"])["production"])
out = {
    "alerts": {a.name: {"expr": a.expr, "summary": a.summary, "description": a.description, "meaning": a.meaning} for a in rules.alerts()},
    "panels": {p["title"]: p["fieldConfig"]["defaults"]["thresholds"]["steps"][-1]["value"] for p in dashboard.dashboard(names)["panels"]},
    "texts": {name: getattr(t, name).text for name in changes},
}
print(json.dumps(out))
"""


def test_a_threshold_moves_everything_that_shows_it() -> None:
    changes = {constant: value for constant, _, value in USES.values()}
    result = subprocess.run([sys.executable, "-c", PROGRAM, json.dumps(changes)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    built = json.loads(result.stdout)
    for alert, (constant, panel, value) in USES.items():
        rule, text = built["alerts"][alert], built["texts"][constant]
        assert rule["expr"].endswith(f"> {value:g}"), (alert, rule["expr"])
        assert f"threshold {text}" in rule["description"], (alert, rule["description"])
        assert text in rule["meaning"], (alert, rule["meaning"])
        if panel:
            assert built["panels"][panel] == value, panel


def test_threshold_texts_read_as_people_write_them() -> None:
    from charts.observability import thresholds as t

    assert [t.HIGH_ERROR_RATIO.text, t.HIGH_RESPONSE_TIME.text, t.NODE_CPU.text, t.DATABASE_CONNECTION_FAILURES.text] == [
        "10%",
        "2s",
        "85%",
        "5",
    ]
    assert [t.HIGH_ERROR_RATIO.promql, t.HIGH_RESPONSE_TIME.promql, t.AI_HIGH_LATENCY.promql] == ["0.1", "2", "10"]
