"""Spec fields of the Kubernetes layer: bad values are refused with one clear error each."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from charts.application import settings_for
from envspec import SpecError, load_environments, names_for
from envspec.models import duration_seconds
from envspec.topology import AI_WORKER
from tests.conftest import ROOT, SPECS

BAD_VALUES = {
    "refresh interval of zero": ("secret_sync:\n  refresh_interval: 0m", "secret_sync.refresh_interval", "outside 1m..24h"),
    "refresh interval in days": (
        "secret_sync:\n  database_refresh_interval: 1d",
        "secret_sync.database_refresh_interval",
        "should match pattern",
    ),
    "unknown zone spread": ("workloads:\n  zone_spread: strict", "workloads.zone_spread", "'required' or 'preferred'"),
    "migration without deadline": (
        "workloads:\n  migration_deadline_seconds: 0",
        "workloads.migration_deadline_seconds",
        "greater than or equal to 60",
    ),
    "setting that is not a variable name": (
        "workloads.frontend:\n    settings: {feature-flags: 'on'}",
        "workloads.frontend.settings",
        "not an environment variable name",
    ),
    "credential in a setting": (
        "workloads.backend:\n    settings: {CACHE_URL: 'rediss://app:hunter2hunter2@cache.internal:6379'}",
        "workloads.backend.settings",
        "looks like a credential",
    ),
}


def _merged(text: str, addition: str) -> str:
    """The file with `addition` merged in: `workloads:\n  ...` into its workloads block,
    `workloads.<component>:\n    ...` into that component's block, anything else appended."""
    if addition.startswith("workloads."):
        component, body = addition.removeprefix("workloads.").split(":\n", 1)
        return text.replace(f"  {component}:\n", f"  {component}:\n{body}\n", 1)
    if addition.startswith("workloads:\n"):
        return text.replace("workloads:\n", addition + "\n", 1)
    return text + addition + "\n"


@pytest.fixture
def environments(tmp_path: Path) -> Path:
    directory = tmp_path / "environments"
    shutil.copytree(ROOT / "environments", directory)
    return directory


@pytest.mark.parametrize("case", BAD_VALUES, ids=list(BAD_VALUES))
def test_bad_kubernetes_settings_get_one_clear_error(case: str, environments: Path) -> None:
    addition, field, reason = BAD_VALUES[case]
    path = environments / "development.yaml"
    path.write_text(_merged(path.read_text(), addition))
    with pytest.raises(SpecError) as error:
        load_environments(environments)
    (problem,) = error.value.problems
    assert f": {field}: " in str(problem) or f": {field}." in str(problem), str(problem)
    assert reason in str(problem)
    assert "hunter2" not in str(problem), "a credential must never be echoed"


def test_settings_reach_the_config_map_and_defaults_hold(environments: Path) -> None:
    path = environments / "staging.yaml"
    path.write_text(_merged(path.read_text(), "workloads.ai_worker:\n    settings: {MODEL_NAME: gpt-4o-mini}"))
    staging = load_environments(environments)["staging"]
    assert staging.workloads.ai_worker.settings == {"MODEL_NAME": "gpt-4o-mini"}
    config = settings_for(AI_WORKER, names_for(staging))
    assert config["MODEL_NAME"] == "gpt-4o-mini"
    assert config["APP_ENV"] == "staging"
    for spec in SPECS.values():
        assert duration_seconds(spec.secret_sync.database_refresh_interval) == 300
        assert duration_seconds(spec.secret_sync.refresh_interval) == 3600
    assert duration_seconds("1h30m") == 5400
