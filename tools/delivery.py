"""Delivery commands the GitHub workflows run through `make`: deploy order, plan, apply, GitOps publish.

Every list here is derived, never typed twice: environments from `environments/`, roles and
branches from `envspec.naming`, the stacks of an environment and their order from the synthesized
`cdktf.out/manifest.json` (its `dependencies`, ties broken by `naming.LAYERS`). Stacks whose state
is local (the bootstrap `state` stack) and the `ci` stack (the CI roles and the permissions boundary,
which the deploy role is denied changing) are applied by an administrator, never by CI; CI plans
the `ci` stack so a pull request shows its changes.

Usage:
  python -m tools.delivery matrix                     # GitHub Actions outputs: environments to plan/deploy
  python -m tools.delivery order --env staging        # stacks CI applies, in order
  python -m tools.delivery plan --env staging [--out .plans]
  python -m tools.delivery apply --env staging [--after-sync]   # --after-sync: the failover records, once both sides synced
  python -m tools.delivery publish --env staging [--remote origin] [--source-sha SHA]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envspec import EnvironmentSpec, SpecError, load_environments, names_for
from envspec.naming import DR_LAYERS, LAYERS
from tools.plan_digest import digest_plan
from tools.terraform_cli import terraform_environment

ROOT = Path(__file__).resolve().parent.parent
# Layers an administrator applies: the deploy role may not change what they hold (stacks/ci.py).
ADMINISTERED_LAYERS = ("ci",)
# Every stack of an environment in dependency order: the primary's, then the standby's.
ORDER = LAYERS + DR_LAYERS
# Applied once both sides' Ingresses have synced: Route 53 refuses an alias to a record that does not exist yet,
# and ExternalDNS writes the origins' records only after Argo CD has synced the manifests this run publishes
# (docs/disaster-recovery.md, "Standing up the standby"). CI plans it; `apply --after-sync` applies it.
AFTER_SYNC_LAYERS = ("dr-dns",)
TERRAFORM_DIR = ROOT / "cdktf.out"
KUBERNETES_DIR = ROOT / "dist"
PUBLISHER = {"name": "github-actions[bot]", "email": "41898282+github-actions[bot]@users.noreply.github.com"}


class DeliveryError(Exception):
    """A problem a person must fix; the message says what."""


# --- Environments -----------------------------------------------------------------------------
def role_arn(spec: EnvironmentSpec, role_name: str) -> str:
    return f"arn:aws:iam::{spec.aws.account_id}:role/{role_name}"


def matrix_entry(spec: EnvironmentSpec) -> dict[str, Any]:
    names = names_for(spec)
    return {
        "environment": spec.name,
        "github_environment": spec.ci.github_environment,
        "aws_region": spec.aws.region,
        "deploy_role": role_arn(spec, names.deploy_role),
        "plan_role": role_arn(spec, names.plan_role),
        "plan_environment": spec.ci.plan_environment or "",
        "gitops_branch": names.gitops_branch,
    }


def matrix_outputs(specs: dict[str, EnvironmentSpec]) -> dict[str, str]:
    """`key=value` outputs for GitHub Actions: every environment, and split by the production gate."""
    entries = [matrix_entry(spec) for spec in specs.values()]
    production = [entry for entry, spec in zip(entries, specs.values(), strict=True) if spec.is_production]
    others = [entry for entry, spec in zip(entries, specs.values(), strict=True) if not spec.is_production]

    def include(items: list[dict[str, Any]]) -> str:
        return json.dumps({"include": items}, separators=(",", ":"), sort_keys=True)

    # Plans of environments with a plan environment run only in that (reviewer-gated) GitHub
    # environment, whose OIDC subject alone the plan role trusts; the others run on every push.
    reviewed = [entry for entry in entries if entry["plan_environment"]]
    automatic = [entry for entry in entries if not entry["plan_environment"]]
    return {
        "all": include(entries),
        "nonproduction": include(others),
        "production": include(production),
        "has_production": json.dumps(bool(production)),
        "automatic_plans": include(automatic),
        "reviewed_plans": include(reviewed),
        "has_automatic_plans": json.dumps(bool(automatic)),
        "has_reviewed_plans": json.dumps(bool(reviewed)),
    }


# --- Deploy order -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Stack:
    id: str
    layer: str
    directory: Path
    dependencies: tuple[str, ...]
    local_state: bool  # bootstrap stack: applied by an administrator, not by CI

    @property
    def administered(self) -> bool:
        """Applied by an administrator only: the bootstrap stack and the CI identities' stack."""
        return self.local_state or self.layer in ADMINISTERED_LAYERS


