"""Every documented way to synthesize, run for real in a scratch copy of the project.

`make synth`, `python -m synth`, `npx cdktf synth`, `npx cdk8s synth` and their `npm run` forms:
a bad environment file leaves the previous `cdktf.out/` and `dist/` exactly as they were (the
cdk8s CLI empties its `output` folder before it starts the app: cdk8s-cli 2.207.60,
lib/cli/cmds/synth.js, `fs.rmSync(outdir, { recursive: true })`), a successful offline run prints
nothing that reads like an error, and the output folders get the permissions of the user's umask.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from synth.output import StagedOutput
from tests.conftest import ROOT, require_binary

# Linked into the scratch project (read-only there); envspec is copied because it finds the
# environments folder next to itself.
LINKED = ("charts", "stacks", "imports", "tools", "crds", "node_modules", ".venv")
COPIED = ("envspec", "synth", "cdk8s.yaml", "cdktf.json", "package.json", "Makefile")
ERROR_LOOKING = re.compile(r"error|exception|traceback|undefined|new version|^\s+at .+:\d+:\d+\)?$", re.IGNORECASE | re.MULTILINE)
ENV_FILE = "development.yaml"


def _tree(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The project with one environment and previous output in cdktf.out/ and dist/."""
    root = tmp_path / "project"
    root.mkdir()
    for name in LINKED:
        if (ROOT / name).exists():
            (root / name).symlink_to(ROOT / name)
    for name in COPIED:
        source = ROOT / name
        shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__")) if source.is_dir() else shutil.copy(
            source, root / name
        )
    (root / "environments").mkdir()
    shutil.copy(ROOT / "environments" / ENV_FILE, root / "environments" / ENV_FILE)
    for folder, name in (("cdktf.out/stacks/development-network", "cdk.tf.json"), ("dist/development", "workloads.k8s.yaml")):
        (root / folder).mkdir(parents=True)
        (root / folder / name).write_text("previous output\n")
    (root / "cdktf.out" / "manifest.json").write_text('{"version": "previous", "stacks": {}}\n')
    return root


def _environment(root: Path) -> dict[str, str]:
    """The user's environment, minus anything pointing the CLIs at this machine's own settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CDK8S_", "CDKTF_", "CHECKPOINT", "DISABLE_VERSION"))}
    config = subprocess.run([str(ROOT / ".venv/bin/python"), "-m", "tools.terraform_cli", "path"], cwd=ROOT, capture_output=True, text=True)
    if config.returncode == 0 and config.stdout.strip():
        env["TF_CLI_CONFIG_FILE"] = config.stdout.strip()  # the offline provider mirror, as `make diff` uses
    else:
        env.pop("TF_CLI_CONFIG_FILE", None)
    env["HOME"] = str(root.parent / "home")  # no version cache of an earlier run
    env["CI"] = "true"  # no spinner: plain lines
    return env


def _run(root: Path, command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=root, env=_environment(root), capture_output=True, text=True, timeout=900)


BAD_INPUT_COMMANDS = {
    "make synth": "make -o install synth",  # `install` would run pip and npm: the venv exists already
    "python -m synth": ".venv/bin/python -O -m synth",
    "npx cdktf synth": "npx --no-install cdktf synth",
    "npx cdk8s synth": "npx --no-install cdk8s synth",
    "npm run synth": "npm run --silent synth",
    "npm run cdk8s -- synth": "npm run --silent cdk8s -- synth",
}


@pytest.mark.parametrize("entry_point", BAD_INPUT_COMMANDS)
def test_a_bad_environment_file_leaves_the_previous_output_of_every_entry_point(entry_point: str, project: Path) -> None:
    require_binary("npx", "install Node.js")
    environment_file = project / "environments" / ENV_FILE
    environment_file.write_text(environment_file.read_text() + "bogus_key: 1\n")
    line = len(environment_file.read_text().splitlines())
    before = _tree(project / "cdktf.out"), _tree(project / "dist")
    result = _run(project, BAD_INPUT_COMMANDS[entry_point])
    assert result.returncode != 0, result.stdout + result.stderr
    assert f"environments/{ENV_FILE}:{line}: bogus_key: unknown field" in result.stderr
    assert (_tree(project / "cdktf.out"), _tree(project / "dist")) == before
    assert not [path for path in project.iterdir() if path.name.startswith(".synth-tmp-")]
    if "cdk8s" in entry_point:
        # An app that exits non-zero makes the cdk8s CLI print a Node stack trace of its own.
        assert "non-zero exit code" not in result.stderr, "the cdk8s CLI reports the failure in one line"
    if entry_point.startswith("npm run"):
        assert "    at " not in result.stderr, result.stderr


QUIET_COMMANDS = {
    "npm run cdk8s -- synth": ("npm run --silent cdk8s -- synth", "dist/development/workloads.k8s.yaml"),
    # `cdktf list` synthesizes the same way and sends the same telemetry: one cdktf run suffices (~60 s).
    "npm run cdktf -- synth": ("npm run --silent cdktf -- synth", "cdktf.out/stacks/development-network/cdk.tf.json"),
}


@pytest.mark.parametrize("entry_point", QUIET_COMMANDS)
def test_a_successful_offline_run_prints_no_error_looking_line(entry_point: str, project: Path) -> None:
    """Offline, the cdk8s CLI's update check prints a Node stack trace ("Redirected request failed:
    404") and "A new version undefined of cdk8s-cli is available" (lib/upgrades.js), and cdktf's
    telemetry an `[ERROR] ... checkpoint-api.hashicorp.com` line (@cdktf/commons checkpoint.ts).
    The project's scripts switch both off (CDK8S_CHECK_UPGRADE, CHECKPOINT_DISABLE,
    DISABLE_VERSION_CHECK: environment variables, the only switches the two CLIs read)."""
    require_binary("npx", "install Node.js")
    command, produced = QUIET_COMMANDS[entry_point]
    result = _run(project, command)
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert not ERROR_LOOKING.findall(output), output
    assert (project / produced).is_file() and "previous output" not in (project / produced).read_text()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_output_folders_get_the_permissions_of_the_umask(umask: int, project: Path) -> None:
    """mkdtemp creates its folder 0700 whatever the umask; the committed output is that folder."""
    shutil.rmtree(project / "dist")
    result = _run(project, f"umask {umask:03o} && .venv/bin/python -O -m synth --target kubernetes --quiet")
    assert result.returncode == 0, result.stderr
    for folder in (project / "dist", project / "dist" / "development"):
        assert _mode(folder) == 0o777 & ~umask, f"{folder}: {_mode(folder):o}"


def test_staged_output_folders_follow_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        with StagedOutput(tmp_path / "out") as staged:
            (staged.staging / "file").write_text("x")
            staged.commit()
    finally:
        os.umask(previous)
    assert _mode(tmp_path / "out") == 0o755


@pytest.mark.parametrize("listing", ["", ".", "..", "dist", "dist/development", "cdktf.out"])
def test_the_cdk8s_cli_folder_is_never_the_project_or_its_output(listing: str, project: Path) -> None:
    """That folder is emptied when synthesis fails (and by the CLI before every run): a typo in
    cdk8s.yaml must not turn it into the working folder or the real output."""
    before = _tree(project / "cdktf.out"), _tree(project / "dist")
    result = _run(project, f".venv/bin/python -O -m synth --target kubernetes --quiet --cdk8s-cli-outdir '{listing}'")
    assert result.returncode == 2
    assert "it must be a scratch folder of its own" in result.stderr
    assert (_tree(project / "cdktf.out"), _tree(project / "dist")) == before
