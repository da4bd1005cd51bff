"""`make set-image` (tools/set_image.py): the release pipeline's edit of an environment spec."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

from envspec import load_environments
from tests.conftest import ROOT
from tools.errors import ToolError
from tools.set_image import main, set_image


@pytest.fixture
def environments(tmp_path: Path) -> Path:
    """environments/ of a copy of the repository (the edits happen there, not here)."""
    folder = tmp_path / "environments"
    shutil.copytree(ROOT / "environments", folder)
    return folder


def _changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"]


def test_only_the_tag_line_changes_and_comments_stay(environments: Path) -> None:
    path = environments / "development.yaml"
    before = path.read_text()
    assert set_image(environments.parent, ["development"], "ai-engine", "sha-0a1b2c3") == [path]
    after = path.read_text()
    assert _changed_lines(before, after) == ['-     image: {tag: "sha-3f9c2ab"}', '+     image: {tag: "sha-0a1b2c3"}']
    spec = load_environments(environments, only=["development"])["development"]
    assert spec.workloads.ai_worker.image.reference == "ghcr.io/ai-subsidy/ai-engine:sha-0a1b2c3"
    assert spec.workloads.backend.image.tag == "sha-3f9c2ab", "other components keep their tag"


def test_components_by_image_name_workload_key_or_deployment(environments: Path) -> None:
    set_image(environments.parent, ["staging", "production"], "ai_worker", "v1.5.0")
    set_image(environments.parent, ["staging"], "ai-subsidy-frontend", "v1.5.1")
    specs = load_environments(environments)
    assert specs["staging"].workloads.ai_worker.image.tag == specs["production"].workloads.ai_worker.image.tag == "v1.5.0"
    assert specs["staging"].workloads.frontend.image.tag == "v1.5.1"
    assert specs["production"].workloads.frontend.image.tag == "v1.4.0"


def test_nothing_is_written_unless_every_file_stays_valid(environments: Path) -> None:
    before = {path.name: path.read_text() for path in environments.glob("*.yaml")}
    with pytest.raises(ToolError, match="'latest' is not a pinned tag"):
        set_image(environments.parent, ["development", "staging"], "backend", "latest")
    with pytest.raises(ToolError, match="unknown component 'worker'"):
        set_image(environments.parent, ["development"], "worker", "v1.0.0")
    with pytest.raises(ToolError, match="not a valid image tag"):
        set_image(environments.parent, ["development"], "backend", "v1 ; rm -rf /")
    with pytest.raises(ToolError, match="unknown environment"):
        set_image(environments.parent, ["development", "qa"], "backend", "v1.0.0")
    assert {path.name: path.read_text() for path in environments.glob("*.yaml")} == before


def test_command_line_reports_and_exits_2_on_bad_input(environments: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--repo", str(environments.parent), "--env", "staging", "--component", "backend", "--tag", "v2.0.0"]) == 0
    assert "staging.yaml: backend -> v2.0.0" in capsys.readouterr().out
    assert main(["--repo", str(environments.parent), "--env", "staging", "--component", "backend", "--tag", "v2.0.0"]) == 0
    assert "already at v2.0.0" in capsys.readouterr().out
    assert main(["--repo", str(environments.parent), "--env", "staging", "--component", "backend", "--tag", "latest"]) == 2
    error = capsys.readouterr().err
    assert "refused by the spec" in error and "staging.yaml" in error and "nothing was changed" in error