def _layer_of(stack_id: str, env: str) -> str:
    layer = stack_id.removeprefix(f"{env}-")
    if layer not in ORDER:
        raise DeliveryError(f"stack {stack_id} is not <env>-<layer> for a layer in envspec.naming.LAYERS or DR_LAYERS")
    return layer


def environment_stacks(terraform_dir: Path, env: str) -> list[Stack]:
    """Stacks of one environment in dependency order (manifest `dependencies`, then LAYERS order)."""
    manifest_file = terraform_dir / "manifest.json"
    if not manifest_file.is_file():
        raise DeliveryError(f"{manifest_file} not found: run `make synth ENV={env}` first")
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))["stacks"]
    stacks = {}
    for stack_id, entry in manifest.items():
        if not stack_id.startswith(f"{env}-"):
            continue
        directory = terraform_dir / entry["workingDirectory"]
        document = json.loads((terraform_dir / entry["synthesizedStackPath"]).read_text(encoding="utf-8"))
        local = "local" in document.get("terraform", {}).get("backend", {})
        stacks[stack_id] = Stack(stack_id, _layer_of(stack_id, env), directory, tuple(entry.get("dependencies", ())), local)
    if not stacks:
        raise DeliveryError(f"no stacks of environment {env!r} in {manifest_file}")
    return _topological(stacks)


def _topological(stacks: dict[str, Stack]) -> list[Stack]:
    ordered: list[Stack] = []
    done: set[str] = set()
    pending = sorted(stacks.values(), key=lambda stack: ORDER.index(stack.layer))
    while pending:
        ready = next((stack for stack in pending if all(dep in done or dep not in stacks for dep in stack.dependencies)), None)
        if ready is None:
            raise DeliveryError("stack dependencies form a cycle: " + ", ".join(stack.id for stack in pending))
        ordered.append(ready)
        done.add(ready.id)
        pending.remove(ready)
    return ordered


def _ordered(terraform_dir: Path, env: str) -> list[Stack]:
    stacks = environment_stacks(terraform_dir, env)
    layers = [stack.layer for stack in stacks]
    if layers != sorted(layers, key=ORDER.index):
        raise DeliveryError(f"stack dependencies {layers} contradict envspec.naming.LAYERS + DR_LAYERS {list(ORDER)}")
    return stacks


def deploy_order(terraform_dir: Path, env: str, *, after_sync: bool = False) -> list[Stack]:
    """The stacks CI applies, in order; refuses an order that contradicts LAYERS. `after_sync`: only the stacks
    applied once the published manifests have synced (AFTER_SYNC_LAYERS)."""
    stacks = [stack for stack in _ordered(terraform_dir, env) if not stack.administered]
    return [stack for stack in stacks if (stack.layer in AFTER_SYNC_LAYERS) == after_sync]


def plan_order(terraform_dir: Path, env: str) -> list[Stack]:
    """The stacks CI plans: every stack with remote state, the administered `ci` stack included."""
    return [stack for stack in _ordered(terraform_dir, env) if not stack.local_state]


# --- Terraform --------------------------------------------------------------------------------
def _terraform(stack: Stack, *args: str, capture: bool = False) -> subprocess.CompletedProcess:
    command = ["terraform", f"-chdir={stack.directory}", *args]
    print(f"$ {' '.join(command)}", flush=True)
    result = subprocess.run(command, env=terraform_environment(), capture_output=capture, text=True, check=False)
    if result.returncode != 0:
        detail = f"\n{result.stderr.strip()}" if capture and result.stderr else ""
        raise DeliveryError(f"terraform {args[0]} failed for {stack.id} (exit {result.returncode}){detail}")
    return result


