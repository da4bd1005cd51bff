"""`python -m tools.docs [--check] [--terraform-dir cdktf.out]`: write the generated reference parts,
or (`--check`) print what is out of date and exit 1, as terraform-docs' `--output-check` does.

Exit codes (docs/conventions.md): 0 up to date or written, 1 out of date (with --check), 2 bad input
(a page without its markers, no synthesized output)."""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from envspec.exit_codes import BAD_INPUT, FAILED, OK
from synth.runtime import configure_jsii_runtime
from tools.docs import markers, runbooks, spec, stacks
from tools.errors import ToolError, report

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Part:
    page: str  # relative to the repository root
    name: str
    render: Callable[[Path], str]


PARTS = (
    Part("environments/README.md", "spec-reference", lambda _: spec.reference()),
    Part("docs/stacks.md", "stack-reference", stacks.reference),
    Part("docs/runbooks/README.md", "application-alerts", lambda _: runbooks.application_alerts()),
    Part("docs/runbooks/README.md", "node-autoscaling-alerts", lambda _: runbooks.node_autoscaling_alerts()),
)


def rendered(root: Path, terraform_dir: Path) -> dict[str, tuple[str, str]]:
    """Page -> (its text now, its text with every generated part renewed)."""
    pages: dict[str, tuple[str, str]] = {}
    for part in PARTS:
        current = (root / part.page).read_text(encoding="utf-8")
        before, after = pages.get(part.page, (current, current))
        pages[part.page] = (before, markers.inject(after, part.name, part.render(terraform_dir)))
    return pages


def stale(root: Path, terraform_dir: Path) -> list[str]:
    """A unified diff per page whose generated parts are out of date."""
    return [
        "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True), f"{page} (committed)", f"{page} (generated)"))
        for page, (before, after) in rendered(root, terraform_dir).items()
        if before != after
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.docs", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a generated part is out of date")
    parser.add_argument("--terraform-dir", type=Path, default=ROOT / "cdktf.out", help="synthesized Terraform (default: cdktf.out)")
    args = parser.parse_args(argv)
    configure_jsii_runtime()  # the runbook index reads the alert definitions, which load cdk8s
    if not (args.terraform_dir / "stacks").is_dir():
        print(f"error: {args.terraform_dir}/stacks does not exist; run `make synth` first", file=sys.stderr)
        return BAD_INPUT
    try:
        if args.check:
            diffs = stale(ROOT, args.terraform_dir)
            for diff in diffs:
                print(diff)
            if diffs:
                print("error: generated documentation is out of date; run `make docs`", file=sys.stderr)
            return FAILED if diffs else OK
        for page, (before, after) in rendered(ROOT, args.terraform_dir).items():
            if before != after:
                (ROOT / page).write_text(after, encoding="utf-8")
                print(f"updated {page}")
    except ToolError as error:
        return report(error, error.exit_code)
    return OK


if __name__ == "__main__":
    sys.exit(main())
