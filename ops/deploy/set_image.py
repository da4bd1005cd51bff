"""`ops deploy set-image`: bump one component's image tag in `environments/<env>.yaml` by pull request.

This is the GitOps path (the application repositories' release workflows call it): the cluster is
never changed directly; the spec changes, CI synthesizes `dist/<env>/` and Argo CD syncs it.

Stable interface (used by the reusable release workflow):
  python -m ops deploy set-image --env <env> --component backend|frontend|ai-worker --tag <tag>
      [--repo <checkout>] [--base main] [--remote origin] [--execute] [--no-pr]
  Dry run (default): prints the diff and the exact git/gh commands; changes nothing.
  --execute: creates branch `deploy/<env>/<deployment>-<tag>`, commits only that file, pushes and
  runs `gh pr create`; the last line printed is the pull request URL.
  Exit 0 also when the tag is already set (nothing to do), 2 for bad input, 3 when git/gh are missing.
"""

from __future__ import annotations

import difflib
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from envspec import SpecError, load_environments
from envspec.topology import AI_WORKER, BACKEND, FRONTEND, Component, workload
from ops.console import say, step
from ops.context import load_spec
from ops.deploy.yamledit import EditError, set_scalar
from ops.errors import EnvironmentProblem, InputError, OpsError

COMPONENTS = {"backend": BACKEND, "frontend": FRONTEND, "ai-worker": AI_WORKER}


@dataclass(frozen=True)
class ImageChange:
    env: str
    component: Component
    old_tag: str
    new_tag: str
    file: Path  # relative to the repository
    original: str
    edited: str
    repository: str

    @property
    def branch(self) -> str:
        return f"deploy/{self.env}/{self.component.name}-{self.new_tag}"

    @property
    def title(self) -> str:
        return f"deploy({self.env}): {self.component.name} {self.old_tag} -> {self.new_tag}"

    @property
    def body(self) -> str:
        return (
            f"Sets the `{self.component.name}` image of `{self.env}` to `{self.repository}:{self.new_tag}` "
            f"(was `{self.old_tag}`).\n\nOnly `workloads.{self.component.key}.image.tag` in `{self.file}` changes; "
            "CI synthesizes the manifests and Argo CD applies them after merge.\n\n"
            "Opened by `python -m ops deploy set-image`."
        )

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.original.splitlines(keepends=True), self.edited.splitlines(keepends=True), f"a/{self.file}", f"b/{self.file}"
            )
        )

    def commands(self, base: str, remote: str, open_pr: bool) -> list[list[str]]:
        commands = [
            ["git", "switch", "--create", self.branch],
            ["git", "add", "--", str(self.file)],
            ["git", "commit", "--message", self.title, "--", str(self.file)],
            ["git", "push", "--set-upstream", remote, self.branch],
        ]
        if open_pr:
            commands.append(["gh", "pr", "create", "--base", base, "--head", self.branch, "--title", self.title, "--body", self.body])
        return commands


def plan_image_change(repo: Path, env: str, component_name: str, tag: str) -> ImageChange | None:
    """The validated edit, or None when the spec already names that tag."""
    component = COMPONENTS[component_name]
    directory = repo / "environments"
    spec = load_spec(env, directory)
    current = workload(spec, component).image
    if current.tag == tag:
        return None
    relative = Path("environments") / f"{env}.yaml"
    original = (repo / relative).read_text(encoding="utf-8")
    try:
        edited = set_scalar(original, ["workloads", component.key, "image", "tag"], tag)
    except EditError as error:
        raise InputError(f"{relative}: {error}") from None
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "environments"
        shutil.copytree(directory, copy)
        (copy / f"{env}.yaml").write_text(edited, encoding="utf-8")
        try:
            load_environments(copy, only=[env])
        except SpecError as error:
            problems = "; ".join(str(problem).replace(str(copy), "environments") for problem in error.problems)
            raise InputError(f"the new tag is refused by the spec: {problems}; nothing was changed") from None
    return ImageChange(env, component, current.tag, tag, relative, original, edited, current.repository)


def _run(command: list[str], repo: Path) -> str:
    result = subprocess.run(command, cwd=repo, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise OpsError(f"`{shlex.join(command[:4])} ...` failed: {detail[-1] if detail else f'exit {result.returncode}'}")
    return result.stdout.strip()


def _preflight(change: ImageChange, repo: Path, open_pr: bool) -> None:
    for tool in ("git", *(["gh"] if open_pr else [])):
        if shutil.which(tool) is None:
            raise EnvironmentProblem(f"`{tool}` is not installed; use --no-pr or install it; nothing was changed")
    top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=repo, capture_output=True, text=True, check=False)
    if top.returncode != 0 or Path(top.stdout.strip()).resolve() != repo.resolve():
        raise EnvironmentProblem(f"{repo} is not the root of a git checkout; nothing was changed")
    if _run(["git", "status", "--porcelain", "--", str(change.file)], repo):
        raise InputError(f"{change.file} has uncommitted changes; commit or stash them first; nothing was changed")
    exists = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{change.branch}"], cwd=repo, capture_output=True, check=False
    )
    if exists.returncode == 0:
        raise InputError(f"branch {change.branch} already exists; nothing was changed")


def apply_image_change(change: ImageChange, repo: Path, base: str, remote: str, open_pr: bool) -> str:
    """Branch, commit, push and open the pull request; returns its URL (or the branch with --no-pr)."""
    _preflight(change, repo, open_pr)
    create, *rest = change.commands(base, remote, open_pr)
    step(shlex.join(create))
    _run(create, repo)
    (repo / change.file).write_text(change.edited, encoding="utf-8")
    output = ""
    for command in rest:
        step(shlex.join(command[:6]) + (" ..." if len(command) > 6 else ""))
        output = _run(command, repo)
    if open_pr:
        url = output.splitlines()[-1] if output else ""
        say(url)
        return url
    say(f"pushed {change.branch}; open the pull request with: gh pr create --base {base} --head {change.branch}")
    return change.branch


def print_dry_run(change: ImageChange, base: str, remote: str, open_pr: bool) -> None:
    say(change.diff().rstrip())
    say("")
    say("dry run: nothing was changed. With --execute these run (and the file is edited after the first):")
    for command in change.commands(base, remote, open_pr):
        say(f"  {shlex.join(command)}")