def plan(terraform_dir: Path, env: str, out_dir: Path) -> list[Path]:
    """Read-only plan of every CI stack; writes `<stack>.changes.json` digests (addresses and
    actions only, never values) next to the raw plan files, which stay on the machine."""
    out_dir.mkdir(parents=True, exist_ok=True)
    digests = []
    for stack in plan_order(terraform_dir, env):
        plan_file = (out_dir / f"{stack.id}.tfplan").resolve()
        _terraform(stack, "init", "-input=false", "-no-color")
        # -lock=false: the plan role may read the state but not write the lock file.
        _terraform(stack, "plan", "-input=false", "-no-color", "-lock=false", f"-out={plan_file}")
        shown = _terraform(stack, "show", "-json", "-no-color", str(plan_file), capture=True)
        digest = out_dir / f"{stack.id}.changes.json"
        digest.write_text(json.dumps(digest_plan(json.loads(shown.stdout)), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        digests.append(digest)
    return digests


def apply(terraform_dir: Path, env: str, out_dir: Path, *, after_sync: bool = False) -> None:
    """Plan and apply each stack in order, applying exactly the plan that was printed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for stack in deploy_order(terraform_dir, env, after_sync=after_sync):
        plan_file = (out_dir / f"{stack.id}.tfplan").resolve()
        _terraform(stack, "init", "-input=false", "-no-color")
        _terraform(stack, "plan", "-input=false", "-no-color", f"-out={plan_file}")
        _terraform(stack, "apply", "-input=false", "-no-color", str(plan_file))


# --- GitOps publish ---------------------------------------------------------------------------
def _git(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT, check: bool = True) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise DeliveryError(f"git {args[0]} failed: {result.stderr.strip()}")
    return result.stdout.strip() if result.returncode == 0 else ""


# The deploy workflow's checkout keeps no credentials (`persist-credentials: false`); only the step
# that pushes gets a token, in this variable, and git receives it the way actions/checkout would
# configure it (an `http.<url>.extraheader`), but through git's GIT_CONFIG_* environment: never in
# `.git/config`, never on a command line.
PUSH_TOKEN_VARIABLE = "GITOPS_PUSH_TOKEN"


def remote_auth(remote: str, cwd: Path = ROOT) -> dict[str, str]:
    """git configuration, as environment variables, that sends $GITOPS_PUSH_TOKEN to `remote` only."""
    token = os.environ.get(PUSH_TOKEN_VARIABLE)
    if not token:
        return {}
    url = _git("remote", "get-url", remote, cwd=cwd)
    if not url.startswith("https://"):
        raise DeliveryError(f"{PUSH_TOKEN_VARIABLE} is set but remote {remote!r} is not an https URL; refusing to send the token")
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"http.{url}.extraheader", "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}"}


def publish(kubernetes_dir: Path, spec: EnvironmentSpec, remote: str, source_sha: str, cwd: Path = ROOT) -> str | None:
    """Commit the rendered `dist/<env>/` onto the environment's GitOps branch and push it.

    The branch holds nothing but `dist/<env>/`; each commit names the source commit it was rendered
    from. Publishing unchanged manifests creates no commit. Returns the new commit, or None.
    """
    names = names_for(spec)
    folder = kubernetes_dir / spec.name
    files = sorted(folder.glob("*.k8s.yaml"))
    if not files:
        raise DeliveryError(f"nothing rendered in {folder}: run `make synth ENV={spec.name}` first")
    # The standby cluster's folder goes onto the same branch (the primary's Argo CD syncs both).
    standby = names.standby if spec.dr.has_standby else None
    standby_files = sorted((kubernetes_dir / f"{spec.name}-dr").glob("*.k8s.yaml")) if standby else []
    if standby and not standby_files:
        raise DeliveryError(f"nothing rendered in {kubernetes_dir / f'{spec.name}-dr'}: run `make synth ENV={spec.name}` first")
    branch = names.gitops_branch
    auth = remote_auth(remote, cwd=cwd)
    _git("fetch", "--quiet", remote, f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}", env=auth, cwd=cwd, check=False)
    parent = _git("rev-parse", "--verify", "--quiet", f"refs/remotes/{remote}/{branch}^{{commit}}", cwd=cwd, check=False)
    with tempfile.TemporaryDirectory() as scratch:
        index = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        placed = [(path, names.manifests_path) for path in files]
        placed += [(path, standby.manifests_path) for path in standby_files] if standby else []
        for path, folder_path in placed:
            blob = _git("hash-object", "-w", str(path), cwd=cwd)
            _git("update-index", "--add", "--cacheinfo", f"100644,{blob},{folder_path}/{path.name}", env=index, cwd=cwd)
        tree = _git("write-tree", env=index, cwd=cwd)
    if parent and _git("rev-parse", f"{parent}^{{tree}}", cwd=cwd) == tree:
        print(f"{branch}: already at the manifests rendered from {source_sha}")
        return None
    identity = {
        "GIT_AUTHOR_NAME": PUBLISHER["name"],
        "GIT_AUTHOR_EMAIL": PUBLISHER["email"],
        "GIT_COMMITTER_NAME": PUBLISHER["name"],
        "GIT_COMMITTER_EMAIL": PUBLISHER["email"],
    }
    message = f"Render {spec.name} from {source_sha}\n\nSource: {spec.ci.github_repository}@{source_sha}\n"
    commit = _git("commit-tree", tree, *(["-p", parent] if parent else []), "-m", message, env=identity, cwd=cwd)
    # Not forced: the deploy workflow is the only writer, one run per environment at a time.
    _git("push", "--quiet", remote, f"{commit}:refs/heads/{branch}", env=auth, cwd=cwd)
    print(f"{branch}: {commit} (rendered from {source_sha})")
    return commit


# --- CLI --------------------------------------------------------------------------------------
def _single(specs: dict[str, EnvironmentSpec], env: str) -> EnvironmentSpec:
    return specs[env]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.delivery", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("matrix", help="print GitHub Actions outputs describing the environments")
    for name in ("order", "plan", "apply", "publish"):
        command = commands.add_parser(name)
        command.add_argument("--env", required=True)
        command.add_argument("--terraform-dir", type=Path, default=TERRAFORM_DIR)
        command.add_argument("--kubernetes-dir", type=Path, default=KUBERNETES_DIR)
        command.add_argument("--out", type=Path, default=ROOT / ".plans")
        command.add_argument("--remote", default="origin")
        command.add_argument("--source-sha", default=os.environ.get("GITHUB_SHA", ""))
        command.add_argument("--after-sync", action="store_true", help="order/apply: only the stacks applied after the sync")
    args = parser.parse_args(argv)
    try:
        specs = load_environments(only=[args.env] if args.command != "matrix" else None)
        if args.command == "matrix":
            for key, value in matrix_outputs(specs).items():
                print(f"{key}={value}")
        elif args.command == "order":
            for stack in deploy_order(args.terraform_dir, args.env, after_sync=args.after_sync):
                print(stack.id)
        elif args.command == "plan":
            _print_paths(plan(args.terraform_dir, args.env, args.out / args.env))
        elif args.command == "apply":
            apply(args.terraform_dir, args.env, args.out / args.env, after_sync=args.after_sync)
        else:
            source = args.source_sha or _git("rev-parse", "HEAD")
            publish(args.kubernetes_dir, _single(specs, args.env), args.remote, source)
    except SpecError as error:
        print(f"error: invalid environment spec\n{error}", file=sys.stderr)
        return 2
    except DeliveryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _print_paths(paths: Iterable[Path]) -> None:
    for path in paths:
        print(path)


if __name__ == "__main__":
    sys.exit(main())
