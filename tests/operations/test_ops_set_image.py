"""`ops deploy set-image`: one tag changes in the environment file, by pull request.

Runs against a real git repository with a bare remote; `gh` is a small stand-in program on PATH
that records its arguments (the GitHub API is not reachable here) and prints a pull request URL.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ops.deploy.yamledit import EditError, set_scalar
from tests.conftest import ROOT

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Release Bot",
    "GIT_AUTHOR_EMAIL": "release@example.com",
    "GIT_COMMITTER_NAME": "Release Bot",
    "GIT_COMMITTER_EMAIL": "release@example.com",
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True, env={**os.environ, **GIT_ENV}).stdout


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    remote, repo = tmp_path / "remote.git", tmp_path / "checkout"
    subprocess.run(["git", "init", "--bare", "--initial-branch=main", str(remote)], check=True, capture_output=True)
    repo.mkdir()
    shutil.copytree(ROOT / "environments", repo / "environments")
    git(repo, "init", "--initial-branch=main")
    git(repo, "add", ".")
    git(repo, "commit", "-m", "environments")
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "origin", "main")
    return repo


@pytest.fixture
def gh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir, log = tmp_path / "bin", tmp_path / "gh-calls.jsonl"
    bin_dir.mkdir()
    script = bin_dir / "gh"
    script.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        "print('https://github.com/ai-subsidy/infrastructure/pull/1234')\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    return log


def ops(repo: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops", "deploy", "set-image", "--repo", str(repo), *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_dry_run_shows_a_one_line_diff_and_the_commands(checkout: Path) -> None:
    before = (checkout / "environments/staging.yaml").read_text()
    result = ops(checkout, "--env", "staging", "--component", "backend", "--tag", "v1.5.0")
    assert result.returncode == 0, result.stderr
    changed = [line for line in result.stdout.splitlines() if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]
    assert changed == ['-    image: {tag: "v1.4.0"}', '+    image: {tag: "v1.5.0"}']
    assert "  git switch --create deploy/staging/ai-subsidy-backend-v1.5.0" in result.stdout
    assert "  gh pr create --base main --head deploy/staging/ai-subsidy-backend-v1.5.0" in result.stdout
    assert (checkout / "environments/staging.yaml").read_text() == before
    assert git(checkout, "branch", "--list").split() == ["*", "main"]


def test_execute_pushes_a_branch_with_only_the_tag_changed_and_opens_a_pull_request(checkout: Path, gh: Path) -> None:
    result = ops(checkout, "--env", "production", "--component", "ai-worker", "--tag", "v1.5.0-rc.1", "--execute")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "https://github.com/ai-subsidy/infrastructure/pull/1234"
    branch = "deploy/production/ai-worker-v1.5.0-rc.1"
    assert branch in git(checkout, "ls-remote", "--heads", "origin")
    diff = git(checkout, "diff", "main", branch)
    assert [line for line in diff.splitlines() if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))] == [
        '-    image: {tag: "v1.4.0"}',
        '+    image: {tag: "v1.5.0-rc.1"}',
    ]
    assert git(checkout, "log", "-1", "--format=%s", branch).strip() == "deploy(production): ai-worker v1.4.0 -> v1.5.0-rc.1"
    (call,) = [json.loads(line) for line in gh.read_text().splitlines()]
    assert call[:6] == ["pr", "create", "--base", "main", "--head", branch]
    assert call[call.index("--title") + 1] == "deploy(production): ai-worker v1.4.0 -> v1.5.0-rc.1"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--env", "staging", "--component", "backend", "--tag", "latest"), "'latest' is not a pinned tag"),
        (("--env", "staging", "--component", "backend", "--tag", "v1 beta"), "workloads.backend.image.tag"),
        (("--env", "qa", "--component", "backend", "--tag", "v1.5.0"), "unknown environment 'qa'"),
    ],
    ids=["latest", "invalid", "unknown-env"],
)
def test_bad_input_is_refused_and_nothing_changes(checkout: Path, gh: Path, argv: tuple[str, ...], message: str) -> None:
    result = ops(checkout, *argv, "--execute")
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert git(checkout, "status", "--porcelain") == "" and git(checkout, "branch", "--list").split() == ["*", "main"]
    assert not gh.exists()


def test_the_same_tag_is_nothing_to_do(checkout: Path) -> None:
    result = ops(checkout, "--env", "staging", "--component", "frontend", "--tag", "v1.4.0", "--execute")
    assert result.returncode == 0
    assert result.stdout == "staging already deploys frontend at v1.4.0; nothing to do\n"


def test_a_missing_gh_is_reported_before_anything_changes(checkout: Path, tmp_path: Path) -> None:
    env = {**os.environ, **GIT_ENV, "PATH": str(Path(shutil.which("git") or "/usr/bin/git").parent)}
    result = subprocess.run(
        [sys.executable, "-m", "ops", "deploy", "set-image", "--repo", str(checkout), "--env", "staging", "--component", "backend",
         "--tag", "v1.5.0", "--execute"],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 3
    assert "`gh` is not installed; use --no-pr or install it; nothing was changed" in result.stderr
    assert git(checkout, "branch", "--list").split() == ["*", "main"]


COMMENTED = """# header comment
name: x
workloads:
  backend:
    image:
      repository: ghcr.io/ai-subsidy/backend  # pinned registry
      tag: '1.10'   # quoted: a bare 1.10 would be a number
  frontend:
    image: {}
ci: {branch: main}
"""


@pytest.mark.parametrize(
    ("path", "expected_line"),
    [
        (["workloads", "backend", "image", "tag"], '      tag: "1.11"   # quoted: a bare 1.10 would be a number'),
        (["workloads", "frontend", "image", "tag"], '    image: {tag: "1.11"}'),
        (["workloads", "ai_worker", "image", "tag"], '      tag: "1.11"'),
    ],
    ids=["replace-keeps-comment", "into-flow-mapping", "new-block"],
)
def test_the_edit_changes_one_value_and_keeps_comments(path: list[str], expected_line: str) -> None:
    edited = set_scalar(COMMENTED, path, "1.11")
    assert expected_line in edited.splitlines()

    def comments(text: str) -> list[str]:
        return [line.split("#", 1)[1] for line in text.splitlines() if "#" in line]

    assert comments(edited) == comments(COMMENTED)


def test_the_edit_refuses_a_value_that_needs_escaping() -> None:
    with pytest.raises(EditError):
        set_scalar(COMMENTED, ["workloads", "backend", "image", "tag"], 'v1"; rm -rf')
