"""The `slos` section of the environment spec: defaults, and bad values refused by the loader with
the file, the line, the field and the reason."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from charts.observability.slo import objectives
from envspec.loader import SpecError, load_file
from envspec.slo import LONGEST_WINDOW_DAYS, ServiceLevels
from tests.conftest import ROOT, SPECS


def test_the_defaults_are_the_issues_objectives() -> None:
    levels = SPECS["production"].slos
    assert levels.period_days == 30
    assert levels.backend is not None and levels.frontend is not None
    assert levels.backend.availability.target_percent == Decimal("99.9")
    assert levels.backend.availability.error_budget == Decimal("0.001")
    assert (levels.backend.latency.target_percent, levels.backend.latency.threshold_seconds) == (95, 2)
    assert len(objectives(levels)) == 4
    assert len(objectives(ServiceLevels(frontend=None))) == 2


@pytest.fixture
def staging(tmp_path: Path) -> Path:
    path = tmp_path / "staging.yaml"
    shutil.copy(ROOT / "environments" / "staging.yaml", path)
    return path


def _problem(path: Path, addition: str) -> str:
    path.write_text(path.read_text() + addition)
    with pytest.raises(SpecError) as error:
        load_file(path)
    (line,) = str(error.value).splitlines()[-1:]
    assert "Traceback" not in str(error.value)
    return line


BAD = {
    "no error budget": (
        "slos:\n  backend:\n    availability: {target_percent: 100}\n",
        "slos.backend.availability.target_percent",
        "100% leaves no error budget",
    ),
    "objective over 100": ("slos:\n  frontend:\n    latency: {target_percent: 120}\n", "slos.frontend.latency.target_percent", "below 100"),
    "latency threshold zero": (
        "slos:\n  backend:\n    latency: {threshold_seconds: 0}\n",
        "slos.backend.latency.threshold_seconds",
        "greater than 0",
    ),
    "unknown component": ("slos:\n  ai_worker: {}\n", "slos.ai_worker", "unknown field; allowed: backend, frontend, period_days"),
    "retention shorter than the longest window": (
        "monitoring:\n  prometheus_retention_days: 2\n",
        "monitoring.prometheus_retention_days",
        f"shorter than the longest SLO alert window ({LONGEST_WINDOW_DAYS} days)",
    ),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_objectives_get_one_clear_error(case: str, staging: Path) -> None:
    addition, field, reason = BAD[case]
    lines_before = len(staging.read_text().splitlines())
    line = _problem(staging, addition)
    assert line.startswith(f"{staging}:") and f": {field}: " in line, line
    assert reason in line, line
    assert int(line.split(":")[1]) > lines_before, "the line is the one that sets the field"
