"""Set a component's image tag in `environments/<env>.yaml`, touching nothing else in the file.

The application repositories' release workflow runs this (through `make set-image`) in a checkout
of this repository and opens the result as a pull request: an image reaches an environment only
through a reviewed change of its spec (GitOps), never through `kubectl set image`.

The component is named as its image is (`ghcr.io/ai-subsidy/<component>`: frontend, backend,
ai-engine) or by its key under `workloads` (ai_worker). Comments and layout are kept; the edited
file must still load as a valid spec (a `latest` tag, for one, is refused).

Usage: python -m tools.set_image --env development [--env staging] --component backend --tag sha-3f9c2ab
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import yaml

from envspec import DEFAULT_DIRECTORY, SpecError, load_environments, load_file
from envspec.naming import COMPONENTS

TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class SetImageError(Exception):
    pass


def workload_key(component: str, directory: Path, env: str) -> str:
    """The `workloads` key of a component named by image (`ai-engine`) or key (`ai_worker`)."""
    spec = load_environments(directory, only=[env])[env]
    for item in COMPONENTS:
        repository = getattr(spec.workloads, item.key).image.repository
        if component in (item.key, repository.rsplit("/", 1)[-1], repository):
            return item.key
    known = sorted(
        {item.key for item in COMPONENTS} | {getattr(spec.workloads, item.key).image.repository.rsplit("/", 1)[-1] for item in COMPONENTS}
    )
    raise SetImageError(f"unknown component {component!r} (known: {', '.join(known)})")


def _tag_node(text: str, key: str) -> yaml.ScalarNode | None:
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    for part in ("workloads", key, "image", "tag"):
        if not isinstance(node, yaml.MappingNode):
            return None
        node = next((value for name, value in node.value if name.value == part), None)
    return node if isinstance(node, yaml.ScalarNode) else None


def set_tag(text: str, key: str, tag: str) -> str:
    """The file text with `workloads.<key>.image.tag` replaced, byte for byte elsewhere."""
    node = _tag_node(text, key)
    if node is None:
        raise SetImageError(f"workloads.{key}.image.tag is not set in the file; add it once by hand")
    lines = text.splitlines(keepends=True)
    start, end = node.start_mark, node.end_mark
    if start.line != end.line:
        raise SetImageError(f"workloads.{key}.image.tag spans several lines; write it on one line")
    line = lines[start.line]
    quote = '"' if node.style in ('"', None) else "'"
    lines[start.line] = f"{line[: start.column]}{quote}{tag}{quote}{line[end.column :]}"
    return "".join(lines)


def set_image(directory: Path, envs: Sequence[str], component: str, tag: str) -> list[Path]:
    """Edit every named environment's file; nothing is written unless all of them stay valid."""
    if not TAG.fullmatch(tag):
        raise SetImageError(f"{tag!r} is not a valid image tag")
    edits: dict[Path, str] = {}
    for env in envs:
        path = directory / f"{env}.yaml"
        key = workload_key(component, directory, env)
        edits[path] = set_tag(path.read_text(encoding="utf-8"), key, tag)
    with tempfile.TemporaryDirectory() as scratch:
        for path, text in edits.items():
            candidate = Path(scratch) / path.name
            candidate.write_text(text, encoding="utf-8")
            try:
                load_file(candidate)
            except SpecError as error:
                shown = str(path)
                raise SpecError([replace(problem, file=shown) for problem in error.problems]) from None
    changed = []
    for path, text in edits.items():
        if path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.set_image", description=__doc__.splitlines()[0])
    parser.add_argument("--env", action="append", required=True, dest="envs", help="environment to update (repeatable)")
    parser.add_argument("--component", required=True, help="frontend, backend, ai-engine (or a workloads key)")
    parser.add_argument("--tag", required=True, help="image tag, e.g. sha-3f9c2ab")
    parser.add_argument("--environments-dir", type=Path, default=DEFAULT_DIRECTORY)
    args = parser.parse_args(argv)
    try:
        changed = set_image(args.environments_dir, args.envs, args.component, args.tag)
    except SpecError as error:
        print(f"error: the change would make the spec invalid\n{error}", file=sys.stderr)
        return 2
    except SetImageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in changed:
        print(f"{path.name}: {args.component} -> {args.tag}")
    if not changed:
        print(f"{args.component} already at {args.tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
