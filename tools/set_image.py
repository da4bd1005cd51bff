"""Set a component's image tag in `environments/<env>.yaml` for the application release pipeline.

The application repositories' reusable workflow (`.github/workflows/app-release.yml`) runs this
through `make set-image` in a checkout of this repository and opens the result as a pull request
(signed commit, pinned action): an image reaches an environment only through a reviewed change of
its spec (GitOps), never through `kubectl set image`.

The edit itself is the operations CLI's (`ops deploy set-image`, `plan_image_change`): one scalar
changed, comments and layout kept, the edited spec validated (a `latest` tag, for one, is
refused). This command adds what the pipeline needs around it: the component named as its image
is (`ghcr.io/ai-subsidy/<component>`: frontend, backend, ai-engine) or by its workloads key or
Deployment, several environments in one change, and nothing written unless every edit is valid.

Usage: python -m tools.set_image --env development [--env staging] --component backend --tag sha-3f9c2ab
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from envspec import SpecError, load_environments
from envspec.topology import COMPONENTS, Component
from ops.deploy.set_image import COMPONENTS as OPS_COMPONENTS
from ops.deploy.set_image import plan_image_change
from ops.errors import OpsError
from tools.errors import ToolError, bad_input, report

ROOT = Path(__file__).resolve().parent.parent
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def component_of(name: str, repo: Path, env: str) -> Component:
    """The component named by image (`ai-engine`), workloads key (`ai_worker`) or Deployment (`ai-worker`)."""
    spec = load_environments(repo / "environments", only=[env])[env]
    known: set[str] = set()
    for component in COMPONENTS:
        image = getattr(spec.workloads, component.key).image.repository.rsplit("/", 1)[-1]
        aliases = {component.key, component.name, image, *(ops for ops, item in OPS_COMPONENTS.items() if item == component)}
        if name in aliases:
            return component
        known |= aliases
    raise bad_input(f"unknown component {name!r} (known: {', '.join(sorted(known))})")


def set_image(repo: Path, envs: Sequence[str], component: str, tag: str) -> list[Path]:
    """Edit every named environment's spec; nothing is written unless all edits are valid."""
    if not TAG.fullmatch(tag):
        raise bad_input(f"{tag!r} is not a valid image tag")
    changes = []
    for env in envs:
        try:
            target = component_of(component, repo, env)
            ops_name = next(ops for ops, item in OPS_COMPONENTS.items() if item == target)
            change = plan_image_change(repo, env, ops_name, tag)
        except (OpsError, SpecError) as error:
            raise bad_input(str(error)) from None
        if change is not None:
            changes.append(change)
    for change in changes:
        (repo / change.file).write_text(change.edited, encoding="utf-8")
    return [repo / change.file for change in changes]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.set_image", description=__doc__.splitlines()[0])
    parser.add_argument("--env", action="append", required=True, dest="envs", help="environment to update (repeatable)")
    parser.add_argument("--component", required=True, help="frontend, backend, ai-engine (or a workloads key or Deployment)")
    parser.add_argument("--tag", required=True, help="image tag, e.g. sha-3f9c2ab")
    parser.add_argument("--repo", type=Path, default=ROOT, help="checkout holding environments/ (default: this one)")
    args = parser.parse_args(argv)
    try:
        changed = set_image(args.repo, args.envs, args.component, args.tag)
    except ToolError as error:
        return report(error, error.exit_code)
    for path in changed:
        print(f"{path.name}: {args.component} -> {args.tag}")
    if not changed:
        print(f"{args.component} already at {args.tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
